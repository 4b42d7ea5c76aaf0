"""Lab 1 on the real data sets (skipped, visibly, where they are not unpacked)."""

import pytest

from conftest import needs_real_data

pytestmark = needs_real_data


def test_residual_mlp16_learns_real_mnist_and_the_plain_one_lags():
    from labs.residual.config import mlp_config
    from labs.residual.experiment import run_mlp_comparison

    records = list(run_mlp_comparison(mlp_config("quick", epochs=1, train_subset=20_000, eval_every=0)))
    model = {r["run"]: r["model"] for r in records if r["kind"] == "start"}
    acc = {model[r["run"]]: r["final_test_acc"] for r in records if r["kind"] == "end"}
    assert acc["residual_mlp"] >= 0.94  # 10,000 real MNIST test images
    assert acc["residual_mlp"] > acc["mlp"] + 0.02


def test_cifar10_loads_with_the_reference_statistics():
    from labs.core.data import load_dataset

    ds = load_dataset("cifar10")
    assert ds.x_train.shape == (50_000, 32, 32, 3) and ds.x_test.shape == (10_000, 32, 32, 3)
    assert ds.mean == pytest.approx((0.4914, 0.4822, 0.4465), abs=1e-4)
    assert ds.std == pytest.approx((0.2470, 0.2435, 0.2616), abs=1e-4)
