"""Shared by the transfer tests: tiny source checkpoints (ResNet[1,1], widths 16/32, on 8x8 grey digits),
the Transfer learning tab launched alone in a small gr.Blocks, and a bad value per constraint."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import serve_tab

from param_cases import bad_values


def tiny_checkpoint(folder: Path, name: str = "resnet11_digits", model: str = "resnet", **args) -> Path:
    """An untrained net saved like `python -m labs train` saves one (random features are enough here)."""
    from labs.core.checkpoints import save_checkpoint
    from labs.core.data import load_dataset
    from labs.core.engine import seed_everything
    from labs.core.models import build_model

    data = load_dataset("digits")
    margs = {"num_classes": 10, "in_channels": 1, "image_size": 8}
    if model == "resnet":
        margs |= {"depth": [1, 1], "widths": [16, 32]}
    margs |= args
    seed_everything(0)
    net = build_model(model, **margs)
    return save_checkpoint(folder / name, net, model, margs, dataset="cifar10", num_classes=10,
                           normalization={"mean": list(data.mean), "std": list(data.std)},
                           metrics={}, curves=[])


def constraint_cases(constraints: dict) -> list[tuple[str, object]]:
    """(field, bad value) for every constraint, as pytest parameters."""
    return [(name, bad) for name, c in constraints.items() for bad in bad_values(c)]


def assert_one_format(text: str, field: str, bad) -> None:
    """The one message format of labs.core.params: 'invalid FIELD: expected ..., got REPR'."""
    assert f"invalid {field.replace('_', ' ')}: expected " in text
    shown = repr(bad)
    assert (f", got {shown}" if len(shown) <= 60 else f", got {shown[:57]}...") in text


SOURCES = {"resnet11_digits": {}, "wide": {"widths": [16, 64]}, "mlp": {"model": "mlp", "depth": 3, "width": 8}}


def bars_legend(ours: str) -> list[str]:
    """The comparison chart's legend after a live run: ours, the seed's, and the reference run's when the app was
    built with one (results/transfer.json, or a transfer stage in progress): it stays in the chart for comparison."""
    from labs.transfer import reference
    from labs.transfer.config import SEED_LABEL

    record, _ = reference.load()
    return [ours, SEED_LABEL] + ([reference.label(record)] if record is not None else [])


@pytest.fixture(scope="module")
def transfer_sources(tmp_path_factory) -> Path:
    """A checkpoint folder with the tiny source (resnet11_digits), a ResNet of other widths and an MLP."""
    folder = tmp_path_factory.mktemp("transfer_sources")
    for name, args in SOURCES.items():
        tiny_checkpoint(folder, name, **args)
    return folder


@pytest.fixture(scope="module")
def transfer_app(transfer_sources):
    """The Transfer learning tab alone in a launched gr.Blocks, its checkpoint folder `transfer_sources` (the page
    picks sources by name from there: listed when the page is built and when it loads); yields its URL."""
    from labs.transfer import tab

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABS_CHECKPOINT_DIR", str(transfer_sources))
        with serve_tab(tab) as url:
            yield url
