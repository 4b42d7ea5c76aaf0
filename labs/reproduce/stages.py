"""The reproduction's stages: what each trains and evaluates at full scale, through the labs' own generators.

Each stage is a generator of plain dicts: {"kind": "progress", "text"} while it works and
one {"kind": "result", ...} at the end with the fields of a results file (labs/reproduce/results.py)
that only the stage knows (config, seed, runs, table, seed_table, notes, checkpoints, compute_seconds).
`ctx.dry` shrinks every stage to a few steps on tiny data (digits where the models allow), end to end.
Trainings run inside labs.core.resume.into(...) (set by the runner), so a stopped stage continues
where it stopped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from labs.core.errors import LabsError

REFERENCE = "resnet77_cifar10"        # the classifier every other lab starts from
AUTOENCODER = "autoencoder_cifar10"   # ODIN's reconstruction-error detector
OOD_STAGE_SETS = ("gaussian", "uniform", "cifar100", "mnist")  # the OOD sets the odin stage reports (offline ones)
OPT_TITLES = {"adam": "Adam", "sgd": "SGD"}


@dataclass
class Context:
    dry: bool = False
    device: str | None = None
    checkpoints: Path = Path("checkpoints")  # where the stage writes (and later stages read) checkpoints
    threads: int = 0


def _shown(path: Path) -> str:
    """`path` as a checkpoint's command shows it: relative to the repository when inside it (a committed JSON
    names no developer's folder), else as given."""
    root = Path(__file__).resolve().parents[2]
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


def _curves(history: list[dict]) -> list[dict]:
    keep = ("epoch", "step", "seconds", "test_loss", "test_acc", "train_loss")
    return [{k: h[k] for k in keep if k in h} for h in history]


def _final(end: dict) -> dict:
    keep = ("final_test_acc", "best_test_acc", "final_test_loss", "final_train_loss", "steps", "seconds",
            "resumed_from_epoch")
    return {k: end[k] for k in keep if k in end}


def _progress(label: str, rec: dict, epochs: int, paces: dict[str, list]) -> dict:
    """'ResNet[7,7]: epoch 18/80, test accuracy 71.54% (14536 s; about 4 h left)': the run's time left at the pace
    of its last few epochs (`paces` keeps each label's (epoch, seconds) points; seconds count compute only, so a
    resumed run continues its own clock)."""
    from labs.core import eta

    points = paces.setdefault(label, [])
    points.append((rec["epoch"], rec["seconds"]))
    acc = f", test accuracy {rec['test_acc']:.2%}" if "test_acc" in rec else f", test loss {rec['test_loss']:.4f}"
    left = eta.format_left(eta.recent_seconds_left(points, epochs))
    text = f"{label}: epoch {rec['epoch']:g}/{epochs}{acc} ({rec['seconds']:.0f} s; {left})"
    return {"kind": "progress", "text": text}


def _largest_drop(accs: list[float]) -> float:
    """The largest fall of test accuracy from one evaluation to the next (0 when it never falls)."""
    return max([0.0] + [a - b for a, b in zip(accs, accs[1:])])


# ------------------------------------------------------------------ mlp

def mlp(ctx: Context):
    """MLP-16 vs ResidualMLP-16 on MNIST, once with SGD and once with Adam (the full preset of Lab 1 A)."""
    from labs.residual.config import mlp_config
    from labs.residual.experiment import run_mlp_comparison

    runs, table, configs, seconds = [], [], {}, 0.0
    for opt in ("sgd", "adam"):
        over = dict(dataset="digits", epochs=2, batch_size=64, train_subset=256, eval_every=0) if ctx.dry else {}
        cfg = mlp_config("full", optimizer=opt, **over)
        configs[opt] = asdict(cfg)
        ratio, pair_seconds = {}, 0.0
        paces: dict[str, list] = {}
        for rec in run_mlp_comparison(cfg, device=ctx.device):
            if rec["kind"] == "step" and rec["step"] == 1 and rec.get("grad_norms"):
                v = rec["grad_norms"]["values"]
                ratio[rec["run"]] = v[0] / v[-1] if v[-1] else float("nan")
            elif rec["kind"] == "eval":
                yield _progress(f"{rec['run']} ({OPT_TITLES[opt]})", rec, cfg.epochs, paces)
            elif rec["kind"] == "end":
                accs = [h["test_acc"] for h in rec["history"]]
                runs.append({"name": f"{rec['run']}, {OPT_TITLES[opt]}", "curves": _curves(rec["history"]),
                             "final": _final(rec)})
                table.append({"Model": rec["run"], "Optimizer": OPT_TITLES[opt], "Peak lr": cfg.lr,
                              "Final test accuracy": rec["final_test_acc"], "Best test accuracy": max(accs),
                              "Largest drop between evaluations": _largest_drop(accs),
                              "Final train loss": rec["final_train_loss"],
                              "Gradient ratio first/last layer at step 1": ratio.get(rec["run"], float("nan")),
                              "Epochs": cfg.epochs})
                pair_seconds = max(pair_seconds, rec["seconds"])  # the two runs are interleaved: one wall time
        seconds += pair_seconds
    seed_table = [{"Model": "MLP-16", "Optimizer": "the seed's", "Final test accuracy": "~60-80%, severe instability"},
                  {"Model": "ResidualMLP-16", "Optimizer": "the seed's", "Final test accuracy": "high, stable"}]
    yield {"kind": "result", "config": configs, "seed": configs["adam"]["seed"], "runs": runs, "table": table,
           "seed_table": seed_table, "notes": mlp_notes(table), "checkpoints": [], "compute_seconds": seconds}


