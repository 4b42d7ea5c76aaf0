"""The ODIN tab's notes: conventions, the OOD sets' exact definitions, and a reading of the
numbers just measured (built from the results, never from stored values)."""

from __future__ import annotations

from labs.ood.oodsets import OOD_SETS

# The seed's published figures, quoted as the seed's (its model, its OOD set).
SEED_FIGURES = {"ODIN": 0.8122, "Max softmax": 0.49, "Autoencoder": 0.94}


def conventions() -> str:
    sets = "\n".join(f"- **{s.title}** (`{k}`): {s.definition}." for k, s in OOD_SETS.items())
    seed = ", ".join(f"{k} {v}" for k, v in SEED_FIGURES.items())
    return f"""### Conventions
- **Score**: higher = more in-distribution (ID). ID (CIFAR-10 test) is the **positive** class in every metric:
  TPR = share of ID images kept, FPR = share of OOD images wrongly kept.
- **FPR@95**: FPR at the first threshold that keeps 95% of the ID images. **Detection error**:
  min over thresholds of ½(1−TPR) + ½FPR. **AUPR-in / AUPR-out**: average precision with ID / OOD as positive.
  Ties are handled exactly as scikit-learn does.
- **ODIN** (Liang et al., 2018): x' = x − ε·sign(∇ₓ CE(f(x)/T, ŷ)) with ŷ the predicted label;
  score = max softmax(f(x')/T).
  ε is in [0, 1] **pixel units**; the model's inputs are normalised, so the step on channel c is ε/std_c.
- **Live view** (sliders): all n images per side. **Grid search**: (T, ε) chosen on the **validation half**
  (first half of each side) and reported on the **test half** (second half), the ODIN paper's protocol.
  **Comparison table**: every detector on the test half; cost = measured seconds / one clean forward pass.

### OOD sets (pixel space, before normalisation; every set is quantised to uint8 like a photo)
{sets}

### Reading the numbers
The seed reported AUROC {seed} (its network and its OOD set). The ODIN paper (DenseNet-BC, T = 1000,
ε ≈ 0.0014) reports near-perfect detection of both noise sets. A small ResNet can instead be about as confident
on noise as on real images (which noise fools it depends on the training run): max softmax then sits near or below
0.5 AUROC; temperature alone cannot fix such a ranking, the input perturbation sometimes can. Press **Compare** to
see what this checkpoint does; the reading appears below."""


def interpret(rows: list[dict], ood_title: str, n_test: int, best: tuple[float, float]) -> str:
    """A few sentences about measured comparison rows (experiment.comparison)."""
    by = {r["detector"]: r for r in rows}
    msp, odin = by["Max softmax"], by["ODIN"]
    lines = [f"**Measured now** ({ood_title}, test half: {n_test} ID + {n_test} OOD images):"]
    lines.append(f"- Max softmax AUROC **{msp['AUROC']:.3f}**, FPR@95 {msp['FPR@95']:.3f} (seed: "
                 f"{SEED_FIGURES['Max softmax']}).")
    if msp["AUROC"] < 0.5:
        lines.append("  Below 0.5: the classifier is *more* confident on these OOD images than on CIFAR-10 test "
                     "images, so a confidence threshold keeps OOD and rejects ID.")
    gain = odin["AUROC"] - msp["AUROC"]
    lines.append(f"- ODIN at T = {best[0]:g}, ε = {best[1]:g} (chosen on the validation half): AUROC "
                 f"**{odin['AUROC']:.3f}**, FPR@95 {odin['FPR@95']:.3f}, {gain:+.3f} vs max softmax "
                 f"(seed: {SEED_FIGURES['ODIN']}), at {odin['relative cost']:.1f}x the cost of one forward pass.")
    for name in ("Energy score", "Max logit"):
        lines.append(f"- {name}: AUROC {by[name]['AUROC']:.3f}, FPR@95 {by[name]['FPR@95']:.3f}.")
    if "Autoencoder" in by:
        ae = by["Autoencoder"]
        lines.append(f"- Autoencoder reconstruction error: AUROC **{ae['AUROC']:.3f}**, FPR@95 {ae['FPR@95']:.3f} "
                     f"(seed: {SEED_FIGURES['Autoencoder']}); it never looks at the classifier, so it flags inputs "
                     f"unlike CIFAR-10 pixels (noise, flat MNIST digits) rather than unknown classes.")
    else:
        lines.append("- Autoencoder: not trained yet (button above, or `python -m labs odin --train-autoencoder`).")
    best_row = max(rows, key=lambda r: r["AUROC"])
    lines.append(f"- Best here: **{best_row['detector']}** ({best_row['AUROC']:.3f}). Differences from the paper come "
                 f"from the network (a 0.16M-parameter ResNet trained for minutes vs DenseNet-BC), the test-half size "
                 f"and the OOD set; noise detection in particular depends on how the classifier extrapolates.")
    return "\n".join(lines)
