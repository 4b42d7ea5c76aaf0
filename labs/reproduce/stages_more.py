"""The two stages that start from the reference classifier: transfer (Lab 2) and odin (Lab 4).

Same contract as labs/reproduce/stages.py: generators of {"kind": "progress", "text"} and one
{"kind": "result", ...}. Both need the reference checkpoint (stage "reference") in ctx.checkpoints.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from labs.core.errors import LabsError
from labs.reproduce.stages import AUTOENCODER, OOD_STAGE_SETS, REFERENCE, Context, _curves, _progress

TRANSFER_EPOCHS = 15  # fine-tuning epochs on all 50,000 CIFAR-100 images, with augmentation
ODIN_PER_SIDE = 10_000


def _reference(ctx: Context) -> Path:
    path = Path(ctx.checkpoints) / REFERENCE
    if not path.with_suffix(".json").exists():
        raise LabsError(f"this stage starts from the reference classifier {REFERENCE}, which is not in "
                        f"{ctx.checkpoints}: run `python -m labs reproduce --stage reference` first")
    return path


def _kept(prefix: str, ident: dict) -> Path | None:
    """Where a stage keeps a finished part's summary in its resume folder (None outside one): `prefix` plus a hash
    of `ident` (the config and the networks' files), so a rerun after a killed process finds it, and a changed
    config or network does not."""
    import hashlib
    import json

    from labs.core import resume

    if resume.active() is None:
        return None
    text = json.dumps(ident, sort_keys=True, default=str)
    return resume.active() / f"{prefix}-{hashlib.sha1(text.encode()).hexdigest()[:12]}.json"


# ------------------------------------------------------------------ transfer

def transfer(ctx: Context):
    """Phase 1 (linear SVM on frozen features, all of CIFAR-100) and Phase 2 (3 freeze strategies x Adam, SGD,
    plus the same ResNet from scratch), all 50,000 training and 10,000 test images, augmentation."""
    from labs.core import params
    from labs.transfer.config import SEED_RESULTS, SEED_SVM_ACC, TransferConfig
    from labs.reproduce.targets import SVM
    from labs.transfer.experiment import run_finetune

    source = _reference(ctx)
    full = dict(train_subset=0, test_subset=0, svm_train_subset=0, svm_test_subset=0, epochs=TRANSFER_EPOCHS)
    dry = dict(dataset="digits", train_subset=64, test_subset=64, svm_train_subset=128, svm_test_subset=64,
               epochs=1, batch_size=32)
    cfg = params.build(TransferConfig, checkpoint=str(source), augment=True, from_scratch=True, threads=ctx.threads,
                       **(dry if ctx.dry else full))
    svm = yield from _svm(cfg, source)
    seconds = svm["extract_seconds"] + svm["fit_seconds"]
    yield {"kind": "progress", "text": f"SVM on frozen features: {svm['test_acc']:.2%}"}
    table = [{"Strategy": SVM, "Optimizer": f"LinearSVC (C={svm['c']:g})",
              "Test Accuracy": svm["test_acc"], "Trainable Params": (svm["feature_dim"] + 1) * round(1 / svm["chance"]),
              "Time (s)": seconds}]
    seed_table = [{"Strategy": SVM, "Test Accuracy": SEED_SVM_ACC}] + [
        {k: r[k] for k in ("Strategy", "Optimizer", "Test Accuracy", "Trainable Params")} for r in SEED_RESULTS]
    runs, curves, paces, total = [], {}, {}, 1

    def record(kind: str) -> dict:
        return {"kind": kind, "config": asdict(cfg), "seed": cfg.seed, "runs": runs, "table": table,
                "seed_table": seed_table, "notes": transfer_notes(table, seed_table), "checkpoints": [],
                "compute_seconds": seconds}

    for rec in run_finetune(cfg, device=ctx.device):
        if rec["kind"] == "start":  # the SVM row is in: the tab and RESULTS.md can show it while the runs train
            total += len(rec["runs"])
            yield {**record("partial"), "progress": {"done": len(table), "total": total}}
        elif rec["kind"] == "eval":
            curves.setdefault(rec["run"], []).append(rec)
            yield _progress(rec["run"], rec, cfg.epochs, paces)
        elif rec["kind"] == "row":
            row = rec["row"]
            table.append({k: row[k] for k in ("Strategy", "Optimizer", "Test Accuracy", "Trainable Params",
                                              "Time (s)")})
            runs.append({"name": rec["run"], "curves": _curves(curves.get(rec["run"], [])),
                         "final": {"final_test_acc": row["Test Accuracy"], "seconds": row["Time (s)"],
                                   "lr": row["lr"], "epochs": row["epochs"]}})
            seconds += row["Time (s)"]
            if len(table) < total:
                yield {**record("partial"), "progress": {"done": len(table), "total": total}}
    yield record("result")


def _svm(cfg, source: Path):
    """Phase 1's figures (yielding its progress lines); kept in the stage's resume folder, keyed on the config and
    the reference's file, so a rerun after a killed process neither spends minutes on it again nor draws a
    different row (the fit is not bit-identical from one process to the next)."""
    import json

    from labs.core.checkpoints import read_metadata
    from labs.reproduce import results
    from labs.transfer.experiment import run_svm

    saved = _kept("svm", {"config": asdict(cfg), "net": read_metadata(source)})
    if saved is not None and saved.exists():
        svm = json.loads(saved.read_text())
        yield {"kind": "progress", "text": f"SVM on frozen features: done before ({saved.name})"}
        return svm
    for rec in run_svm(cfg):
        if rec["kind"] == "progress" and rec["done"] == rec["total"]:
            yield {"kind": "progress", "text": f"SVM: {rec['stage']} done ({rec['seconds']:.0f} s)"}
        elif rec["kind"] == "done":
            svm = {k: float(rec[k]) if k != "feature_dim" else int(rec[k])
                   for k in ("test_acc", "c", "feature_dim", "chance", "extract_seconds", "fit_seconds")}
    if saved is not None:
        results.write_json(svm, saved)
    return svm


def transfer_notes(table: list[dict], seed_table: list[dict]) -> list[str]:
    """What the table shows next to the seed's: the best row, each optimiser's and each strategy's best (the
    seed's beside them), and what the transfer is worth against the same network from scratch and the SVM."""
    from labs.reproduce.targets import SVM, tuned_rows

    tuned = tuned_rows(table)
    if not tuned:
        return []
    seed = tuned_rows(seed_table)
    best = max(tuned, key=lambda r: r["Test Accuracy"])
    seed_best = max((r["Test Accuracy"] for r in seed), default=float("nan"))
    notes = [f"Best fine-tuning row: {best['Strategy']} with {best['Optimizer']}, {best['Test Accuracy']:.2%} "
             f"({(best['Test Accuracy'] - seed_best) * 100:+.2f} points against the seed's best {seed_best:.2%})."]
    for key, what in (("Optimizer", "optimiser"), ("Strategy", "freeze strategy")):
        ours, theirs = _best_by(tuned, key), _best_by(seed, key)
        if len(ours) < 2:
            continue
        ranked = sorted(ours, key=ours.get, reverse=True)
        words = ", ".join(f"{k} {ours[k]:.2%}" + (f" (the seed's {theirs[k]:.2%})" if k in theirs else "")
                          for k in ranked)
        notes.append(f"Best row per {what}: {words}.")
    scratch = [r for r in table if r["Strategy"].startswith("From scratch")]
    if scratch:
        gap = (best["Test Accuracy"] - scratch[0]["Test Accuracy"]) * 100
        notes.append(f"The same ResNet from scratch, same budget: {scratch[0]['Test Accuracy']:.2%}, {gap:.2f} points "
                     f"below the best fine-tuning row: what starting from the CIFAR-10 weights is worth here.")
    svm, seed_svm = ([r for r in rows if r["Strategy"] == SVM] for rows in (table, seed_table))
    if svm:
        gap = (best["Test Accuracy"] - svm[0]["Test Accuracy"]) * 100
        theirs = f" (the seed's {seed_svm[0]['Test Accuracy']:.2%})" if seed_svm else ""
        notes.append(f"The linear SVM on the frozen features: {svm[0]['Test Accuracy']:.2%}{theirs}, {gap:.2f} points "
                     f"below the best fine-tuning row.")
    return notes


def _best_by(rows: list[dict], key: str) -> dict[str, float]:
    best: dict[str, float] = {}
    for r in rows:
        best[r[key]] = max(best.get(r[key], float("-inf")), r["Test Accuracy"])
    return best


# ------------------------------------------------------------------ odin

COMPARISON_KEYS = ("detector", "setting", "AUROC", "FPR@95", "AUPR-in", "AUPR-out", "Detection error",
                   "relative cost")


def _odin_pass(ctx: Context, cfg, ae: Path | None, every: bool):
    """One OOD set on one ε scale: progress records, then {"kind": "pass", "wall", "grid_rows", "rows"}. Every
    detector on the seed's scale; on the paper's (every=False) ODIN alone, its rows with ε > 0 (ε = 0 is the same
    detector on both). Its summary is kept in the stage's resume folder, keyed on the config and the networks'
    files, so a rerun after a killed process skips the passes it finished (the odin stage takes hours on a CPU
    and its scores are cached in memory only)."""
    import json

    from labs.core.checkpoints import read_metadata
    from labs.ood.experiment import run
    from labs.ood.oodsets import OOD_SETS
    from labs.reproduce import results

    nets = [read_metadata(_reference(ctx))] + ([read_metadata(ae)] if ae is not None else [])
    saved = _kept(f"pass-{cfg.ood_set}-{cfg.eps_scale}", {"config": asdict(cfg), "every": every, "nets": nets})
    if saved is not None and saved.exists():
        yield {"kind": "progress", "text": f"{OOD_SETS[cfg.ood_set].title}, {cfg.eps_scale}'s ε scale: done "
                                           f"before ({saved.name})"}
        yield {"kind": "pass", **json.loads(saved.read_text())}
        return
    grid, comparison = {}, []
    for rec in run(cfg, folder=ctx.checkpoints, autoencoder=ae, detectors=None if every else ("odin",)):
        if rec["kind"] == "setting":
            yield {"kind": "progress", "text": f"{OOD_SETS[cfg.ood_set].title}, {cfg.eps_scale}'s ε scale: "
                                               f"{rec['row']['title']} {rec['row']['setting']} "
                                               f"({rec['done']}/{rec['total']})"}
        elif rec["kind"] == "grid":
            grid = rec
        elif rec["kind"] == "comparison":
            comparison = rec["rows"]
    done = {"wall": float(grid.get("wall", 0.0)),
            "grid_rows": [{"detector": r["title"], "setting": r["setting"], "val_auroc": float(r["val"]["AUROC"]),
                           "test_auroc": float(r["test"]["AUROC"])} for r in grid.get("rows", [])
                          if every or r["params"].get("epsilon")],
            "rows": [{k: (float(r[k]) if k not in ("detector", "setting") else r[k]) for k in COMPARISON_KEYS}
                     for r in comparison]}
    if saved is not None:
        results.write_json(done, saved)
    yield {"kind": "pass", **done}


def odin(ctx: Context):
    """Every detector's search (the seed's T x epsilon grid for ODIN) on the validation halves and the comparison
    on the test halves, 10,000 CIFAR-10 test images against 10,000 images of each OOD set; ODIN on both epsilon
    scales (the seed's, and the paper's in pixel units / std)."""
    from labs.ood.config import GridConfig
    from labs.ood.detectors import DETECTORS, EPS_SCALES
    from labs.ood.notes import SEED_FIGURES
    from labs.ood.oodsets import OOD_SETS

    from labs.core.checkpoints import read_metadata

    dataset = read_metadata(_reference(ctx))["dataset"]
    sets = ("uniform",) if ctx.dry else OOD_STAGE_SETS
    ae = Path(ctx.checkpoints) / AUTOENCODER
    if not ae.with_suffix(".json").exists() or read_metadata(ae)["dataset"] != dataset:
        ae = None  # its row is skipped, with the reason, by the protocol
    odin_title = DETECTORS["odin"].title
    table, runs, configs, seconds = [], [], {}, 0.0
    for ood in sets:
        n = 32 if ctx.dry else min(ODIN_PER_SIDE, OOD_SETS[ood].size())
        grid_rows, rows = [], []
        # Every detector on the seed's epsilon scale, then ODIN alone again on the paper's (pixel units / std):
        # its rows follow the seed-scale ones, each Setting naming its scale (the tab's heatmap shows the first).
        for scale in EPS_SCALES:
            cfg = GridConfig(checkpoint=REFERENCE, ood_set=ood, images_per_side=n, eps_scale=scale)
            if scale == "seed":
                configs[ood] = asdict(cfg)
            done = {}
            for rec in _odin_pass(ctx, cfg, ae, every=scale == "seed"):
                if rec["kind"] == "pass":
                    done = rec
                else:
                    yield rec
            seconds += done["wall"]
            grid_rows += done["grid_rows"]
            rows += done["rows"]
        runs.append({"name": OOD_SETS[ood].title, "curves": [], "final": {"grid": grid_rows}})
        for r in sorted(_distinct(rows), key=lambda r: r["detector"] != odin_title):
            table.append({"OOD set": OOD_SETS[ood].title, "Detector": r["detector"], "Setting": r["setting"],
                          "AUROC": r["AUROC"], "FPR@95": r["FPR@95"], "AUPR-in": r["AUPR-in"],
                          "AUPR-out": r["AUPR-out"], "Detection error": r["Detection error"],
                          "Relative cost": r["relative cost"]})
    seed_table = [{"OOD set": "the seed's synthetic noise", "Detector": DETECTORS[k].title, "AUROC": v}
                  for k, v in SEED_FIGURES.items()]
    yield {"kind": "result", "config": configs, "seed": 0, "runs": runs, "table": table, "seed_table": seed_table,
           "notes": odin_notes(table), "checkpoints": [], "compute_seconds": seconds}


def _distinct(rows: list[dict]) -> list[dict]:
    """A pass's rows without repeats: where the paper's scale chose ε = 0 too, its ODIN row is the seed-scale
    pass's (ε = 0 is the same detector on both scales: one untagged row, as in the heatmap)."""
    seen, out = set(), []
    for r in rows:
        key = (r["detector"], r["setting"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def odin_notes(table: list[dict]) -> list[str]:
    """Per OOD set: ODIN's validation-chosen setting(s) against max softmax, and the best detector (test half)."""
    from labs.ood.detectors import DETECTORS

    odin, msp = DETECTORS["odin"].title, DETECTORS["msp"].title
    notes = []
    for ood in dict.fromkeys(r["OOD set"] for r in table):
        rows = [r for r in table if r["OOD set"] == ood]
        base = next((r for r in rows if r["Detector"] == msp), None)
        tuned = [r for r in rows if r["Detector"] == odin]
        if base is None or not tuned:
            continue
        top = max(round(r["AUROC"], 3) for r in rows)
        best = " = ".join(r["Detector"] for r in rows if round(r["AUROC"], 3) == top)
        text = "; ".join(f"{r['Setting']}: {r['AUROC']:.3f}" for r in tuned)
        line = f"{ood}: ODIN AUROC {text}, against max softmax {base['AUROC']:.3f}"
        if len(tuned) == 1 and "ε=0" in tuned[0]["Setting"].split(", "):
            alone = "max softmax itself" if "T=1" in tuned[0]["Setting"].split(", ") else "temperature scaling alone"
            line += (" (on both ε scales the validation half chose ε = 0: the input perturbation lowers AUROC "
                     f"on this set, so ODIN is {alone})")
        notes.append(f"{line}; best {best} ({top:.3f}).")
    return notes