def mlp_notes(table: list[dict]) -> list[str]:
    rows = {(r["Model"].split("-")[0], r["Optimizer"]): r for r in table}
    notes = []
    for opt in ("SGD", "Adam"):
        plain, res = rows.get(("MLP", opt)), rows.get(("ResidualMLP", opt))
        if not plain or not res:
            continue
        notes.append(f"With {opt}: MLP-16 {plain['Final test accuracy']:.2%} (largest drop between evaluations "
                     f"{plain['Largest drop between evaluations']:.1%}), ResidualMLP-16 "
                     f"{res['Final test accuracy']:.2%}; at step 1 the plain MLP's first layer gets "
                     f"{plain['Gradient ratio first/last layer at step 1']:.0e} of its last layer's gradient norm, "
                     f"the residual one's {res['Gradient ratio first/last layer at step 1']:.2f}.")
    return notes


# ------------------------------------------------------------------ cnn

def cnn(ctx: Context, preset: str = "full"):
    """PlainCNN and ResNet at [2,2], [5,5], [7,7] on all of CIFAR-10, one schedule (Lab 1 B's full preset; the
    cnn_short stage: its short preset, the same schedule cut to the fewest epochs that reach the seed's 78%)."""
    from labs.reproduce.cnn_notes import cnn_notes
    from labs.residual.config import SIZES, convergence_label, depth_in_layers, sweep_config
    from labs.residual.experiment import run_sweep

    over = dict(dataset="digits", epochs=1, train_subset=64, test_subset=64, batch_size=32) if ctx.dry else {}
    cfg = sweep_config(preset, **over)
    runs, table, params, seconds = [], [], {}, 0.0
    paces: dict[str, list] = {}
    for rec in run_sweep(cfg, device=ctx.device):
        if rec["kind"] == "start":
            params[rec["run"]] = rec["params"]
        elif rec["kind"] == "eval":
            yield _progress(rec["run"], rec, cfg.epochs, paces)
        elif rec["kind"] == "end":
            arch, size = rec["run"].split()
            runs.append({"name": rec["run"], "curves": _curves(rec["history"]), "final": _final(rec)})
            table.append({"Architecture": arch, "Size": size,
                          "Depth": f"{list(SIZES[size])} ({depth_in_layers(SIZES[size])} layers)",
                          "Final accuracy": rec["final_test_acc"], "Final train loss": rec["final_train_loss"],
                          "Training convergence": convergence_label(rec["final_train_loss"], 10, cfg.label_smoothing),
                          "Parameters": params[rec["run"]], "Seconds": rec["seconds"]})
            seconds += rec["seconds"]
    seed_table = [{"Architecture": "ResNet", "Size": "Large", "Final accuracy": 0.78,
                   "Note": "the seed's ResNet runs reached 76-78%; its PlainCNN got worse with depth"}]
    yield {"kind": "result", "config": asdict(cfg), "seed": cfg.seed, "runs": runs, "table": table,
           "seed_table": seed_table, "notes": cnn_notes(table, runs), "checkpoints": [], "compute_seconds": seconds}


# ------------------------------------------------------------------ reference

def _train_and_save(label: str, args: dict, out: Path, ctx: Context, command: str):
    """Train one recipe and save its checkpoint, yielding a progress line per evaluation; returns (start, end)
    records (`yield from`). A run that did not reach its "saved" record raises: rerunning continues it."""
    from labs.core.recipes import train_and_save

    start, end, saved = {}, {}, None
    paces: dict[str, list] = {}
    for rec in train_and_save(**args, out=out, device=ctx.device, command=command):
        if rec["kind"] == "start":
            start = rec
        elif rec["kind"] == "eval":
            yield _progress(label, rec, args["train"].epochs, paces)
        elif rec["kind"] == "end":
            end = rec
        elif rec["kind"] == "saved":
            saved = rec
    if saved is None:
        raise LabsError(f"the {label} run did not finish; rerun the stage to continue it")
    return start, end

