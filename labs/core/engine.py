"""One training loop for the CLI, the tabs and the tests: `fit` is a generator of metrics dicts.

    for record in fit(model, data, TrainConfig(epochs=2)):
        ...  # record["kind"] is "step", "eval" or "end"

- "step": epoch (float progress), step, train_loss / train_acc (mean over the
  steps since the last record), lr, seconds, images_per_s, and grad_norms
  {"names": [...], "values": [...]} (per-layer weight-gradient L2 norms, input
  side first) when config.grad_norms.
- "eval": epoch, step, seconds, eval_seconds (of this evaluation), test_loss, test_acc (and train_loss of
  the epoch).
- "end": the summary: final/best test accuracy, final test and train loss, steps,
  seconds, stopped, history (the eval records), config.

config.objective "reconstruction" trains an autoencoder on the same loop: the loss
is the mean squared error to the normalised input, and the records carry no
accuracies (train_acc, test_acc, final/best_test_acc are absent).

Frozen layers need no care here: labs.core.freeze replaces their BatchNorm by a
module without a training mode, so `model.train()` cannot unfreeze them.

`stop` (a threading.Event) is checked between steps; a stopped run still ends
with its "end" record, so nothing measured is lost.

Inside `with labs.core.resume.into(folder):` a run keeps its state after every
epoch and a rerun continues where it stopped (or replays a finished run at once);
the "end" record then carries "resumed_from_epoch". See labs/core/resume.py.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict

import torch
from torch import nn

from labs.core import resume
from labs.core.data import Dataset, augment, to_model_input
from labs.core.devices import (  # noqa: F401 (part of the engine's API)
    available_devices, pick_device, seed_everything, set_threads)
from labs.core.errors import LabsError
from labs.core.inference import autocast_for, evaluate, predict  # noqa: F401 (predict: part of the engine's API)
from labs.core.train_config import TrainConfig, check_fits  # noqa: F401 (TrainConfig: part of the engine's API)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The trainable weight matrices/kernels along the main path, input side first."""
    return [(n, p) for n, p in model.named_parameters()
            if p.ndim > 1 and p.requires_grad and "shortcut" not in n]


