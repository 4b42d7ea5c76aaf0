"""labs.core.metrics against scikit-learn, on random scores with many ties, and by hand."""

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from labs.core import metrics as M


def _random_case(rng, trial):
    n_id, n_ood = rng.integers(1, 60, size=2)
    s_id = rng.integers(0, 5, size=n_id).astype(float)  # 5 distinct values: ties within and across sides
    s_ood = rng.integers(0, 5, size=n_ood).astype(float) - (trial % 3)
    if trial % 4 == 0:
        s_id = s_id + rng.normal(size=n_id)  # no ties on the ID side
    return s_id, s_ood


def test_metrics_equal_sklearn_with_ties():
    rng = np.random.default_rng(0)
    for trial in range(300):
        s_id, s_ood = _random_case(rng, trial)
        y = np.r_[np.ones(len(s_id)), np.zeros(len(s_ood))]
        s = np.r_[s_id, s_ood]
        assert M.auroc(s_id, s_ood) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert M.aupr_in(s_id, s_ood) == pytest.approx(average_precision_score(y, s), abs=1e-12)
        assert M.aupr_out(s_id, s_ood) == pytest.approx(average_precision_score(1 - y, -s), abs=1e-12)
        fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
        f, t, th = M.roc_curve(s_id, s_ood)
        np.testing.assert_allclose(f, fpr)
        np.testing.assert_allclose(t, tpr)
        i = int(np.argmax(tpr >= 0.95))  # the first sklearn ROC point reaching 95% TPR
        assert M.fpr_at_tpr(s_id, s_ood) == pytest.approx(fpr[i])
        assert M.threshold_at_tpr(s_id, s_ood) == pytest.approx(thr[i])
        assert M.detection_error(s_id, s_ood) == pytest.approx(np.min(0.5 * (1 - tpr) + 0.5 * fpr))


def test_hand_computed_case():
    s_id, s_ood = [3.0, 2.0, 2.0, 1.0], [2.0, 0.0]
    # pairs: (3>2,3>0), (2=2,2>0)x2, (1<2,1>0) -> (2 + 2*1.5 + 1) / 8
    assert M.auroc(s_id, s_ood) == pytest.approx(6 / 8)
    # 95% TPR needs all 4 ID images (threshold 1.0): the OOD 2.0 is kept -> FPR 0.5
    assert M.fpr_at_tpr(s_id, s_ood) == 0.5
    assert M.threshold_at_tpr(s_id, s_ood) == 1.0
    # best threshold 2.0: TPR 3/4, FPR 1/2 -> 0.125 + 0.25; threshold 1.0: 0 + 0.25 -> 0.25
    assert M.detection_error(s_id, s_ood) == pytest.approx(0.25)
    assert M.auroc([1, 2], [3, 4]) == 0.0 and M.auroc([3, 4], [1, 2]) == 1.0
    assert M.auroc(torch.tensor([1.0, 1.0]), torch.tensor([1.0])) == 0.5


def test_summary_accuracy_and_empty():
    s = M.ood_summary([0.9, 0.8, 0.7], [0.1, 0.75])
    assert set(M.OOD_METRICS) <= set(s) and s["AUROC"] == pytest.approx(5 / 6)
    assert M.accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1])) == 0.5
    assert M.accuracy([0, 1, 1], [0, 1, 0]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        M.auroc([], [1.0])