def reference(ctx: Context):
    """The ResNet[7,7] classifier the transfer and ODIN labs start from (recipe resnet77_cifar10_reference)."""
    from labs.core.recipes import recipe

    over = dict(dataset="digits", epochs=1, n_train=128, n_test=64, batch_size=32, depth=(1, 1)) if ctx.dry else {}
    args = recipe("resnet77_cifar10_reference", **over)
    out = Path(ctx.checkpoints) / REFERENCE
    command = f"python -m labs train --recipe resnet77_cifar10_reference --out {_shown(out)}"
    start, end = yield from _train_and_save("ResNet[7,7]", args, out, ctx, command)
    n_params, n_test = start["parameters"], start["n_test"]
    train = args["train"]
    table = [{"Model": "ResNet[7,7], widths 16/32", "Parameters": n_params, "Test accuracy": end["final_test_acc"],
              "Test images": n_test, "Epochs": train.epochs,
              "Flip TTA": train.tta_flip, "Seconds": end["seconds"]}]
    notes = [f"ResNet[7,7] ({n_params:,} parameters) reaches {end['final_test_acc']:.2%} on the CIFAR-10 test set "
             f"after {train.epochs} epochs; ResNet-20's published 91.25% (0.27M parameters) is the bar; the seed's "
             f"ResNet reached 78%."]
    yield {"kind": "result", "config": {**{k: v for k, v in args.items() if k != "train"}, "train": asdict(train)},
           "seed": train.seed, "runs": [{"name": "ResNet[7,7]", "curves": _curves(end["history"]),
                                         "final": _final(end)}],
           "table": table, "seed_table": [{"Model": "the seed's ResNet", "Test accuracy": 0.78}], "notes": notes,
           "checkpoints": [REFERENCE], "compute_seconds": end["seconds"]}


# ------------------------------------------------------------------ autoencoder

def autoencoder(ctx: Context):
    """ODIN's reconstruction-error detector on all of CIFAR-10 (recipe autoencoder_cifar10, full data)."""
    from labs.core.catalog import DATASETS, is_available
    from labs.core.recipes import recipe

    if ctx.dry and not is_available("cifar10"):  # the autoencoder is for 32x32 colour images only
        yield {"kind": "skipped", "reason": f"needs {DATASETS['cifar10'].title} (32x32 colour images), which is not "
                                            f"on this machine"}
        return
    over = dict(n_train=128, n_test=64, epochs=1, batch_size=32) if ctx.dry else dict(n_train=0, n_test=0, epochs=10)
    args = recipe("autoencoder_cifar10", **over)
    out = Path(ctx.checkpoints) / AUTOENCODER
    command = (f"python -m labs train --recipe autoencoder_cifar10 --epochs {args['train'].epochs} "
               f"--train-subset 0 --test-subset 0 --out {_shown(out)}")
    _, end = yield from _train_and_save("autoencoder", args, out, ctx, command)
    table = [{"Model": "convolutional autoencoder", "Test MSE (normalised pixels)": end["final_test_loss"],
              "Epochs": args["train"].epochs, "Seconds": end["seconds"]}]
    yield {"kind": "result", "config": {**{k: v for k, v in args.items() if k != "train"},
                                        "train": asdict(args["train"])},
           "seed": args["train"].seed, "runs": [{"name": "autoencoder", "curves": _curves(end["history"]),
                                                 "final": _final(end)}],
           "table": table, "seed_table": [], "notes": [], "checkpoints": [AUTOENCODER],
           "compute_seconds": end["seconds"]}


# ------------------------------------------------------------------ registry

def _later(name: str):
    def stage(ctx: Context):
        from labs.reproduce import stages_more
        yield from getattr(stages_more, name)(ctx)
    return stage


STAGES = {  # name -> (title, generator), in the order `reproduce` runs them
    "mlp": ("MLP-16 vs ResidualMLP-16 on MNIST, SGD and Adam", mlp),
    "cnn": ("PlainCNN vs ResNet on all of CIFAR-10", cnn),
    "cnn_short": ("PlainCNN vs ResNet on all of CIFAR-10, the shortest schedule that reaches the seed's 78%",
                  lambda ctx: cnn(ctx, "short")),
    "reference": ("The ResNet[7,7] reference classifier (CIFAR-10)", reference),
    "autoencoder": ("The ODIN lab's autoencoder (CIFAR-10)", autoencoder),
    "transfer": ("Transfer CIFAR-10 -> CIFAR-100: SVM on frozen features and fine-tuning", _later("transfer")),
    "odin": ("ODIN and the other detectors, 10,000 + 10,000 images per OOD set", _later("odin")),
}
