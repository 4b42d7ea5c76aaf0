"""Score caches, streaming, the validation/test protocol, OOD set definitions and bad input."""

import numpy as np
import pytest
import torch

from labs.core.checkpoints import save_checkpoint
from labs.core.data import Dataset, load_dataset
from labs.core.errors import LabsError
from labs.core.models import build_model
from labs.ood import experiment as ex
from labs.ood import protocol
from labs.ood import oodsets


def make_digits_checkpoint(folder, name="tiny_digits"):
    """An untrained tiny ResNet for the embedded digits: the mechanics need no accuracy."""
    data = load_dataset("digits")
    args = {"depth": [1, 1], "widths": [4, 8], "num_classes": 10, "in_channels": 1, "image_size": 8}
    torch.manual_seed(0)
    return save_checkpoint(folder / name, build_model("resnet", **args), "resnet", args, dataset="digits",
                           num_classes=10, normalization={"mean": list(data.mean), "std": list(data.std)})


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_digits_checkpoint(tmp_path_factory.mktemp("odin"))


def _count_forwards(exp):
    calls = []
    exp.model.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    return calls


def test_caches_and_streaming(ckpt, monkeypatch):
    ex.clear_cache()
    exp = ex.get_experiment(ckpt, "uniform", 100, dataset="digits")
    again = ex.get_experiment(ckpt, "uniform", 100, dataset="digits")
    assert again.sides[0] is exp.sides[0] and again.sides[1] is exp.sides[1]
    calls = _count_forwards(exp)
    logits = ex.clean_logits(exp)
    assert logits.shape == (200, 10) and sum(calls) == 200
    calls.clear()
    for T in (1.0, 7.0, 1000.0):  # eps = 0 at any T: from the cached logits, no forward pass
        scores = ex.odin_scores(exp, T, 0.0)
        np.testing.assert_allclose(scores, torch.softmax(logits / T, 1).max(1).values.numpy(), rtol=1e-6)
    assert calls == []
    grads = []
    real = ex.gradient_sign
    monkeypatch.setattr(ex, "gradient_sign", lambda *a, **k: grads.append(1) or real(*a, **k))
    stream = list(ex.odin_stream(exp, 10.0, 0.002))
    done = [d for _, d in stream]
    assert done[0] == 2 * ex.FIRST_BATCH and done[-1] == 200 and len(done) > 1  # refines batch by batch
    assert np.isfinite(stream[-1][0]).all()
    first = stream[0][0]
    assert np.isfinite(first).sum() == 2 * ex.FIRST_BATCH
    assert np.isfinite(first[:ex.FIRST_BATCH]).all() and np.isfinite(first[100:100 + ex.FIRST_BATCH]).all()
    n_grads, calls[:] = len(grads), []
    again = list(ex.odin_stream(exp, 10.0, 0.002))  # revisiting a pair: one yield, no work
    assert len(again) == 1 and calls == [] and len(grads) == n_grads
    ex.odin_scores(exp, 10.0, 0.004)  # new eps at a known T: one forward pass, no gradient
    assert len(grads) == n_grads and sum(calls) == 200
    # the stream equals the direct odin_score on the same inputs
    from labs.ood import odin_score
    inputs = torch.cat([exp.inputs(side, slice(None)) for side in exp.sides])
    direct = odin_score(exp.model, inputs, 10.0, 0.002, std=exp.std)
    np.testing.assert_allclose(stream[-1][0], direct.numpy(), rtol=1e-5, atol=1e-6)


def test_id_side_is_shared_across_ood_sets(ckpt):
    ex.clear_cache()
    a = ex.get_experiment(ckpt, "uniform", 50, dataset="digits")
    ex.odin_scores(a, 5.0, 0.001)
    calls = _count_forwards(a)
    b = ex.get_experiment(ckpt, "gaussian", 50, dataset="digits")
    assert b.sides[0] is a.sides[0] and b.sides[1] is not a.sides[1]
    ex.odin_scores(b, 5.0, 0.001)
    assert sum(calls) == 2 * 50  # the OOD side only: its gradient pass + its perturbed pass


def test_stop_keeps_partial_work_and_resumes(ckpt):
    ex.clear_cache()
    exp = ex.get_experiment(ckpt, "gaussian", 300, dataset="digits")
    stop = __import__("threading").Event()
    for i, (scores, done) in enumerate(ex.odin_stream(exp, 2.0, 0.001, stop)):
        stop.set()
    assert i == 0 and done < 600
    calls = _count_forwards(exp)
    resumed = list(ex.odin_stream(exp, 2.0, 0.001))
    assert resumed[-1][1] == 600 and sum(calls) == 2 * (600 - done)  # only the missing rows: grad pass + forward


def test_grid_search_picks_on_validation_half(ckpt):
    ex.clear_cache()
    n = 40
    exp = ex.get_experiment(ckpt, "gaussian", n, dataset="digits")
    half = n // 2
    perfect = np.r_[np.ones(n), np.zeros(n)].astype(np.float32)
    # pair A: perfect on validation halves, inverted on test halves; pair B: the opposite
    a = perfect.copy(); a[half:n] = 0; a[n + half:] = 1
    b = perfect.copy(); b[:half] = 0.2; b[n:n + half] = 0.8
    for side, rows in zip(exp.sides, (slice(0, n), slice(n, 2 * n))):
        side.odin[(1.0, 0.001)] = [a[rows], 0.0]
        side.odin[(1.0, 0.002)] = [b[rows], 0.0]
        side.signs[1.0] = [None, None, 0.0]
    recs = list(protocol.grid_search(exp, [1.0], [0.001, 0.002]))
    end = recs[-1]
    assert [r["kind"] for r in recs] == ["pair", "pair", "end"]
    assert (end["best"]["T"], end["best"]["epsilon"]) == (1.0, 0.001)
    assert end["best"]["val"]["AUROC"] == 1.0 and end["best"]["test"]["AUROC"] == 0.0  # reported on the test half
    assert end["best"]["test"]["n_id"] == half and end["best"]["test"]["n_ood"] == half
    assert protocol.parse_grid("1, 10,100", "temperatures") == (1.0, 10.0, 100.0)
    for bad, what in (("1,x", "temperatures"), ("", "epsilons"), ("0", "temperatures"), ("-0.1", "epsilons")):
        with pytest.raises(LabsError):
            protocol.parse_grid(bad, what)


