"""The ODIN tab's notes: conventions, the OOD sets' exact definitions, and a reading of the
numbers just measured (built from the results, never from stored values)."""

from __future__ import annotations

from labs.ood.detectors import DETECTORS
from labs.ood.oodsets import OOD_SETS

# The seed's published AUROCs per detector, quoted as the seed's (its model, its OOD set).
SEED_FIGURES = {"odin": 0.8122, "msp": 0.49, "autoencoder": 0.94}


def conventions() -> str:
    sets = "\n".join(f"- **{s.title}** (`{k}`): {s.definition}." for k, s in OOD_SETS.items())
    seed = ", ".join(f"{DETECTORS[k].title} {v}" for k, v in SEED_FIGURES.items())
    return f"""### Conventions
- **Score**: higher = more in-distribution (ID). ID (the first n test images of the classifier's own data set,
  CIFAR-10 for the reference model) is the **positive** class in every metric:
  TPR = share of ID images kept, FPR = share of OOD images wrongly kept.
- **FPR@95**: FPR at the first threshold that keeps 95% of the ID images. **Detection error**:
  min over thresholds of ½(1−TPR) + ½FPR. **AUPR-in / AUPR-out**: average precision with ID / OOD as positive.
  Ties are handled exactly as scikit-learn does.
- **ODIN** (Liang et al., 2018): x' = x − ε·sign(∇ₓ CE(f(x)/T, ŷ)) with ŷ the predicted label;
  score = max softmax(f(x')/T).
  ε is in [0, 1] **pixel units**; the model's inputs are normalised, so the step on channel c is ε/std_c.
- **Live view** (sliders): all n images per side. **Grid search**: every detector's hyperparameters (ODIN's T
  and ε, the energy score's T; the typed grid replaces their defaults) chosen on the **validation half** (first
  half of each side) and reported on the **test half** (second half), the ODIN paper's protocol.
  **Comparison table**: every detector on the test half; cost = measured seconds / one clean forward pass.

### OOD sets (pixel space, before normalisation; every set is quantised to uint8 like a photo)
{sets}

### Reading the numbers
The seed reported AUROC {seed} (its network and its OOD set). The ODIN paper (DenseNet-BC, T = 1000,
ε ≈ 0.0014) reports near-perfect detection of both noise sets. A small ResNet can be about as confident on noise
as on real images (which noise fools it depends on the training run; this project's earlier 8-epoch checkpoint put
max softmax at 0.54 on Gaussian noise, its 92% reference at 0.88): temperature alone cannot fix such a ranking, the
input perturbation often can. The comparison table above opens on the reference run's figures. Press **Compare** to
see what this checkpoint does; the reading appears below."""


def interpret(rows: list[dict], id_title: str, ood_title: str, n_test: int) -> str:
    """A few sentences about measured comparison rows (protocol.comparison), one per detector."""
    by = {r["name"]: r for r in rows}
    lines = [f"**Measured now** ({id_title} vs {ood_title}, test half: {n_test} ID + {n_test} OOD images):"]
    msp, odin = by.get("msp"), by.get("odin")
    if msp:
        lines.append(f"- Max softmax AUROC **{msp['AUROC']:.3f}**, FPR@95 {msp['FPR@95']:.3f} (seed: "
                     f"{SEED_FIGURES['msp']}).")
        if msp["AUROC"] < 0.5:
            lines.append(f"  Below 0.5: the classifier is *more* confident on these OOD images than on {id_title} "
                         f"test images, so a confidence threshold keeps OOD and rejects ID.")
    if odin:
        gain = f", {odin['AUROC'] - msp['AUROC']:+.3f} vs max softmax" if msp else ""
        lines.append(f"- ODIN at {odin['setting']} (chosen on the validation half): AUROC **{odin['AUROC']:.3f}**, "
                     f"FPR@95 {odin['FPR@95']:.3f}{gain} (seed: {SEED_FIGURES['odin']}), at "
                     f"{odin['relative cost']:.1f}x the cost of one forward pass.")
    for name, r in by.items():
        if name not in ("msp", "odin", "autoencoder"):
            chosen = f" at {r['setting']}" if r["setting"] != "-" else ""
            lines.append(f"- {r['detector']}{chosen}: AUROC {r['AUROC']:.3f}, FPR@95 {r['FPR@95']:.3f}.")
    if "autoencoder" in by:
        ae = by["autoencoder"]
        lines.append(f"- Autoencoder reconstruction error: AUROC **{ae['AUROC']:.3f}**, FPR@95 {ae['FPR@95']:.3f} "
                     f"(seed: {SEED_FIGURES['autoencoder']}); it never looks at the classifier, so it flags inputs "
                     f"unlike {id_title} pixels (noise, flat MNIST digits) rather than unknown classes.")
    elif "autoencoder" in DETECTORS:
        lines.append("- Autoencoder: not trained yet (button above, or `python -m labs odin --train-autoencoder`).")
    best_row = max(rows, key=lambda r: r["AUROC"])
    lines.append(f"- Best here: **{best_row['detector']}** ({best_row['AUROC']:.3f}). Differences from the paper come "
                 f"from the network (a 0.16M-parameter ResNet trained for minutes vs DenseNet-BC), the test-half size "
                 f"and the OOD set; noise detection in particular depends on how the classifier extrapolates.")
    return "\n".join(lines)
