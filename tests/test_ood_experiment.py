"""Score caches, streaming, the live view, OOD set definitions and bad input (on tiny checkpoints)."""

import threading

import numpy as np
import pytest
import torch

from labs.core import params
from labs.core.checkpoints import save_checkpoint
from labs.core.data import Dataset, load_dataset, save_npz
from labs.core.errors import LabsError
from labs.core.models import build_model
from labs.ood import experiment as ex
from labs.ood import oodsets
from labs.ood import scores as sc
from labs.ood.config import LiveConfig, ViewConfig


def make_digits_checkpoint(folder, name="tiny_digits", num_classes=10):
    """An untrained tiny ResNet for the embedded digits: the mechanics need no accuracy."""
    data = load_dataset("digits")
    args = {"depth": [1, 1], "widths": [4, 8], "num_classes": num_classes, "in_channels": 1, "image_size": 8}
    torch.manual_seed(0)
    return save_checkpoint(folder / name, build_model("resnet", **args), "resnet", args, dataset="digits",
                           num_classes=num_classes, normalization={"mean": list(data.mean), "std": list(data.std)})


def write_tiny_cifar10(folder, n_train=160, n_test=64):
    """Random 32x32 RGB images saved as `cifar10.npz` in `folder` (point LABS_DATA_DIR at it): the
    32x32 recipes (the autoencoder, the quick classifier) run on it in seconds."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n_train + n_test, 32, 32, 3), dtype=torch.uint8, generator=g)
    y = torch.arange(n_train + n_test) % 10
    save_npz(Dataset("cifar10", x[:n_train], y[:n_train], x[n_train:], y[n_train:], [str(i) for i in range(10)]),
             folder / "cifar10.npz")


def make_cifar_checkpoint(folder, name="tiny_cifar"):
    """An untrained tiny ResNet for (tiny) CIFAR-10 images."""
    data = load_dataset("cifar10")
    args = {"depth": [1, 1], "widths": [4, 8], "num_classes": 10, "in_channels": 3, "image_size": 32}
    torch.manual_seed(0)
    return save_checkpoint(folder / name, build_model("resnet", **args), "resnet", args, dataset="cifar10",
                           num_classes=10, normalization={"mean": list(data.mean), "std": list(data.std)})


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_digits_checkpoint(tmp_path_factory.mktemp("odin"))


def _count_forwards(exp):
    calls = []
    exp.model.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    return calls


def test_caches_and_streaming(ckpt, monkeypatch):
    sc.clear_cache()
    exp = sc.get_experiment(ckpt, "uniform", 100)
    again = sc.get_experiment(ckpt, "uniform", 100)
    assert again.sides[0] is exp.sides[0] and again.sides[1] is exp.sides[1]
    calls = _count_forwards(exp)
    logits = sc.clean_logits(exp)
    assert logits.shape == (200, 10) and sum(calls) == 200
    calls.clear()
    for T in (1.0, 7.0, 1000.0):  # eps = 0 at any T: from the cached logits, no forward pass
        scores = list(sc.odin_stream(exp, T, 0.0))[-1][0]
        np.testing.assert_allclose(scores, torch.softmax(logits / T, 1).max(1).values.numpy(), rtol=1e-6)
    assert calls == []
    grads = []
    real = sc.gradient_sign
    monkeypatch.setattr(sc, "gradient_sign", lambda *a, **k: grads.append(1) or real(*a, **k))
    stream = list(sc.odin_stream(exp, 10.0, 0.002))
    done = [d for _, d in stream]
    assert done[0] == 2 * sc.FIRST_BATCH and done[-1] == 200 and len(done) > 1  # refines batch by batch
    assert np.isfinite(stream[-1][0]).all()
    first = stream[0][0]
    assert np.isfinite(first).sum() == 2 * sc.FIRST_BATCH
    assert np.isfinite(first[:sc.FIRST_BATCH]).all() and np.isfinite(first[100:100 + sc.FIRST_BATCH]).all()
    n_grads, calls[:] = len(grads), []
    again = list(sc.odin_stream(exp, 10.0, 0.002))  # revisiting a pair: one yield, no work
    assert len(again) == 1 and calls == [] and len(grads) == n_grads
    list(sc.odin_stream(exp, 10.0, 0.004))  # new eps at a known T: one forward pass, no gradient
    assert len(grads) == n_grads and sum(calls) == 200
    # the stream equals the direct odin_score on the same inputs
    from labs.ood import odin_score
    inputs = torch.cat([exp.inputs(side, slice(None)) for side in exp.sides])
    direct = odin_score(exp.model, inputs, 10.0, 0.002, std=exp.std)
    np.testing.assert_allclose(stream[-1][0], direct.numpy(), rtol=1e-5, atol=1e-6)


def test_id_side_is_shared_across_ood_sets(ckpt):
    sc.clear_cache()
    a = sc.get_experiment(ckpt, "uniform", 50)
    list(sc.odin_stream(a, 5.0, 0.001))
    calls = _count_forwards(a)
    b = sc.get_experiment(ckpt, "gaussian", 50)
    assert b.sides[0] is a.sides[0] and b.sides[1] is not a.sides[1]
    list(sc.odin_stream(b, 5.0, 0.001))
    assert sum(calls) == 2 * 50  # the OOD side only: its gradient pass + its perturbed pass


def test_stop_keeps_partial_work_and_resumes(ckpt):
    sc.clear_cache()
    exp = sc.get_experiment(ckpt, "gaussian", 300)
    stop = threading.Event()
    for i, (scores, done) in enumerate(sc.odin_stream(exp, 2.0, 0.001, stop)):
        stop.set()
    assert i == 0 and done < 600
    calls = _count_forwards(exp)
    resumed = list(sc.odin_stream(exp, 2.0, 0.001))
    assert resumed[-1][1] == 600 and sum(calls) == 2 * (600 - done)  # only the missing rows: grad pass + forward


def test_live_view_streams_odin_against_the_baselines(ckpt, monkeypatch):
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(ckpt.parent))
    sc.clear_cache()
    cfg = params.build(LiveConfig, checkpoint="tiny_digits", ood_set="gaussian", images_per_side=100,
                       temperature=10, epsilon=0.002, extras=["energy", "max_logit"])
    recs = list(ex.live(cfg))
    assert len(recs) >= 2 and recs[0]["done"] == 2 * sc.FIRST_BATCH and recs[-1]["done"] == recs[-1]["total"] == 200
    odin = "ODIN (T=10, ε=0.002, seed's ε scale)"  # every label says which epsilon scale it uses
    assert list(recs[-1]["curves"]) == [odin, "Max softmax (T=1)", "Energy score", "Max logit"]
    sid, sood = recs[0]["curves"]["Max softmax (T=1)"]  # while streaming every curve uses the same rows
    assert len(sid) == len(sood) == sc.FIRST_BATCH
    exp = sc.get_experiment(ckpt, "gaussian", 100)
    expected = list(sc.odin_stream(exp, 10.0, 0.002))[-1][0]
    np.testing.assert_allclose(np.r_[recs[-1]["curves"][odin]], expected)
    paper = list(ex.live(params.replace(cfg, eps_scale="paper")))[-1]["curves"]
    assert "ODIN (T=10, ε=0.002, paper's ε scale (pixel units))" in paper  # another setting, computed anew
    assert not np.allclose(np.r_[paper["ODIN (T=10, ε=0.002, paper's ε scale (pixel units))"]], expected)
    stop = threading.Event()
    stop.set()
    assert [r["done"] for r in ex.live(params.replace(cfg, temperature=3), stop)] == []  # superseded: nothing


def test_checkpoint_folder_and_in_distribution_set_come_from_the_environment_and_the_json(ckpt, tmp_path,
                                                                                          monkeypatch):
    monkeypatch.setenv("LABS_CHECKPOINT_DIR", str(tmp_path))
    assert ex.checkpoint_choices() == [] and "No classifier" in ex.availability()
    make_digits_checkpoint(tmp_path, "resnet77_x")
    make_digits_checkpoint(tmp_path, "a_digits")
    assert ex.checkpoint_choices() == ["a_digits", "resnet77_x"] and ex.default_checkpoint() == "resnet77_x"
    assert ex.availability() == ""  # digits ship with scikit-learn
    exp = ex.open_experiment(ViewConfig(checkpoint="a_digits", ood_set="uniform", images_per_side=10))
    assert exp.meta["dataset"] == "digits" and exp.sides[0].x.shape == (10, 8, 8, 1)
    meta = (tmp_path / "svhn_model.json")
    meta.write_text((tmp_path / "a_digits.json").read_text().replace('"digits"', '"svhn"'))
    (tmp_path / "svhn_model.safetensors").write_bytes((tmp_path / "a_digits.safetensors").read_bytes())
    assert "SVHN (235 MB download) is not on this server yet." in ex.availability("svhn_model")  # never on this machine: the data message shows
    with pytest.raises(LabsError, match="no classifier selected"):
        ex.checkpoint_path("")


def test_bad_input(ckpt, tmp_path):
    with pytest.raises(LabsError, match="at most 360"):
        sc.get_experiment(ckpt, "uniform", 361)
    with pytest.raises(LabsError, match="invalid images per side: expected a whole number in \\[2, 10000\\]"):
        params.build(ViewConfig, images_per_side=1)
    with pytest.raises(LabsError, match="invalid ood set: expected one of gaussian"):
        params.build(ViewConfig, ood_set="lsun")
    with pytest.raises(LabsError, match="invalid checkpoint: expected a name from the list"):
        params.build(ViewConfig, checkpoint="../tiny_digits")
    with pytest.raises(LabsError, match="32x32 RGB"):
        sc.get_experiment(ckpt, "cifar100", 10)
    with pytest.raises(LabsError, match="at most 10,000"):
        oodsets.load_ood("gaussian", 10001, (3, 32, 32))
    with pytest.raises(LabsError, match="missing"):
        sc.get_experiment(tmp_path / "nope.safetensors", "uniform", 10)
    broken = make_digits_checkpoint(tmp_path, "broken")
    broken.write_bytes(b"\x00" * 64)
    with pytest.raises(LabsError, match="not a readable"):
        sc.get_experiment(broken, "uniform", 10)
    with pytest.raises(LabsError, match="7 outputs"):
        sc.get_experiment(make_digits_checkpoint(tmp_path, "other", num_classes=7), "uniform", 10)
    ae = build_model("conv_autoencoder", in_channels=1, widths=[4, 8], code=2)
    save_checkpoint(tmp_path / "ae", ae, "conv_autoencoder", {"in_channels": 1, "widths": [4, 8], "code": 2},
                    dataset="digits")
    with pytest.raises(LabsError, match="not a classifier"):
        sc.get_experiment(tmp_path / "ae", "uniform", 10)


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
    save_npz(Dataset("mnist", x, torch.zeros(4, dtype=torch.long), x, torch.zeros(4, dtype=torch.long),
                     [str(i) for i in range(10)]), tmp_path / "mnist.npz")
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))
    m = oodsets.load_ood("mnist", 4, (3, 32, 32))
    assert m.shape == (4, 32, 32, 3) and m[:, :2].sum() == 0 and m[:, :, -2:].sum() == 0
    assert torch.equal(m[:, 2:30, 2:30, 1], x[..., 0]) and torch.equal(m[..., 0], m[..., 2])
    with pytest.raises(LabsError, match="ood_coco32.npz is missing"):
        oodsets.load_ood("coco", 3, (3, 32, 32))
    a, b = np.full((2, 32, 32, 3), 7, np.uint8), np.full((3, 32, 32, 3), 9, np.uint8)
    np.savez(tmp_path / "ood_coco32.npz", x_test=a, x_test_crop=b)
    c = oodsets.load_ood("coco", 4, (3, 32, 32))
    assert c.shape == (4, 32, 32, 3) and c[:2].eq(7).all() and c[2:].eq(9).all()