def test_comparison_rows(ckpt):
    ex.clear_cache()
    exp = ex.get_experiment(ckpt, "uniform", 50, dataset="digits")
    rows = protocol.comparison(exp, (10.0, 0.001))
    assert [r["detector"] for r in rows] == ["ODIN", "Max softmax", "Energy score", "Max logit"]
    assert rows[1]["relative cost"] == pytest.approx(1.0) and rows[0]["relative cost"] > 1.0
    for r in rows:
        assert 0 <= r["AUROC"] <= 1 and 0 <= r["FPR@95"] <= 1 and len(r["scores"]) == 100


def test_bad_input(ckpt, tmp_path):
    with pytest.raises(LabsError, match="at most 360"):
        ex.get_experiment(ckpt, "uniform", 361, dataset="digits")
    with pytest.raises(LabsError, match="whole number >= 2"):
        ex.get_experiment(ckpt, "uniform", 1, dataset="digits")
    with pytest.raises(LabsError, match="unknown OOD set"):
        ex.get_experiment(ckpt, "lsun", 10, dataset="digits")
    with pytest.raises(LabsError, match="trained on 'digits'"):
        ex.get_experiment(ckpt, "uniform", 10, dataset="cifar10")
    with pytest.raises(LabsError, match="32x32 RGB"):
        ex.get_experiment(ckpt, "cifar100", 10, dataset="digits")
    with pytest.raises(LabsError, match="at most 10,000"):
        oodsets.load_ood("gaussian", 10001, (3, 32, 32))
    with pytest.raises(LabsError, match="missing"):
        ex.get_experiment(tmp_path / "nope.safetensors", "uniform", 10, dataset="digits")
    broken = make_digits_checkpoint(tmp_path, "broken")
    broken.write_bytes(b"\x00" * 64)
    with pytest.raises(LabsError, match="not a readable"):
        ex.get_experiment(broken, "uniform", 10, dataset="digits")
    other = tmp_path / "other"
    args = {"depth": [1, 1], "widths": [4, 8], "num_classes": 7, "in_channels": 1, "image_size": 8}
    save_checkpoint(other, build_model("resnet", **args), "resnet", args, dataset="digits", num_classes=7)
    with pytest.raises(LabsError, match="7 outputs"):
        ex.get_experiment(other, "uniform", 10, dataset="digits")


def test_noise_sets_are_defined_in_pixel_space():
    g = oodsets.load_ood("gaussian", 200, (3, 32, 32)).float() / 255
    u = oodsets.load_ood("uniform", 200, (3, 32, 32)).float() / 255
    assert g.shape == (200, 32, 32, 3) and g.min() == 0 and g.max() == 1
    # N(0.5, 1) clipped: P(v <= 0) = P(v >= 1) = Phi(-0.5) = 0.3085
    assert (g == 0).float().mean().item() == pytest.approx(0.3085, abs=0.01)
    assert (g == 1).float().mean().item() == pytest.approx(0.3085, abs=0.01)
    assert u.mean().item() == pytest.approx(0.5, abs=0.01) and u.var().item() == pytest.approx(1 / 12, abs=0.003)
    assert torch.equal(oodsets.load_ood("uniform", 5, (3, 32, 32)), (u[:5] * 255).round().to(torch.uint8))
    assert oodsets.load_ood("gaussian", 3, (1, 8, 8)).shape == (3, 8, 8, 1)


def test_mnist_is_padded_rgb_and_coco_reads_its_npz(monkeypatch, tmp_path):
    x = torch.randint(1, 256, (4, 28, 28, 1), dtype=torch.uint8)
    fake = Dataset("mnist", x, torch.zeros(4, dtype=torch.long), x, torch.zeros(4, dtype=torch.long),
                   [str(i) for i in range(10)])
    monkeypatch.setattr(oodsets, "load_dataset", lambda name, download=False: fake)
    m = oodsets.load_ood("mnist", 4, (3, 32, 32))
    assert m.shape == (4, 32, 32, 3) and m[:, :2].sum() == 0 and m[:, :, -2:].sum() == 0
    assert torch.equal(m[:, 2:30, 2:30, 1], x[..., 0]) and torch.equal(m[..., 0], m[..., 2])
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(oodsets, "_COCO", [])
    with pytest.raises(LabsError, match="ood_coco32.npz is missing"):
        oodsets.load_ood("coco", 3, (3, 32, 32))
    a, b = np.full((2, 32, 32, 3), 7, np.uint8), np.full((3, 32, 32, 3), 9, np.uint8)
    np.savez(tmp_path / "ood_coco32.npz", x_test=a, x_test_crop=b)
    c = oodsets.load_ood("coco", 4, (3, 32, 32))
    assert c.shape == (4, 32, 32, 3) and c[:2].eq(7).all() and c[2:].eq(9).all()
