"""ODIN equals a hand computation; eps = 0 is temperature-scaled max softmax; every detector separates an easy pair;
autoencoder checkpoints (old and new JSON) load through the common checkpoint code."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from labs.core.checkpoints import save_checkpoint
from labs.core.errors import LabsError
from labs.core.metrics import auroc
from labs.core.models import build_model
from labs.ood import DETECTORS, odin_score
from labs.ood import experiment as ex
from labs.ood.detectors import energy_from_logits, msp_from_logits, reconstruction_score

COMMITTED = Path(__file__).resolve().parents[1] / "checkpoints"


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is faster than two fighting over a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _linear_model(W, b):
    lin = nn.Linear(W.shape[1], W.shape[0])
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(W, dtype=torch.float32))
        lin.bias.copy_(torch.tensor(b, dtype=torch.float32))
    return nn.Sequential(nn.Flatten(), lin)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("T,eps", [(1.0, 0.002), (10.0, 0.004), (1000.0, 0.01)])
def test_odin_equals_hand_computation(T, eps):
    W = np.array([[1.0, -2.0], [0.5, 1.5], [-1.0, 0.25]])
    b = np.array([0.1, -0.2, 0.05])
    x = np.array([[0.3, -0.7], [1.2, 0.4], [-0.5, -0.1]])  # 3 inputs, 2 channels of 1x1 pixels
    std = (0.25, 0.5)
    model = _linear_model(W, b)
    z = x @ W.T + b
    p = _softmax(z / T)
    onehot = np.eye(3)[z.argmax(1)]
    grad = (p - onehot) @ W / T             # d CE(z/T, argmax) / dx for a linear model
    x_new = x - eps * np.sign(grad) / np.array(std)
    expected = _softmax((x_new @ W.T + b) / T).max(1)
    # the paper's scale: eps in pixel units, a step of eps / std on the normalised input
    got = odin_score(model, torch.tensor(x, dtype=torch.float32).view(3, 2, 1, 1), T, eps, std=std, eps_scale="paper")
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)
    # the seed's scale (the default, with or without std): eps is added to the normalised input itself
    x_seed = x - eps * np.sign(grad)
    seed_expected = _softmax((x_seed @ W.T + b) / T).max(1)
    for kwargs in ({}, {"std": std}, {"eps_scale": "seed"}):
        got_seed = odin_score(model, torch.tensor(x, dtype=torch.float32).view(3, 2, 1, 1), T, eps, **kwargs)
        np.testing.assert_allclose(got_seed.numpy(), seed_expected, rtol=1e-5)
    with pytest.raises(LabsError, match="needs the std"):
        odin_score(model, torch.tensor(x, dtype=torch.float32).view(3, 2, 1, 1), T, eps, eps_scale="paper")
    assert (got.numpy() >= _softmax(z / T).max(1) - 1e-6).all()  # moving against the gradient raises the score


def test_eps_zero_is_temperature_scaled_max_softmax_and_model_untouched():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 6 * 6, 5)).train()
    x = torch.randn(7, 3, 8, 8)
    model.eval()
    with torch.no_grad():
        logits = model(x)
    model.train()
    for T in (1.0, 3.0, 1000.0):
        expected = torch.softmax(logits / T, 1).max(1).values
        torch.testing.assert_close(odin_score(model, x, T, 0.0), expected)
        torch.testing.assert_close(msp_from_logits(logits, T), expected)
    odin_score(model, x, 10.0, 0.002, std=(0.2, 0.3, 0.4))
    assert model.training and all(p.grad is None for p in model.parameters())  # mode restored, no weight grads
    torch.testing.assert_close(energy_from_logits(logits, 1.0), torch.logsumexp(logits, 1))


@pytest.mark.parametrize("T,eps,bad", [(0.0, 0.0, "temperature"), (-1.0, 0.001, "temperature"),
                                       (float("nan"), 0.0, "temperature"), (1e-300, 0.0, "temperature"),
                                       (1.0, -0.001, "epsilon"), (1.0, 5.0, "epsilon"), (1e9, 0.0, "temperature")])
def test_bad_parameters_raise_the_one_message_format(T, eps, bad):
    with pytest.raises(LabsError, match=f"^invalid {bad}: expected a number in \\["):
        odin_score(_linear_model(np.eye(2), np.zeros(2)), torch.zeros(1, 2, 1, 1), T, eps)


def _easy_pair():
    """ID: two class templates + small noise; OOD: low-amplitude structureless noise."""
    g = torch.Generator().manual_seed(0)
    templates = torch.stack([torch.linspace(-1, 1, 8).repeat(3, 8, 1), -torch.linspace(-1, 1, 8).repeat(3, 8, 1)])
    y = torch.arange(200) % 2
    x_id = 1.5 * templates[y] + 0.05 * torch.randn(200, 3, 8, 8, generator=g)
    x_ood = 0.3 * torch.randn(200, 3, 8, 8, generator=g)
    return x_id, y, x_ood


@pytest.fixture(scope="module")
def easy_nets():
    """A linear classifier and a small autoencoder, both trained on the ID side of the easy pair."""
    x_id, y, _ = _easy_pair()
    torch.manual_seed(0)
    clf = nn.Sequential(nn.Flatten(), nn.Linear(192, 2))
    opt = torch.optim.Adam(clf.parameters(), lr=0.01)
    for _ in range(30):
        opt.zero_grad()
        nn.functional.cross_entropy(clf(x_id), y).backward()
        opt.step()
    ae = build_model("conv_autoencoder", in_channels=3, widths=(8, 16), code=4)
    opt = torch.optim.Adam(ae.parameters(), lr=0.02)
    for _ in range(40):
        opt.zero_grad()
        (ae(x_id) - x_id).pow(2).mean().backward()
        opt.step()
    return clf, ae


@pytest.mark.parametrize("name", list(DETECTORS))
def test_every_detector_separates_an_easy_pair(name, easy_nets):
    x_id, _, x_ood = _easy_pair()
    clf, ae = easy_nets
    det = DETECTORS[name]
    net = ae if det.network == "autoencoder" else clf
    params = {h: v for h, v in {"temperature": 10.0, "epsilon": 0.002}.items() if h in det.space}
    s_id, s_ood = det.score(net, x_id, std=(0.5, 0.5, 0.5), **params), det.score(net, x_ood, std=(0.5, 0.5, 0.5),
                                                                                  **params)
    assert s_id.shape == (200,) and s_ood.shape == (200,)
    assert torch.isfinite(s_id).all() and torch.isfinite(s_ood).all()
    assert auroc(s_id, s_ood) > 0.9
    if det.from_logits is not None:
        with torch.no_grad():
            torch.testing.assert_close(det.from_logits(clf(x_id), **params), det.score(clf, x_id, **params))


def test_autoencoder_checkpoints_load_through_the_common_code(tmp_path, easy_nets):
    _, ae = easy_nets
    x_id, _, x_ood = _easy_pair()
    margs = {"in_channels": 3, "widths": [8, 16], "code": 4}
    save_checkpoint(tmp_path / "ae", ae, "conv_autoencoder", margs, dataset="toy",
                    normalization={"mean": [0.5] * 3, "std": [0.25] * 3})
    loaded = ex.load_autoencoder(tmp_path / "ae", "toy")
    assert loaded.normalization == {"mean": [0.5] * 3, "std": [0.25] * 3} and loaded.tag.startswith(str(tmp_path))
    torch.testing.assert_close(reconstruction_score(loaded.model, x_ood), reconstruction_score(ae, x_ood))
    with pytest.raises(LabsError, match="trained on 'toy', not 'cifar10'"):
        ex.load_autoencoder(tmp_path / "ae", "cifar10")
    (tmp_path / "ae.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(LabsError, match="not a readable"):
        ex.load_autoencoder(tmp_path / "ae", "toy")
    with pytest.raises(LabsError, match="missing"):
        ex.load_autoencoder(tmp_path / "nothing", "toy")
    # an autoencoder saved before the recipe existed (its own JSON: no data, seed, curves or command) still loads
    old_args = {"in_channels": 3, "widths": [8, 16], "code": 4}
    save_checkpoint(tmp_path / "old", ae, "conv_autoencoder", old_args)
    norm = {"mean": [0.4914, 0.4822, 0.4465], "std": [0.2470, 0.2435, 0.2616]}
    (tmp_path / "old.json").write_text(json.dumps({
        "model": "conv_autoencoder", "model_args": old_args, "code_version": "0.1.0", "num_parameters": 5000,
        "dataset": "cifar10", "normalization": norm, "metrics": {"test_mse": 0.0389, "steps": 468, "seconds": 146.5},
        "config": {"epochs": 3, "train_images": 20000, "batch_size": 128, "lr": 0.002, "seed": 0, "log_every": 20}}))
    old = ex.load_autoencoder(tmp_path / "old", "cifar10")
    assert old.normalization == norm
    torch.testing.assert_close(reconstruction_score(old.model, x_ood), reconstruction_score(ae, x_ood))
    committed = ex.load_autoencoder(COMMITTED / "autoencoder_cifar10", "cifar10")  # the reference one loads too
    assert reconstruction_score(committed.model, torch.zeros(2, 3, 32, 32)).shape == (2,)
