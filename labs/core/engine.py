"""One training loop for the CLI, the tabs and the tests: `fit` is a generator of metrics dicts.

    for record in fit(model, data, TrainConfig(epochs=2)):
        ...  # record["kind"] is "step", "eval" or "end"

- "step": epoch (float progress), step, train_loss / train_acc (mean over the
  steps since the last record), lr, seconds, images_per_s, and grad_norms
  {"names": [...], "values": [...]} (per-layer weight-gradient L2 norms, input
  side first) when config.grad_norms.
- "eval": epoch, step, seconds, test_loss, test_acc (and train_loss of the epoch).
- "end": the summary: final/best test accuracy, final train loss, steps,
  seconds, stopped, history (the eval records), config.

`stop` (a threading.Event) is checked between steps; a stopped run still ends
with its "end" record, so nothing measured is lost.
"""

from __future__ import annotations

import math
import os
import threading
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass

import torch
from torch import nn

from labs.core.data import Dataset, augment, to_model_input
from labs.core.errors import LabsError
from labs.core.hardware import cpu_has_bf16


@dataclass
class TrainConfig:
    epochs: int = 1               # passes over the train split
    batch_size: int = 128         # images per step
    lr: float = 0.05              # peak learning rate (OneCycle) or constant rate
    optimizer: str = "sgd"        # "sgd" (Nesterov momentum) | "adam"
    momentum: float = 0.9         # SGD only
    weight_decay: float = 5e-4    # L2, decoupled for Adam (AdamW)
    schedule: str = "onecycle"    # "onecycle" (warm-up 25% then cosine down) | "cosine" | "constant"
    label_smoothing: float = 0.0  # cross-entropy smoothing
    augment: bool = False         # random crop (4-px zero padding) + horizontal flip
    seed: int = 0                 # shuffling, augmentation (and model init via seed_everything)
    log_every: int = 10           # steps between "step" records (the first step is always reported)
    eval_every: int = 0           # steps between test evaluations; 0 = at the end of every epoch
    grad_norms: bool = True       # per-layer gradient norms in "step" records
    amp: str = "auto"             # "auto": bf16 on CUDA and on CPUs with native bf16 (conv nets); "bf16"; "off"
    compile: bool = False         # torch.compile the model (pays off only for long GPU runs)
    max_steps: int = 0            # stop after this many steps (0 = no limit); for smoke tests
    threads: int = 0              # CPU threads; 0 = all cores


OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("onecycle", "cosine", "constant")