def _make_optimizer(params, config: TrainConfig):
    if config.optimizer == "adam":  # Adam as in the seed (torch.optim.Adam): weight decay is an L2 term, as for SGD
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
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
    check_fits(config, n)
    device = pick_device(device)
    if device.type == "cpu":
        set_threads(config.threads)
    data = data.to(device) if device.type != "cpu" else data
    model.to(device)
    is_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    memory_format = torch.channels_last if is_conv else torch.contiguous_format
    model.to(memory_format=memory_format)
    # compile: on CUDA "reduce-overhead" replays the step's kernels as CUDA graphs (this net is launch-bound)
    step_model = torch.compile(model, mode="reduce-overhead" if device.type == "cuda" else None) \
        if config.compile else model

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise LabsError("every parameter is frozen: nothing to train")
    opt = _make_optimizer(params, config)
    steps_per_epoch = n // config.batch_size  # drop the last partial batch: equal-size steps
    total = config.epochs * steps_per_epoch
    if config.max_steps:
        total = min(total, config.max_steps)
    sched = _make_schedule(opt, config, total)
    classify = config.objective == "classification"
    ce = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    if classify:
        def loss_fn(out, xb, yb):
            return ce(out.float(), yb)
    else:  # reconstruction: mean squared error to the (normalised, augmented) input itself
        def loss_fn(out, xb, yb):
            return (out.float() - xb).pow(2).mean()
    gen = torch.Generator().manual_seed(config.seed)
    ema = None
    if config.ema:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)
    amp_ctx = lambda: autocast_for(model, device, config.amp)  # noqa: E731
    layers = weight_layers(model) if config.grad_norms else []

    t0 = time.perf_counter()
    history: list[dict] = []
    step, stopped, start_epoch = 0, False, 0
    saved_at = resume.state_path(resume.run_key(model, data, config, device)) if resume.active() else None
    saved = resume.load(saved_at) if saved_at is not None else None
    if saved is not None and saved.get("end"):  # finished before: its final weights and records, at once
        model.load_state_dict(saved["model"])
        model.eval()
        yield from saved["end"]["history"]
        yield {**saved["end"], "resumed_from_epoch": config.epochs}
        return
    parts = {"model": model, "opt": opt, "sched": sched, "ema": ema}  # a resume state: these, the generator, ...
    mid = None  # a state saved inside an epoch: that epoch's order, where in it, and its loss so far
    if saved is not None:  # stopped before: continue where it stopped, as if it had never stopped
        resume.restore(saved, parts)
        gen.set_state(saved["gen"])
        history, step, start_epoch = list(saved["history"]), saved["step"], saved["epoch"]
        t0 -= saved["seconds"]
        mid = saved if "i" in saved else None
    last_save = time.perf_counter()

    def state(epoch_next: int, **more) -> dict:
        return resume.snapshot(parts, gen=gen.get_state(), history=history, step=step, epoch=epoch_next,
                               epochs=config.epochs, total_steps=total, **more)
    win_loss, win_correct, win_seen, epoch_loss, epoch_steps = 0.0, 0, 0, 0.0, 0
    win_t = t0
    last_train_loss = float("nan")

    def do_eval(epoch_progress: float) -> dict:
        t_eval = time.perf_counter()
        test_loss, test_acc = evaluate(ema.module if ema is not None else model, data.x_test, data.y_test,
                                       data.mean, data.std, amp=config.amp, objective=config.objective,
                                       flip=config.tta_flip)
        model.train()
        rec = {"kind": "eval", "epoch": round(epoch_progress, 4), "step": step,
               "seconds": round(time.perf_counter() - t0, 3), "test_loss": test_loss,
               "eval_seconds": round(time.perf_counter() - t_eval, 3), "train_loss": epoch_loss / max(epoch_steps, 1)}
        if classify:
            rec["test_acc"] = test_acc
        history.append(rec)
        return rec

    model.train()
    for epoch in range(start_epoch, config.epochs):
        if mid is not None:  # the epoch a mid-epoch state was saved in: its own order, from where it stopped
            perm, first = mid["perm"].to(data.y_train.device), mid["i"]
            epoch_loss, epoch_steps, mid = mid["epoch_loss"], mid["epoch_steps"], None
        else:
            perm, first = torch.randperm(n, generator=gen).to(data.y_train.device), 0
            epoch_loss, epoch_steps = 0.0, 0
        for i in range(first, steps_per_epoch):
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
                out = step_model(xb)
                loss = loss_fn(out, xb, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            step += 1
            report = step == 1 or step % config.log_every == 0 or i == steps_per_epoch - 1
            norms = torch.stack([p.grad.detach().float().norm() for _, p in layers]) if report and layers else None
            opt.step()
            if ema is not None:
                ema.update_parameters(model)
            lr = opt.param_groups[0]["lr"]
            sched.step()
            loss_v = float(loss.detach())
            if not math.isfinite(loss_v):
                raise LabsError(f"training diverged at step {step} (loss {loss_v}); lower the learning rate "
                                f"(now {config.lr})")
            win_loss += loss_v * len(yb)
            if classify:
                win_correct += int((out.detach().argmax(1) == yb).sum())
            win_seen += len(yb)
            epoch_loss += loss_v
            epoch_steps += 1
            last_train_loss = loss_v
            if report:
                now = time.perf_counter()
                rec = {"kind": "step", "epoch": round(epoch + (i + 1) / steps_per_epoch, 4), "step": step,
                       "train_loss": win_loss / win_seen, "lr": lr,
                       "seconds": round(now - t0, 3), "images_per_s": win_seen / max(now - win_t, 1e-9),
                       "total_steps": total}
                if classify:
                    rec["train_acc"] = win_correct / win_seen
                if norms is not None:
                    rec["grad_norms"] = {"names": [n_ for n_, _ in layers], "values": norms.tolist()}
                yield rec
                win_loss, win_correct, win_seen, win_t = 0.0, 0, 0, time.perf_counter()
            if config.eval_every and step % config.eval_every == 0 and i != steps_per_epoch - 1:
                yield do_eval(epoch + (i + 1) / steps_per_epoch)
            if (saved_at is not None and i != steps_per_epoch - 1
                    and time.perf_counter() - last_save >= resume.MID_EPOCH_SECONDS):
                # a long epoch is not lost when the process is killed: its state every few minutes
                resume.save(saved_at, state(epoch, perm=perm.cpu(), i=i + 1, epoch_loss=epoch_loss,
                                            epoch_steps=epoch_steps, seconds=round(time.perf_counter() - t0, 3)))
                last_save = time.perf_counter()
        else:
            rec = do_eval(epoch + 1)
            if saved_at is not None:  # before the yield: a consumer that stops here loses nothing
                resume.save(saved_at, state(epoch + 1, seconds=rec["seconds"]))
                last_save = time.perf_counter()
            yield rec
            continue
        break  # stopped or max_steps inside the epoch

    if epoch_steps and (not history or history[-1]["step"] != step) and not stopped:
        yield do_eval(step / max(steps_per_epoch, 1))
    if ema is not None:  # the averaged weights are what was evaluated: they are the result
        model.load_state_dict(ema.module.state_dict())
    model.eval()
    accs = [h["test_acc"] for h in history if "test_acc" in h]
    end = {"kind": "end", "stopped": stopped, "steps": step, "seconds": round(time.perf_counter() - t0, 3),
           "final_test_loss": history[-1]["test_loss"] if history else float("nan"),
           "final_train_loss": history[-1]["train_loss"] if history else last_train_loss,
           "history": history, "config": asdict(config), "device": str(device)}
    if classify:
        end.update(final_test_acc=accs[-1] if accs else float("nan"), best_test_acc=max(accs) if accs else float("nan"))
    if start_epoch:
        end["resumed_from_epoch"] = start_epoch
    if saved_at is not None and not stopped:
        resume.save(saved_at, {"model": model.state_dict(), "end": end})
    yield end


def run_to_end(records) -> dict:
    """Drain a fit generator and return its "end" record (for code that needs no live view)."""
    end = {}
    for rec in records:
        if rec["kind"] == "end":
            end = rec
    return end
