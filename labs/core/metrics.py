"""Classification and out-of-distribution detection metrics, in numpy.

OOD convention: a detector's score is HIGHER for inputs it believes are MORE
in-distribution, and in-distribution (ID) is the POSITIVE class in every metric.
So TPR = fraction of ID images kept, FPR = fraction of OOD images wrongly kept.

Ties follow scikit-learn exactly (the tests compare on scores with many ties): the
ROC has one point per distinct score, so tied ID/OOD pairs count one half in AUROC
(roc_auc_score), and average precision steps once per distinct score
(average_precision_score).
"""

from __future__ import annotations

import numpy as np


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64).ravel()


def accuracy(logits_or_pred, labels) -> float:
    """Fraction correct; takes (N, K) logits or (N,) predicted labels."""
    p = logits_or_pred.detach().cpu().numpy() if hasattr(logits_or_pred, "detach") else np.asarray(logits_or_pred)
    y = labels.detach().cpu().numpy() if hasattr(labels, "detach") else np.asarray(labels)
    if p.ndim == 2:
        p = p.argmax(1)
    return float((p == y).mean()) if len(y) else float("nan")


def _counts(scores_id, scores_ood, id_positive: bool = True):
    """Cumulative (true positives, false positives, thresholds) at each distinct score, descending.

    With id_positive=False the OOD images are the positives and the score is negated,
    which is how AUPR-out is defined.
    """
    s_id, s_ood = _np(scores_id), _np(scores_ood)
    if not len(s_id) or not len(s_ood):
        raise ValueError("both the in-distribution and the OOD scores need at least one value")
    if not id_positive:
        s_id, s_ood = -s_ood, -s_id
    scores = np.concatenate([s_id, s_ood])
    positive = np.concatenate([np.ones(len(s_id)), np.zeros(len(s_ood))])
    order = np.argsort(-scores, kind="mergesort")
    scores, positive = scores[order], positive[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]  # one ROC point per distinct score
    tps = np.cumsum(positive)[last_of_tie]
    fps = (last_of_tie + 1) - tps
    return tps, fps, scores[last_of_tie]


def roc_curve(scores_id, scores_ood) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds), starting at (0, 0) with threshold +inf; 'ID' = score >= threshold."""
    tps, fps, thr = _counts(scores_id, scores_ood)
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return fpr, tpr, np.r_[np.inf, thr]


def auroc(scores_id, scores_ood) -> float:
    """Area under the ROC curve (trapezoids: equals roc_auc_score, ties count 1/2)."""
    fpr, tpr, _ = roc_curve(scores_id, scores_ood)
    return float(np.trapezoid(tpr, fpr))


def threshold_at_tpr(scores_id, scores_ood, tpr_level: float = 0.95) -> float:
    """The highest threshold that keeps at least `tpr_level` of the ID images (score >= threshold)."""
    fpr, tpr, thr = roc_curve(scores_id, scores_ood)
    return float(thr[int(np.searchsorted(tpr, tpr_level - 1e-12, side="left"))])


def fpr_at_tpr(scores_id, scores_ood, tpr_level: float = 0.95) -> float:
    """FPR at the first ROC point whose TPR reaches `tpr_level` (FPR@95 for 0.95)."""
    fpr, tpr, _ = roc_curve(scores_id, scores_ood)
    return float(fpr[int(np.searchsorted(tpr, tpr_level - 1e-12, side="left"))])


def _average_precision(tps, fps) -> float:
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def aupr_in(scores_id, scores_ood) -> float:
    """Average precision with ID as positive and the score as is (= average_precision_score)."""
    return _average_precision(*_counts(scores_id, scores_ood)[:2])


def aupr_out(scores_id, scores_ood) -> float:
    """Average precision with OOD as positive and the score negated."""
    return _average_precision(*_counts(scores_id, scores_ood, id_positive=False)[:2])


def detection_error(scores_id, scores_ood) -> float:
    """min over thresholds of 0.5 (1 - TPR) + 0.5 FPR (the ODIN paper's; equal ID/OOD priors)."""
    fpr, tpr, _ = roc_curve(scores_id, scores_ood)
    return float(np.min(0.5 * (1.0 - tpr) + 0.5 * fpr))


OOD_METRICS = {  # name -> (function, higher is better)
    "AUROC": (auroc, True),
    "FPR@95": (fpr_at_tpr, False),
    "AUPR-in": (aupr_in, True),
    "AUPR-out": (aupr_out, True),
    "Detection error": (detection_error, False),
}


def ood_summary(scores_id, scores_ood) -> dict[str, float]:
    """Every metric in OOD_METRICS, plus the 95%-TPR threshold."""
    out = {name: fn(scores_id, scores_ood) for name, (fn, _) in OOD_METRICS.items()}
    out["threshold@95"] = threshold_at_tpr(scores_id, scores_ood)
    return out