def validate(config: TrainConfig, n_train: int) -> None:
    """Raise a LabsError naming the bad hyperparameter and its valid range."""
    def bad(msg):
        raise LabsError(msg)

    if not isinstance(config.epochs, int) or not 1 <= config.epochs <= 1000:
        bad(f"epochs must be a whole number from 1 to 1000, got {config.epochs!r}")
    if not isinstance(config.batch_size, int) or config.batch_size < 1:
        bad(f"batch size must be a positive whole number, got {config.batch_size!r}")
    if config.batch_size > n_train:
        bad(f"batch size {config.batch_size} is larger than the training set ({n_train} images); "
            f"use at most {n_train} or train on more images")
    if not (isinstance(config.lr, (int, float)) and math.isfinite(config.lr) and 0 < config.lr <= 10):
        bad(f"learning rate must be a number in (0, 10], got {config.lr!r}")
    if not (math.isfinite(config.weight_decay) and 0 <= config.weight_decay < 1):
        bad(f"weight decay must be in [0, 1), got {config.weight_decay!r}")
    if not (math.isfinite(config.momentum) and 0 <= config.momentum < 1):
        bad(f"momentum must be in [0, 1), got {config.momentum!r}")
    if not 0 <= config.label_smoothing < 1:
        bad(f"label smoothing must be in [0, 1), got {config.label_smoothing!r}")
    if config.optimizer not in OPTIMIZERS:
        bad(f"unknown optimizer {config.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
    if config.schedule not in SCHEDULES:
        bad(f"unknown schedule {config.schedule!r}; choose one of: {', '.join(SCHEDULES)}")
    if config.amp not in ("auto", "bf16", "off"):
        bad(f"amp must be auto, bf16 or off, got {config.amp!r}")


def pick_device(device: str | torch.device | None = None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def autocast_for(model: nn.Module, device: torch.device, amp: str = "auto"):
    """The autocast context training and evaluation use."""
    if amp == "off":
        return nullcontext()
    has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    if device.type == "cuda" or amp == "bf16" or (has_conv and cpu_has_bf16()):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def set_threads(threads: int = 0) -> None:
    torch.set_num_threads(threads or os.cpu_count() or 1)


def train_mode(model: nn.Module) -> None:
    """model.train(), except modules a freeze strategy marked `labs_frozen` (their BatchNorm
    running statistics must not move)."""
    model.train()
    for m in model.modules():
        if getattr(m, "labs_frozen", False):
            m.eval()


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The trainable weight matrices/kernels along the main path, input side first."""
    return [(n, p) for n, p in model.named_parameters()
            if p.ndim > 1 and p.requires_grad and "shortcut" not in n]


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, mean, std, batch_size: int = 1024,
            device: torch.device | None = None, amp: str = "auto", features: bool = False) -> torch.Tensor:
    """Logits (or model.features) for uint8 NHWC images, in batches; float32 on the CPU."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    with autocast_for(model, device, amp):
        for i in range(0, len(x), batch_size):
            xb = to_model_input(x[i:i + batch_size].to(device, non_blocking=True), mean, std)
            if xb.ndim == 4 and device.type == "cuda":
                xb = xb.contiguous(memory_format=torch.channels_last)
            out.append((model.features(xb) if features else model(xb)).float().cpu())
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, mean, std, batch_size: int = 1024,
             amp: str = "auto") -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on uint8 NHWC images."""
    logits = predict(model, x, mean, std, batch_size, amp=amp)
    y = y.cpu()
    return float(nn.functional.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())


def _make_optimizer(params, config: TrainConfig):
    if config.optimizer == "adam":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, nesterov=config.momentum > 0,
                           weight_decay=config.weight_decay)


def _make_schedule(opt, config: TrainConfig, total_steps: int):
    """Multiplier of the peak lr per step. "onecycle": linear warm-up from lr/10 over the first 25% of
    steps, then cosine down to lr/1000 (written out so it also works for a handful of steps)."""
    total = max(total_steps, 1)
    warm = max(1, round(0.25 * total))

    def onecycle(step: int) -> float:
        if step < warm:
            return 0.1 + 0.9 * step / warm
        t = min(1.0, (step - warm) / max(total - warm, 1))
        return 1e-3 + (1 - 1e-3) * 0.5 * (1 + math.cos(math.pi * t))

    def cosine(step: int) -> float:
        return 0.5 * (1 + math.cos(math.pi * min(1.0, step / total)))

    fn = {"onecycle": onecycle, "cosine": cosine}.get(config.schedule, lambda _: 1.0)
    return torch.optim.lr_scheduler.LambdaLR(opt, fn)


def fit(model: nn.Module, data: Dataset, config: TrainConfig | None = None,
        stop: threading.Event | None = None, device: str | torch.device | None = None):
    """Train `model` on `data`, yielding metrics dicts (see the module docstring)."""
    config = config or TrainConfig()
    n = len(data.y_train)
    validate(config, n)
    device = pick_device(device)
    if device.type == "cpu":
        set_threads(config.threads)
    data = data.to(device) if device.type != "cpu" else data
    model.to(device)
    is_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    memory_format = torch.channels_last if is_conv else torch.contiguous_format
    model.to(memory_format=memory_format)
    step_model = torch.compile(model) if config.compile else model

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise LabsError("every parameter is frozen: nothing to train")
    opt = _make_optimizer(params, config)
    steps_per_epoch = n // config.batch_size  # drop the last partial batch: equal-size steps
    total = config.epochs * steps_per_epoch
    if config.max_steps:
        total = min(total, config.max_steps)
    sched = _make_schedule(opt, config, total)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    gen = torch.Generator().manual_seed(config.seed)
    amp_ctx = lambda: autocast_for(model, device, config.amp)  # noqa: E731
    layers = weight_layers(model) if config.grad_norms else []

    t0 = time.perf_counter()
    history: list[dict] = []
    step, stopped = 0, False
    win_loss, win_correct, win_seen, epoch_loss, epoch_steps = 0.0, 0, 0, 0.0, 0
    win_t = t0
    last_train_loss = float("nan")

    def do_eval(epoch_progress: float) -> dict:
        test_loss, test_acc = evaluate(model, data.x_test, data.y_test, data.mean, data.std, amp=config.amp)
        train_mode(model)
        rec = {"kind": "eval", "epoch": round(epoch_progress, 4), "step": step,
               "seconds": round(time.perf_counter() - t0, 3), "test_loss": test_loss, "test_acc": test_acc,
               "train_loss": epoch_loss / max(epoch_steps, 1)}
        history.append(rec)
        return rec

    train_mode(model)
    for epoch in range(config.epochs):
        perm = torch.randperm(n, generator=gen).to(data.y_train.device)
        epoch_loss, epoch_steps = 0.0, 0
        for i in range(steps_per_epoch):
            if (stop is not None and stop.is_set()) or (config.max_steps and step >= config.max_steps):
                stopped = stop is not None and stop.is_set()
                break
            idx = perm[i * config.batch_size:(i + 1) * config.batch_size]
            xb, yb = data.x_train[idx], data.y_train[idx]
            if config.augment:
                xb = augment(xb, generator=gen)
            xb = to_model_input(xb, data.mean, data.std)
            if is_conv:
                xb = xb.contiguous(memory_format=memory_format)
            with amp_ctx():
                logits = step_model(xb)
                loss = loss_fn(logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            step += 1
            report = step == 1 or step % config.log_every == 0 or i == steps_per_epoch - 1
            norms = torch.stack([p.grad.detach().float().norm() for _, p in layers]) if report and layers else None
            opt.step()
            lr = opt.param_groups[0]["lr"]
            sched.step()
            loss_v = float(loss.detach())
            if not math.isfinite(loss_v):
                raise LabsError(f"training diverged at step {step} (loss {loss_v}); lower the learning rate "
                                f"(now {config.lr})")
            win_loss += loss_v * len(yb)
            win_correct += int((logits.detach().argmax(1) == yb).sum())
            win_seen += len(yb)
            epoch_loss += loss_v
            epoch_steps += 1
            last_train_loss = loss_v
            if report:
                now = time.perf_counter()
                rec = {"kind": "step", "epoch": round(epoch + (i + 1) / steps_per_epoch, 4), "step": step,
                       "train_loss": win_loss / win_seen, "train_acc": win_correct / win_seen, "lr": lr,
                       "seconds": round(now - t0, 3), "images_per_s": win_seen / max(now - win_t, 1e-9),
                       "total_steps": total}
                if norms is not None:
                    rec["grad_norms"] = {"names": [n_ for n_, _ in layers], "values": norms.tolist()}
                yield rec
                win_loss, win_correct, win_seen, win_t = 0.0, 0, 0, time.perf_counter()
            if config.eval_every and step % config.eval_every == 0 and i != steps_per_epoch - 1:
                yield do_eval(epoch + (i + 1) / steps_per_epoch)
        else:
            yield do_eval(epoch + 1)
            continue
        break  # stopped or max_steps inside the epoch

    if epoch_steps and (not history or history[-1]["step"] != step) and not stopped:
        yield do_eval(step / max(steps_per_epoch, 1))
    model.eval()
    accs = [h["test_acc"] for h in history]
    yield {"kind": "end", "stopped": stopped, "steps": step, "seconds": round(time.perf_counter() - t0, 3),
           "final_test_acc": accs[-1] if accs else float("nan"), "best_test_acc": max(accs) if accs else float("nan"),
           "final_train_loss": history[-1]["train_loss"] if history else last_train_loss,
           "history": history, "config": asdict(config), "device": str(device)}


def run_to_end(records) -> dict:
    """Drain a fit generator and return its "end" record (for code that needs no live view)."""
    end = {}
    for rec in records:
        if rec["kind"] == "end":
            end = rec
    return end
