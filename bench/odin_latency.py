"""ODIN tab latency: what a user waits for after releasing a slider, through the tab's own handler.

    python bench/odin_latency.py [--checkpoint checkpoints/resnet77_cifar10.safetensors] [--ood uniform] [--n 1000]

Prints each figure next to its target (issue 4): a new T at eps = 0 <= 0.1 s (cached logits);
eps > 0: first streamed update <= 1 s, 2 x n images complete <= 10 s on 2 CPU cores;
revisiting a (T, eps) pair: instant. With CUDA it also times the seed's full grid on
10,000 + 10,000 images. Timings on a shared machine are inflated: note what else ran.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _timed_live(h, ckpt, ood, n, T, eps):
    """(seconds to the first yield, seconds to the last, last status)."""
    t0, first, status = time.perf_counter(), None, ""
    for out in h.live(ckpt, ood, n, T, eps, []):
        first = first if first is not None else time.perf_counter() - t0
        status = out[3]
    return first, time.perf_counter() - t0, status


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default="checkpoints/resnet77_cifar10.safetensors")
    p.add_argument("--ood", default="uniform")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = all cores)")
    args = p.parse_args()

    import torch

    from labs.ood import protocol
    from labs.ood import scores as sc
    from labs.ood import tab as h

    if args.threads:
        torch.set_num_threads(args.threads)
    ckpt = Path(args.checkpoint).with_suffix(".safetensors")
    os.environ["LABS_CHECKPOINT_DIR"] = str(ckpt.parent.resolve())  # the tab lists the checkpoints of this folder
    print(f"{ckpt.name} vs {args.ood}, {args.n} + {args.n} images, torch threads {torch.get_num_threads()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, cuda {torch.cuda.is_available()}")
    rows = []
    f, total, _ = _timed_live(h, ckpt.stem, args.ood, args.n, 1.0, 0.0)
    rows.append(("first view: load data + clean forward pass", total, None))
    for T in (10.0, 1000.0):
        f, total, _ = _timed_live(h, ckpt.stem, args.ood, args.n, T, 0.0)
        rows.append((f"new T={T:g}, eps=0 (cached logits) -> new ROC", total, 0.1))
    f, total, _ = _timed_live(h, ckpt.stem, args.ood, args.n, 100.0, 0.002)
    rows.append(("new T=100, eps=0.002: first streamed update", f, 1.0))
    rows.append((f"new T=100, eps=0.002: all {2 * args.n} images", total, 10.0))
    f, total, _ = _timed_live(h, ckpt.stem, args.ood, args.n, 100.0, 0.004)
    rows.append(("same T, new eps=0.004 (cached gradient signs): first update", f, 1.0))
    rows.append(("same T, new eps=0.004: all images", total, 10.0))
    f, total, _ = _timed_live(h, ckpt.stem, args.ood, args.n, 100.0, 0.002)
    rows.append(("revisit T=100, eps=0.002", total, 0.1))
    for name, secs, target in rows:
        verdict = "" if target is None else ("  ok" if secs <= target else "  SLOWER than target")
        goal = "" if target is None else f"(target <= {target:g} s)"
        print(f"  {name:<62} {secs:7.3f} s {goal}{verdict}")

    if torch.cuda.is_available():
        exp = sc.get_experiment(ckpt, args.ood, 10000)
        exp.model.cuda()
        t0 = time.perf_counter()
        for _ in protocol.grid_search(exp):  # the detectors' own spaces: the seed's grid for ODIN
            pass
        print(f"  GPU: seed grid (12 ODIN pairs, + the other detectors) on 10,000 + 10,000 images: "
              f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
