"""Lab 2 experiments: CIFAR-10 features reused on CIFAR-100.

Phase 1 (`run_svm`): the frozen CIFAR-10 ResNet's pooled features (N, 32) for the
CIFAR-100 images, standardised, then scikit-learn's LinearSVC (seed: 18.5%).
Phase 2 (`run_finetune`): for every (freeze strategy x optimiser), load the
checkpoint, put a 100-class head on it, freeze, fine-tune with labs.core.engine.fit.

Normalisation convention: the transferred network's first layer learnt on inputs
normalised with CIFAR-10's mean/std, so CIFAR-100 images are normalised with the
mean/std stored in the checkpoint's JSON (not CIFAR-100's own, which differ by
~0.01-0.02). The optional from-scratch reference uses the target's own statistics.

Both phases are generators of dicts so the CLI, the tab and the tests consume one code path.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from labs.core.data import DATASETS, availability_message, is_available, load_dataset
from labs.core.errors import LabsError
from labs.transfer.freeze import FREEZE_STRATEGIES, apply_strategy
from labs.transfer.source import load_source

OPTIMIZERS = {"adam": "Adam", "sgd": "SGD"}  # engine name -> table name (Adam is AdamW; SGD is Nesterov, momentum 0.9)
SCRATCH = "From scratch (no transfer)"
COLUMNS = ["Strategy", "Optimizer", "Test Accuracy", "Trainable Params", "Time (s)"]

# The seed's results (its notebook; CIFAR-100 test set).
SEED_SVM_ACC = 0.185
SEED_RESULTS = [
    {"Strategy": "Freeze input only", "Optimizer": "Adam", "Test Accuracy": 0.5330, "Trainable Params": 162180},
    {"Strategy": "No freeze", "Optimizer": "Adam", "Test Accuracy": 0.5306, "Trainable Params": 162644},
    {"Strategy": "Freeze input only", "Optimizer": "SGD", "Test Accuracy": 0.5064, "Trainable Params": 162180},
    {"Strategy": "No freeze", "Optimizer": "SGD", "Test Accuracy": 0.4905, "Trainable Params": 162644},
    {"Strategy": "Freeze all early", "Optimizer": "SGD", "Test Accuracy": 0.4789, "Trainable Params": 129188},
    {"Strategy": "Freeze all early", "Optimizer": "Adam", "Test Accuracy": 0.4786, "Trainable Params": 129188},
]


@dataclass
class TransferConfig:
    checkpoint: str = ""               # source ResNet checkpoint (.safetensors); "" = none chosen
    dataset: str = "cifar100"          # target data set
    strategies: tuple[str, ...] = tuple(FREEZE_STRATEGIES)  # keys of FREEZE_STRATEGIES
    optimizers: tuple[str, ...] = ("adam", "sgd")           # keys of OPTIMIZERS
    # Peak lrs of the OneCycle schedule. Measured on real CIFAR-100 (10k images, 3 epochs, freeze input only):
    # Adam 1e-3 13.3%, 3e-3 19.0%; SGD 0.03 14.1%, 0.1 25.7%: short budgets want the larger rates.
    adam_lr: float = 3e-3              # AdamW
    sgd_lr: float = 0.1                # SGD, Nesterov, momentum 0.9
    weight_decay: float = 5e-4         # both optimisers (decoupled for AdamW)
    epochs: int = 3                    # passes over the fine-tuning subset
    batch_size: int = 128
    train_subset: int = 5000           # target train images to fine-tune on (0 = all 50,000)
    test_subset: int = 2000            # target test images (0 = all 10,000; CIFAR test prefixes are balanced)
    augment: bool = False              # random crop + flip; pays off only over many epochs
    from_scratch: bool = False         # add a randomly initialised ResNet with the same budget
    svm_train_subset: int = 10000      # Phase 1 train images (0 = all)
    svm_test_subset: int = 2000        # Phase 1 test images (0 = all)
    svm_c: float = 1.0                 # LinearSVC's C (inverse regularisation), > 0
    seed: int = 0                      # subsets, head init, shuffling
    amp: str = "auto"                  # engine's autocast: "auto" (bf16 where the CPU has it) | "bf16" | "off"
    threads: int = 0                   # CPU threads for training; 0 = all cores (1 can be faster on a busy machine)
    log_every: int = 5                 # steps between live-curve points


# Named presets: field overrides of TransferConfig.
PRESETS: dict[str, dict] = {
    # a 2-core CPU finishes the 6 runs in a few minutes; accuracies are far below the seed's
    "quick": dict(train_subset=5000, test_subset=2000, epochs=3, augment=False,
                  svm_train_subset=10000, svm_test_subset=2000),
    # the whole data set, as the seed (hours on a CPU, minutes on a GPU)
    "full": dict(train_subset=0, test_subset=0, epochs=15, augment=True, svm_train_subset=0, svm_test_subset=0),
}

# Throughput of ResNet[7,7] used for the ETA, images/s (2 idle CPU cores with bf16 / one H200).
SPEED = {"cpu": {"train": 500, "infer": 1800}, "cuda": {"train": 30000, "infer": 100000}}


def preset(name: str, **overrides) -> TransferConfig:
    if name not in PRESETS:
        raise LabsError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return replace(TransferConfig(), **{**PRESETS[name], **overrides})


def _sizes(cfg: TransferConfig, n_train: int, n_test: int, svm: bool = False) -> tuple[int, int]:
    tr, te = (cfg.svm_train_subset, cfg.svm_test_subset) if svm else (cfg.train_subset, cfg.test_subset)
    return (min(tr, n_train) if tr else n_train), (min(te, n_test) if te else n_test)


def eta_seconds(cfg: TransferConfig, device: str = "cpu", n_train: int = 50000, n_test: int = 10000) -> dict:
    """Rough seconds for each phase, from SPEED; shared or busy cores take longer."""
    speed = SPEED["cuda" if device.startswith("cuda") else "cpu"]
    tr, te = _sizes(cfg, n_train, n_test)
    runs = len(cfg.strategies) * len(cfg.optimizers) + int(cfg.from_scratch)
    finetune = runs * cfg.epochs * (tr / speed["train"] + te / speed["infer"])
    str_, ste = _sizes(cfg, n_train, n_test, svm=True)
    svm = (str_ + ste) / speed["infer"] + str_ / 20000  # LinearSVC: ~20k samples/s on 32 features, 100 classes
    return {"svm": svm, "finetune": finetune, "runs": runs, "n_train": tr, "n_test": te}


def _positive_int(name: str, value, allow_zero: bool = True) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and (value >= 0 if allow_zero else value >= 1)
    if not ok:
        raise LabsError(f"{name} must be a whole number {'>= 0 (0 = all)' if allow_zero else '>= 1'}, got {value!r}")


def _positive_float(name: str, value, example: str) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise LabsError(f"{name} must be a number > 0 (e.g. {example}), got {value!r}")


def validate(cfg: TransferConfig, phase: str = "finetune") -> None:
    """LabsError naming the first bad knob of the phase ("svm" or "finetune")."""
    if cfg.dataset not in DATASETS:
        raise LabsError(f"unknown data set {cfg.dataset!r}; choose one of: {', '.join(DATASETS)}")
    if phase == "svm":
        _positive_float("the SVM's C", cfg.svm_c, "1.0")
        _positive_int("SVM train images", cfg.svm_train_subset)
        _positive_int("SVM test images", cfg.svm_test_subset)
        return
    if not cfg.strategies:
        raise LabsError(f"select at least one freeze strategy ({', '.join(FREEZE_STRATEGIES)})")
    if not cfg.optimizers:
        raise LabsError(f"select at least one optimiser ({', '.join(OPTIMIZERS.values())})")
    for s in cfg.strategies:
        if s not in FREEZE_STRATEGIES:
            raise LabsError(f"unknown freeze strategy {s!r}; choose from: {', '.join(FREEZE_STRATEGIES)}")
    for o in cfg.optimizers:
        if o not in OPTIMIZERS:
            raise LabsError(f"unknown optimiser {o!r}; choose from: {', '.join(OPTIMIZERS)}")
        _positive_float(f"the {OPTIMIZERS[o]} learning rate", getattr(cfg, f"{o}_lr"),
                        {"adam": "0.003", "sgd": "0.1"}[o])
    _positive_int("epochs", cfg.epochs, allow_zero=False)
    _positive_int("batch size", cfg.batch_size, allow_zero=False)
    _positive_int("train images", cfg.train_subset)
    _positive_int("test images", cfg.test_subset)


def target_data(cfg: TransferConfig, svm: bool = False):
    if not is_available(cfg.dataset):
        raise LabsError(availability_message(cfg.dataset))
    full = load_dataset(cfg.dataset)
    tr, te = _sizes(cfg, len(full.y_train), len(full.y_test), svm)
    return full.subset(tr, te, seed=cfg.seed)


# ------------------------------------------------------------------ Phase 1

def svm_on_features(train_features, y_train, test_features, y_test, c: float = 1.0) -> dict:
    """Standardise, fit a one-vs-rest linear SVM, score it; features are (N, D) arrays."""
    _positive_float("the SVM's C", c, "1.0")
    t0 = time.perf_counter()
    scaler = StandardScaler().fit(train_features)
    clf = LinearSVC(C=c, max_iter=5000, random_state=0).fit(scaler.transform(train_features), y_train)
    fit_s = time.perf_counter() - t0
    acc = float(clf.score(scaler.transform(test_features), y_test))
    return {"test_acc": acc, "train_acc": float(clf.score(scaler.transform(train_features), y_train)),
            "fit_seconds": fit_s}


def extract_features(model, x, mean, std, chunk: int = 2500, stop=None):
    """Pooled features of uint8 NHWC images in chunks; yields ("progress", done) then ("features", tensor)."""
    import torch

    from labs.core.engine import predict

    out = []
    for i in range(0, len(x), chunk):
        if stop is not None and stop.is_set():
            raise LabsError("stopped during feature extraction; nothing was fitted")
        out.append(predict(model, x[i:i + chunk], mean, std, features=True))
        yield "progress", min(i + chunk, len(x))
    yield "features", torch.cat(out)


def run_svm(cfg: TransferConfig, stop=None):
    """Phase 1. Yields {"kind": "progress", "stage", "done", "total"} and finally {"kind": "svm", ...}."""
    from labs.core.engine import set_threads

    validate(cfg, "svm")
    set_threads(cfg.threads)
    data = target_data(cfg, svm=True)
    model, meta = load_source(cfg.checkpoint, data.image_shape)
    mean, std = meta["normalization"]["mean"], meta["normalization"]["std"]
    t0 = time.perf_counter()
    feats = {}
    for split, x in (("train", data.x_train), ("test", data.x_test)):
        for kind, value in extract_features(model, x, mean, std, stop=stop):
            if kind == "progress":
                yield {"kind": "progress", "stage": f"features ({split})", "done": value, "total": len(x)}
            else:
                feats[split] = value.numpy()
    extract_s = time.perf_counter() - t0
    yield {"kind": "progress", "stage": "fitting LinearSVC", "done": 0, "total": 1}
    res = svm_on_features(feats["train"], data.y_train.numpy(), feats["test"], data.y_test.numpy(), cfg.svm_c)
    yield {"kind": "svm", **res, "extract_seconds": extract_s, "n_train": len(data.y_train),
           "n_test": len(data.y_test), "feature_dim": int(feats["train"].shape[1]), "c": cfg.svm_c,
           "chance": 1 / data.num_classes, "checkpoint": cfg.checkpoint}


# ------------------------------------------------------------------ Phase 2

def plan(cfg: TransferConfig) -> list[tuple[str, str]]:
    """(strategy, optimiser) per run, in the order they run; the from-scratch row uses the first optimiser."""
    runs = [(s, o) for s in cfg.strategies for o in cfg.optimizers]
    return runs + ([(SCRATCH, cfg.optimizers[0])] if cfg.from_scratch and cfg.optimizers else [])


def run_label(strategy: str, optimizer: str) -> str:
    return f"{OPTIMIZERS.get(optimizer, optimizer)} / {strategy}"


def prepare_model(cfg: TransferConfig, strategy: str, num_classes: int, image_shape):
    """A fresh copy of the source network with a new head, frozen per strategy (or a new ResNet for SCRATCH)."""
    from labs.core.engine import seed_everything
    from labs.core.models import build_model

    source, meta = load_source(cfg.checkpoint, image_shape)
    seed_everything(cfg.seed)  # the same new head for every run
    if strategy == SCRATCH:
        return build_model("resnet", **{**meta["model_args"], "num_classes": num_classes}), meta
    source.replace_head(num_classes)
    return apply_strategy(source, strategy), meta


def run_finetune(cfg: TransferConfig, stop=None, device=None):
    """Phase 2. Yields fit's records tagged with "run" (the label), {"kind": "row", "row"} after each
    finished run, and finally {"kind": "done", "rows", "stopped"}. A stopped run adds no row."""
    from labs.core.engine import TrainConfig, fit
    from labs.core.models import count_parameters

    validate(cfg)
    data = target_data(cfg)
    _, meta = load_source(cfg.checkpoint, data.image_shape)  # fail before the first run, not in it
    norm = meta["normalization"]
    transfer_data = replace(data, mean=tuple(norm["mean"]), std=tuple(norm["std"]))
    rows, runs = [], plan(cfg)
    for i, (strategy, opt) in enumerate(runs):
        if stop is not None and stop.is_set():
            break
        model, _ = prepare_model(cfg, strategy, data.num_classes, data.image_shape)
        label = run_label(strategy, opt)
        train_cfg = TrainConfig(epochs=cfg.epochs, batch_size=min(cfg.batch_size, len(data.y_train)),
                                lr=getattr(cfg, f"{opt}_lr"), optimizer=opt, weight_decay=cfg.weight_decay,
                                schedule="onecycle", augment=cfg.augment, seed=cfg.seed, log_every=cfg.log_every,
                                grad_norms=False, amp=cfg.amp, threads=cfg.threads)
        end = {}
        for rec in fit(model, data if strategy == SCRATCH else transfer_data, train_cfg, stop=stop, device=device):
            if rec["kind"] == "end":
                end = rec
            else:
                yield {**rec, "run": label, "run_index": i, "runs": len(runs)}
        if end.get("stopped"):
            break
        row = {"Strategy": strategy, "Optimizer": OPTIMIZERS[opt], "Test Accuracy": end["final_test_acc"],
               "Trainable Params": count_parameters(model, trainable_only=True), "Time (s)": end["seconds"],
               "lr": train_cfg.lr, "epochs": cfg.epochs, "n_train": len(data.y_train), "n_test": len(data.y_test)}
        rows.append(row)
        yield {"kind": "row", "row": row, "run": label}
    yield {"kind": "done", "rows": rows, "stopped": len(rows) < len(runs)}


def results_table(rows: list[dict], percent: bool = True):
    """The seed's columns, best first; Test Accuracy as '53.30%' strings when percent, else fractions."""
    import pandas as pd

    df = pd.DataFrame([{k: r[k] for k in COLUMNS if k in r} for r in rows], columns=COLUMNS)
    df = df.sort_values("Test Accuracy", ascending=False, kind="stable").reset_index(drop=True)
    if percent:  # display strings: '53.30%', '162,644'
        df["Test Accuracy"] = [f"{v:.2%}" for v in df["Test Accuracy"]]
        df["Trainable Params"] = [f"{int(v):,}" for v in df["Trainable Params"]]
    df["Time (s)"] = [round(float(v), 1) if v == v else v for v in df["Time (s)"]]
    return df


def markdown_table(df) -> str:
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    for rec in df.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in rec) + " |")
    return "\n".join(lines)
