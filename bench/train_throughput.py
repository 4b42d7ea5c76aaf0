"""Training throughput: our engine vs the straightforward PyTorch pipeline, side by side in one run.

    python bench/train_throughput.py [--model resnet --depth 7,7] [--batch-size 128] [--steps 30]

Baseline ("straightforward"): a torchvision-style Dataset yielding PIL images,
per-image RandomCrop(32, padding=4) + RandomHorizontalFlip + ToTensor + Normalize,
a DataLoader (shuffle, 0 workers on the CPU, 8 on a GPU machine), fp32, NCHW.
Ours: labs.core.engine.fit: the whole data set as one uint8 tensor, batched
augmentation and normalisation, channels_last, bf16 autocast where the hardware
has it. Same model, batch size, optimiser and thread count; images/s is measured
after warm-up steps, and the two are interleaved (A, B, A, B) so that load from
other processes hits both alike. Prints figures and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from labs.core.catalog import is_available  # noqa: E402
from labs.core.hardware import cpu_has_bf16  # noqa: E402
from labs.core.data import Dataset, load_dataset  # noqa: E402
from labs.core.engine import TrainConfig, fit, seed_everything, set_threads  # noqa: E402
from labs.core.models import build_model  # noqa: E402


def cifar_like(n: int) -> Dataset:
    if is_available("cifar10"):
        return load_dataset("cifar10").subset(n, 256)
    g = torch.Generator().manual_seed(0)  # same shapes and dtype as CIFAR-10 when the real set is absent
    x = torch.randint(0, 256, (n, 32, 32, 3), dtype=torch.uint8, generator=g)
    return Dataset("random32", x, torch.randint(0, 10, (n,), generator=g), x[:256], torch.zeros(256, dtype=torch.long),
                   [str(i) for i in range(10)])


def baseline(model, data: Dataset, batch_size: int, steps: int, warmup: int, device) -> float:
    """Images/s of the textbook pipeline."""
    import torchvision.transforms as T
    from PIL import Image

    class NumpyImages(torch.utils.data.Dataset):
        def __init__(self, x, y, transform):
            self.x, self.y, self.transform = x, y, transform

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            return self.transform(Image.fromarray(self.x[i])), int(self.y[i])

    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize(data.mean, data.std)])
    ds = NumpyImages(data.x_train.numpy(), data.y_train.numpy(), tf)
    workers = 8 if device.type == "cuda" else 0
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=workers,
                                         pin_memory=device.type == "cuda", persistent_workers=workers > 0)
    model.to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    done, t0 = 0, None
    while True:
        for xb, yb in loader:
            if done == warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done += 1
            if done == warmup + steps:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                return steps * batch_size / (time.perf_counter() - t0)


def ours(model, data: Dataset, batch_size: int, steps: int, warmup: int, device, compile_: bool = False) -> float:
    """Images/s of labs.core.engine.fit, from its own per-step clock (the final evaluation is not counted)."""
    cfg = TrainConfig(epochs=1000, batch_size=batch_size, lr=0.05, augment=True, grad_norms=False, log_every=1,
                      max_steps=warmup + steps, schedule="constant", compile=compile_,
                      threads=torch.get_num_threads())
    at = {}
    for rec in fit(model, data, cfg, device=device):
        if rec["kind"] == "step":
            at[rec["step"]] = rec["seconds"]  # fit syncs on the loss every step, so this clock is honest on CUDA
    return steps * batch_size / (at[warmup + steps] - at[warmup])


def matmul_peak(dtype: torch.dtype, device, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of an n x n matmul in `dtype` on this machine and thread count: the roof a training step can reach."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    for _ in range(2):
        a @ b
    best = 0.0
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    return best


def train_flops_per_image(model) -> float:
    """Forward + backward FLOPs of one training image (torch.utils.flop_counter), in GFLOP."""
    from torch.utils.flop_counter import FlopCounterMode

    model.train()
    x = torch.randn(8, 3, 32, 32)
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(x), torch.zeros(8, dtype=torch.long)).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / 8 / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", default="7,7")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2, help="A/B rounds; the median is reported")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default=None)
    ap.add_argument("--compile", action="store_true", help="also time the engine with torch.compile (CUDA graphs on "
                                                          "CUDA), compile time reported")
    args = ap.parse_args()
    set_threads(args.threads)
    devices = [torch.device(args.device)] if args.device else [torch.device("cpu")] + (
        [torch.device("cuda")] if torch.cuda.is_available() else [])
    depth = tuple(int(d) for d in args.depth.split(","))
    for device in devices:
        bs = args.batch_size if device.type == "cpu" else max(args.batch_size, 512)
        data = cifar_like(max(bs * (args.steps + args.warmup + 2), 4096))
        base, mine = [], []
        for _ in range(args.repeats):
            seed_everything(0)
            base.append(baseline(build_model("resnet", depth=depth), data, bs, args.steps, args.warmup, device))
            seed_everything(0)
            mine.append(ours(build_model("resnet", depth=depth), data, bs, args.steps, args.warmup, device))
        b, m = statistics.median(base), statistics.median(mine)
        print(f"[{device.type}] ResNet{list(depth)} batch {bs}, {torch.get_num_threads()} threads, data "
              f"{data.name}: straightforward {b:,.0f} img/s (runs {[round(v) for v in base]}), "
              f"engine {m:,.0f} img/s (runs {[round(v) for v in mine]}), ratio {m / b:.2f}x", flush=True)
        if args.compile:
            seed_everything(0)
            t0 = time.perf_counter()
            c = ours(build_model("resnet", depth=depth), data, bs, args.steps, args.warmup, device, compile_=True)
            print(f"[{device.type}] engine + torch.compile: {c:,.0f} img/s ({c / m:.2f}x the engine; the run with "
                  f"compilation took {time.perf_counter() - t0:.1f} s)", flush=True)
        gflop = train_flops_per_image(build_model("resnet", depth=depth))
        native_bf16 = device.type == "cuda" or cpu_has_bf16()
        fp32 = matmul_peak(torch.float32, device)
        # emulated bf16 runs ~300x slower than fp32: a 512 matrix tells the same story in a second
        bf16 = matmul_peak(torch.bfloat16, device, n=2048 if native_bf16 else 512, repeats=5 if native_bf16 else 2)
        native = "native" if native_bf16 else "EMULATED: no avx512_bf16/amx here, so the engine trains in fp32"
        print(f"[{device.type}] {gflop:.3f} GFLOP per training image; 2048x2048 matmul peak: fp32 {fp32:,.0f} "
              f"GFLOP/s, bf16 {bf16:,.0f} GFLOP/s ({native})", flush=True)
        for name, rate in (("straightforward (fp32)", b), ("engine", m)):
            achieved = rate * gflop
            print(f"[{device.type}]   {name}: {achieved:,.0f} GFLOP/s = {achieved / fp32:.0%} of the fp32 peak, "
                  f"{achieved / bf16:.0%} of the bf16 peak", flush=True)
        if device.type == "cuda":
            full = load_dataset("cifar10") if is_available("cifar10") else data
            epoch_s = len(full.y_train) / m
            print(f"[cuda] projected ResNet{list(depth)} epoch on {len(full.y_train):,} images: {epoch_s:.2f} s")
    print(f"numpy {np.__version__}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
