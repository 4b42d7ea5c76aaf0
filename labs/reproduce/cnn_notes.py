"""The cnn stage's notes: what its table and curves show about depth (the seed's degradation problem),
printed under the table in RESULTS.md and on Lab 1 B."""

from __future__ import annotations


def _trend(values: list[float]) -> str:
    if all(b < a for a, b in zip(values, values[1:])):
        return "falls with every step in depth"
    if all(b >= a for a, b in zip(values, values[1:])):
        return "does not fall with depth"
    return "is not monotonic in depth"


def cnn_notes(table: list[dict], runs: list[dict] | None = None) -> list[str]:
    notes = []
    for arch in ("PlainCNN", "ResNet"):
        rows = [r for r in table if r["Architecture"] == arch]
        if len(rows) < 2:
            continue
        accs, losses = [r["Final accuracy"] for r in rows], [r["Final train loss"] for r in rows]
        notes.append(f"{arch}: test accuracy {_trend(accs)} ({' / '.join(f'{a:.2%}' for a in accs)}), final train "
                     f"loss {_trend([-v for v in losses]).replace('falls', 'rises').replace('fall', 'rise')} "
                     f"({' / '.join(f'{v:.3f}' for v in losses)}), Small / Medium / Large.")
    notes += _depth_gaps(table)
    return notes + _falls_by_epoch(runs or [])


def _depth_gaps(table: list[dict]) -> list[str]:
    """What the skips are worth at each depth (ResNet minus PlainCNN), and every step in depth at which PlainCNN
    gets worse in both test accuracy and final train loss while ResNet does not: the seed's degradation where
    it shows, even when the shallowest plain network is held back by its small capacity instead."""
    rows = {(r["Architecture"], r["Size"]): r for r in table}
    sizes = [r["Size"] for r in table if r["Architecture"] == "PlainCNN" and ("ResNet", r["Size"]) in rows]
    if len(sizes) < 2:
        return []
    acc = {s: rows["ResNet", s]["Final accuracy"] - rows["PlainCNN", s]["Final accuracy"] for s in sizes}
    loss = {s: rows["PlainCNN", s]["Final train loss"] - rows["ResNet", s]["Final train loss"] for s in sizes}
    notes = [f"ResNet minus PlainCNN: {' / '.join(f'{acc[s] * 100:+.2f}' for s in sizes)} points of test accuracy, "
             f"{' / '.join(f'{-loss[s]:+.3f}' for s in sizes)} of final train loss ({' / '.join(sizes)})."]
    for a, b in zip(sizes, sizes[1:]):
        pa, pb, ra, rb = rows["PlainCNN", a], rows["PlainCNN", b], rows["ResNet", a], rows["ResNet", b]
        if (pb["Final accuracy"] < pa["Final accuracy"] and pb["Final train loss"] > pa["Final train loss"]
                and rb["Final accuracy"] >= ra["Final accuracy"] and rb["Final train loss"] <= ra["Final train loss"]):
            notes.append(f"From {a} to {b} PlainCNN gets worse ({pa['Final accuracy']:.2%} -> "
                         f"{pb['Final accuracy']:.2%}, train loss {pa['Final train loss']:.3f} -> "
                         f"{pb['Final train loss']:.3f}) while ResNet gets better ({ra['Final accuracy']:.2%} -> "
                         f"{rb['Final accuracy']:.2%}, {ra['Final train loss']:.3f} -> {rb['Final train loss']:.3f}).")
    return notes


def _falls_by_epoch(runs: list[dict]) -> list[str]:
    """The epochs after which test accuracy falls at every step in depth (Small > Medium > Large), for each
    architecture, from the runs' curves: where the seed's degradation shows during training even when it does
    not at the end."""
    from labs.reproduce.targets import per_epoch

    curves = {run["name"]: dict(per_epoch(run["curves"], most=10**6)) for run in runs}
    words = {}
    for arch in ("PlainCNN", "ResNet"):
        series = [curves.get(f"{arch} {size}") for size in ("Small", "Medium", "Large")]
        if not all(series):
            return []
        epochs = sorted(set(series[0]) & set(series[1]) & set(series[2]))
        falls = [e for e in epochs if series[0][e] > series[1][e] > series[2][e]]
        if arch == "PlainCNN" and not falls:
            return []
        words[arch] = "after no epoch" if not falls else (
            f"after epoch{'s' if len(falls) > 1 else ''} {', '.join(map(str, falls))} of {epochs[-1]} (after epoch "
            f"{falls[-1]}: {' / '.join(f'{c[falls[-1]]:.2%}' for c in series)})")
    return [f"Test accuracy falls at every step in depth (Small > Medium > Large) for PlainCNN {words['PlainCNN']}; "
            f"for ResNet {words['ResNet']}."]
