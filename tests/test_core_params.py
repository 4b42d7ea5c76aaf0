"""Constraints as data: one validator, one message format, for the API and the CLI."""

import math

import pytest

from labs.core import params
from labs.core.engine import TrainConfig
from labs.core.errors import LabsError
from param_cases import bad_values


@pytest.mark.parametrize("field, bad", [(f, v) for f, c in TrainConfig.CONSTRAINTS.items() for v in bad_values(c)])
def test_every_train_config_constraint_refuses_a_bad_value_in_one_format(field, bad):
    with pytest.raises(LabsError) as err:
        params.build(TrainConfig, **{field: bad})
    text = str(err.value)
    assert text.startswith(f"invalid {field.replace('_', ' ')}: expected ")
    assert text.endswith(f", got {repr(bad)[:57]}" if len(repr(bad)) <= 60 else "...")
    with pytest.raises(LabsError, match=f"^invalid {field.replace('_', ' ')}: expected "):
        TrainConfig(**{field: bad})  # the API refuses it too, without build()


def test_form_values_are_converted_to_the_declared_types():
    cfg = params.build(TrainConfig, epochs=3.0, lr="0.1 ", augment="true", optimizer=" adam")
    assert cfg.epochs == 3 and isinstance(cfg.epochs, int) and cfg.lr == 0.1 and cfg.augment is True
    assert cfg.optimizer == "adam"
    with pytest.raises(LabsError, match=r"^invalid epochs: expected a whole number in \[1, 1000\], got 2.5$"):
        params.build(TrainConfig, epochs=2.5)
    with pytest.raises(LabsError, match=r"^invalid seed: .* got 1180591620717411303424$"):
        params.build(TrainConfig, seed=2 ** 70)
    with pytest.raises(LabsError, match="unknown setting"):
        params.build(TrainConfig, epochz=3)


def test_interval_descriptions():
    assert params.Interval(float, 0, 10, closed="right").describe() == "a number in (0, 10]"
    assert params.Interval(int, 0, None).describe() == "a whole number >= 0"
    assert params.Interval(float, None, 1, closed="neither").describe() == "a number < 1"
    assert not params.Interval(float, 0, 1).is_valid(math.inf)
    assert not params.Interval(int, 0, 5).is_valid(True)


def test_subset_accepts_a_comma_list_and_refuses_unknown_or_repeated_items():
    s = params.Subset(("a", "b", "c"))
    assert params.check_value("pick", s, "a, c") == ("a", "c")
    with pytest.raises(LabsError, match="^invalid pick: expected a non-empty selection from a, b, c, got"):
        params.check_value("pick", s, ["a", "a"])
    with pytest.raises(LabsError):
        params.check_value("pick", s, [])


@pytest.mark.parametrize("argv, field", [
    (["train", "--epochs", "0", "--dataset", "digits"], "epochs"),
    (["train", "--lr", "-1", "--dataset", "digits"], "lr"),
    (["train", "--optimizer", "lbfgs", "--dataset", "digits"], "optimizer"),
    (["train", "--threads", "-5", "--dataset", "digits"], "threads"),
    (["train", "--seed", str(2 ** 70), "--dataset", "digits"], "seed"),
    (["train", "--train-subset", "-1", "--dataset", "digits"], "train subset"),
])
def test_cli_train_refuses_bad_values_with_exit_2_and_one_line(argv, field, capsys):
    from labs.__main__ import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: invalid {field}: expected ")
