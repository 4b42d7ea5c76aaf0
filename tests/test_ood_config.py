"""Every constraint of the ODIN configs gives the one message format, through params.build and the CLI;
the quick trainings' knobs are the recipes' own values; the default grid is the detectors' declared space."""

import pytest

from labs.__main__ import main
from labs.core import params
from labs.core.errors import LabsError
from labs.ood.cli import BATCHES
from labs.ood.config import (AutoencoderConfig, GridConfig, LiveConfig, QuickClassifierConfig, autoencoder_seconds,
                             quick_classifier_seconds)
from labs.ood.detectors import DETECTORS
from param_cases import bad_values

CONFIGS = (LiveConfig, GridConfig, QuickClassifierConfig, AutoencoderConfig)


CASES = [(cls, name, c, bad) for cls in CONFIGS for name, c in cls.CONSTRAINTS.items() for bad in bad_values(c)]


@pytest.mark.parametrize("cls,name,constraint,bad", CASES,
                         ids=[f"{cls.__name__}.{name}={bad!r:.20}" for cls, name, _, bad in CASES])
def test_every_constraint_gives_the_one_message_format(cls, name, constraint, bad):
    with pytest.raises(LabsError) as err:
        params.build(cls, **{name: bad})
    assert str(err.value) == params.message(name, constraint, bad)
    assert str(err.value).startswith(f"invalid {name.replace('_', ' ')}: expected {constraint.describe()}, got ")


def test_cross_field_rule_and_conversions():
    with pytest.raises(LabsError, match=r"^invalid grid: expected at most 64 \(temperature, epsilon\) pairs, got 72$"):
        params.build(GridConfig, temperatures="1,2,3,4,5,6,7,8,9", epsilons="0,.001,.002,.003,.004,.005,.006,.007")
    cfg = params.build(GridConfig, temperatures=" 1, 10;100,10 ", epsilons=[0, "0.002"], images_per_side=40.0)
    assert cfg.temperatures == (1.0, 10.0, 100.0) and cfg.epsilons == (0.0, 0.002) and cfg.images_per_side == 40
    live = params.build(LiveConfig, checkpoint=" resnet77 ", temperature="1e3", extras=["energy"])
    assert live.checkpoint == "resnet77" and live.temperature == 1000.0 and live.extras == ("energy",)


def test_the_default_grid_is_the_declared_space_and_the_knobs_are_the_recipes():
    from labs.core.recipes import recipe

    grid = GridConfig()
    assert DETECTORS["odin"].space == {"temperature": grid.temperatures, "epsilon": grid.epsilons, "eps_scale": ("seed",)}
    assert grid.space() == DETECTORS["odin"].space
    assert grid.temperatures == (1.0, 10.0, 100.0) and grid.epsilons == (0.0, 0.001, 0.002, 0.004)  # the seed's
    for cfg, name in ((QuickClassifierConfig(), "resnet77_cifar10_quick"),
                      (AutoencoderConfig(), "autoencoder_cifar10")):
        r = recipe(name)
        assert (cfg.train_images, cfg.epochs) == (r["n_train"], r["train"].epochs), name
    # ResNet[7,7] at ~600 img/s on 2 CPU cores (labs.core.eta): 2 x 10,000 images in about half a minute
    assert 20000 / 600 < quick_classifier_seconds(QuickClassifierConfig()) < 1.2 * 20000 / 600
    assert autoencoder_seconds(AutoencoderConfig()) < quick_classifier_seconds(QuickClassifierConfig())
    assert quick_classifier_seconds(QuickClassifierConfig(), "cuda") < 10


# (flags, field, constraint) for every constraint the `odin` command takes
CLI_CASES = [
    (["--ood", "lsun"], "ood_set", GridConfig.CONSTRAINTS["ood_set"], "lsun"),
    (["--n", "1"], "images_per_side", GridConfig.CONSTRAINTS["images_per_side"], 1),
    (["--n", "10001"], "images_per_side", GridConfig.CONSTRAINTS["images_per_side"], 10001),
    (["--model_path", "x" * 201], "checkpoint", GridConfig.CONSTRAINTS["checkpoint"], "x" * 201),
    (["--temperatures", "0,1"], "temperatures", GridConfig.CONSTRAINTS["temperatures"], "0,1"),
    (["--epsilons", "2"], "epsilons", GridConfig.CONSTRAINTS["epsilons"], "2"),
    (["--max_batches", "0"], "max_batches", BATCHES, 0),
    (["--batch_size", "0"], "batch_size", BATCHES, 0),
    (["--ae-epochs", "0"], "epochs", AutoencoderConfig.CONSTRAINTS["epochs"], 0),
    (["--ae-images", "10"], "train_images", AutoencoderConfig.CONSTRAINTS["train_images"], 10),
]


@pytest.mark.parametrize("flags,name,constraint,bad", CLI_CASES, ids=[c[1] + "=" + c[0][1][:10] for c in CLI_CASES])
def test_the_cli_refuses_a_bad_value_in_one_line(flags, name, constraint, bad, capsys):
    assert main(["odin", *flags]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: {params.message(name, constraint, bad)}"]
