"""Image-story latency: BLIP-base + a TinyStories-33M-shaped GPT-Neo, real sizes, random weights.

    python bench/story_latency.py [--repeats 3] [--threads 1,2] [--no-fp32]

No download: both models are built from configs at their real sizes (BLIP-base:
ViT-B/16 at 384 px + a BERT-base-size text decoder, vocab 30,524; GPT-Neo: 4 layers,
hidden 768, 16 heads, local window 256, vocab 50,257), saved once to
$TMPDIR/labs-story-bench by a child process (so building them does not count in this
process's peak memory), and loaded through ImageStoryGenerator's own from_pretrained
path. The matmul and memory costs are those of the real weights; only the words differ.

Random weights never end a caption early, so the default caption runs to its
20-token cap: an upper bound. Real BLIP captions stop after ~10-15 tokens, so the
caption is also timed with a 12-token cap, in wall and in CPU seconds (on a machine
shared with other work, 1-thread CPU seconds are the figure that holds still).

Targets on 2 CPU cores (TARGETS; every CPU column is checked against them and misses
are listed at the end): caption <= 3 s, first story token <= 1 s after the caption,
>= 20 tokens/s. CPU always: the app's defaults (caption bf16 when the CPU has native
bf16, story fp32) and all-fp32, at each --threads count; CUDA (bf16) when present.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
IMAGE = ROOT / "assets" / "examples" / "cat.jpg"
# Targets on 2 CPU cores, checked for every CPU configuration: (comparison, bound)
TARGETS = {"caption_s": ("<=", 3.0), "caption12_s": ("<=", 3.0), "first_token_s": ("<=", 1.0),
           "tokens_per_s": (">=", 20.0)}


def build(folder: Path) -> None:
    """Save random BLIP-base and TinyStories-33M-shaped models with offline-built tokenizers."""
    import torch
    from transformers import (BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor,
                              BlipProcessor, GPT2Tokenizer, GPTNeoConfig, GPTNeoForCausalLM)

    sys.path.insert(0, str(ROOT / "tests"))
    from story_fixtures import bytes_to_unicode

    torch.manual_seed(0)
    blip_cfg = BlipConfig(text_config=dict(num_attention_heads=12))  # defaults: ViT-B/16 @ 384, BERT-base decoder
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    bert_vocab = {t: i for i, t in enumerate(specials + [f"w{i}" for i in range(blip_cfg.text_config.vocab_size - 5)])}
    processor = BlipProcessor(BlipImageProcessor(size={"height": 384, "width": 384}), BertTokenizer(vocab=bert_vocab))
    BlipForConditionalGeneration(blip_cfg).save_pretrained(folder / "blip-base")
    processor.save_pretrained(folder / "blip-base")

    # GPT-2's 256 byte symbols, then filler tokens up to the full 50,257 (EOS last), so the
    # LM head and the sampling run over the real vocabulary.
    symbols = list(bytes_to_unicode().values()) + ["\u0120t"]
    symbols += [f"\u0120w{i}" for i in range(50256 - len(symbols))]
    vocab = {s: i for i, s in enumerate(symbols)}
    vocab["<|endoftext|>"] = 50256
    neo_cfg = GPTNeoConfig(vocab_size=50257, hidden_size=768, num_layers=4, num_heads=16, window_size=256,
                           attention_types=[[["global", "local"], 2]], max_position_embeddings=2048,
                           intermediate_size=None, bos_token_id=50256, eos_token_id=50256)
    GPTNeoForCausalLM(neo_cfg).save_pretrained(folder / "tinystories-33m-shape")
    GPT2Tokenizer(vocab=vocab, merges=[("\u0120", "t")]).save_pretrained(folder / "tinystories-33m-shape")


def measure(device: str, dtype: str | None, threads: int, folder: Path, repeats: int) -> dict:
    import torch

    from labs.story import ImageStoryGenerator

    torch.set_num_threads(threads)
    gen = ImageStoryGenerator(str(folder / "blip-base"), str(folder / "tinystories-33m-shape"),
                              device=device, dtype=dtype)
    load_s = gen.load()
    gen.generate_from_image(IMAGE, "short", seed=0)  # warm-up: first-call allocations, kernels
    rows = []
    for i in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        gen.caption(IMAGE, num_beams=3, max_caption_tokens=12)
        if device == "cuda":
            torch.cuda.synchronize()
        cap12, cap12_cpu = time.perf_counter() - t0, time.process_time() - c0
        r = gen.generate_from_image(IMAGE, "medium", seed=i)
        decode_s = r["story_seconds"] - r["first_token_seconds"]
        rows.append({"caption_s": r["caption_seconds"], "caption12_s": cap12, "caption12_cpu_s": cap12_cpu,
                     "first_token_s": r["first_token_seconds"], "tokens_per_s": (r["tokens"] - 1) / decode_s,
                     "story_s": r["story_seconds"], "tokens": r["tokens"]})
    out = {k: statistics.median(row[k] for row in rows) for k in rows[0]}
    out["load_s"] = load_s
    if device == "cuda":
        out["gpu_peak_GB"] = torch.cuda.max_memory_allocated() / 2**30
    return out


def _meets(value: float, op: str, bound: float) -> bool:
    return value <= bound if op == "<=" else value >= bound


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", default="1,2", help="comma-separated torch CPU thread counts (default: 1,2)")
    ap.add_argument("--no-fp32", action="store_true", help="skip the all-fp32 CPU comparison")
    ap.add_argument("--build-only", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build_only:
        build(args.build_only)
        return

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    folder = Path(tempfile.gettempdir()) / "labs-story-bench"
    if not (folder / "tinystories-33m-shape" / "model.safetensors").exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--build-only", str(folder)], check=True)
        print(f"built random-weight models in {folder} ({time.perf_counter() - t0:.0f} s)")

    import torch

    from labs.core.hardware import cpu_has_bf16

    threads = [int(t) for t in args.threads.split(",")]
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, native CPU bf16: {cpu_has_bf16()}, "
          f"load average {os.getloadavg()[0]:.1f} at the start (other work on the machine slows every figure)")
    # (label, device, dtype, threads); dtype None = the app's defaults
    configs = [(f"cpu default {t}t", "cpu", None, t) for t in threads]
    if not args.no_fp32:
        configs.append((f"cpu fp32 {threads[0]}t", "cpu", "float32", threads[0]))
    if torch.cuda.is_available():
        configs.append(("cuda bf16", "cuda", None, torch.get_num_threads()))

    results = {}
    for label, device, dtype, t in configs:
        results[label] = measure(device, dtype, t, folder, args.repeats)
        # ru_maxrss is a high-water mark: cumulative over the configs run so far.
        results[label]["peak_rss_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  {label}: done (load average {os.getloadavg()[0]:.1f})", flush=True)

    rows = [("load_s", "load s"), ("caption_s", "caption s (20-tok cap)"), ("caption12_s", "caption s (12 tok)"),
            ("caption12_cpu_s", "caption CPU-s (12 tok)"), ("first_token_s", "1st story token s"),
            ("tokens_per_s", "tokens/s"), ("story_s", "story s"), ("tokens", "story tokens"),
            ("peak_rss_MB", "peak RSS MB")]
    if torch.cuda.is_available():
        rows.append(("gpu_peak_GB", "GPU peak GB"))
    width = max(len(r[1]) for r in rows) + 2
    print(f"\nmedian of {args.repeats} runs; 'medium' story; 3 caption beams; 1 CPU thread = 1 core")
    print("".ljust(width) + "".join(label.rjust(17) for label in results) + "   target")
    missed = []
    for key, head in rows:
        cells = ""
        for label, res in results.items():
            value = res.get(key, float("nan"))
            miss = label.startswith("cpu") and key in TARGETS and not _meets(value, *TARGETS[key])
            if miss:
                missed.append(f"{label}: {head} {value:.2f}, target {' '.join(map(str, TARGETS[key]))}")
            cells += f"{value:16.2f}{'*' if miss else ' '}"
        print(head.ljust(width) + cells + (f"   {' '.join(map(str, TARGETS[key]))}" if key in TARGETS else ""))
    print("\nCPU targets: all met" if not missed else "\nCPU targets missed (* above):\n  " + "\n  ".join(missed))


if __name__ == "__main__":
    main()
