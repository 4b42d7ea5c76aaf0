"""Lab 1's configs: every constraint refuses a bad value with the one message format, through
params.build and through the CLI; presets and the ETA."""

import subprocess
import sys
from pathlib import Path

import pytest

from labs.__main__ import main
from labs.core import eta, params
from labs.core.errors import LabsError
from labs.core.params import Boolean, Subset
from labs.residual.config import (SIZES, SWEEP_PRESETS, MLPCompareConfig, SweepConfig, estimate_sweep_seconds,
                                  mlp_config, sweep_config)
from param_cases import bad_values

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = [(cls, name) for cls in (MLPCompareConfig, SweepConfig) for name in cls.CONSTRAINTS]
CASES = [(cls, name, value) for cls, name in CONSTRAINTS for value in bad_values(cls.CONSTRAINTS[name])]
CLI_CASES = [(cls, name, value) for cls, name, value in CASES if not isinstance(cls.CONSTRAINTS[name], Boolean)]
CLI_WHICH = {MLPCompareConfig: "mlp", SweepConfig: "resnet"}
CLI_FLAG = {"architectures": "--archs"}  # the others: --field-name


def expected(name, constraint, value) -> str:
    return f"invalid {name.replace('_', ' ')}: expected {constraint.describe()}, got {value!r}"


def test_every_field_has_a_constraint():
    for cls in (MLPCompareConfig, SweepConfig):
        assert set(cls.CONSTRAINTS) == set(cls.__dataclass_fields__)


def _ids(cases):
    return [f"{c.__name__}.{n}={v!r}" for c, n, v in cases]


@pytest.mark.parametrize("cls, name, value", CASES, ids=_ids(CASES))
def test_build_refuses_a_bad_value_in_the_one_format(cls, name, value):
    constraint = cls.CONSTRAINTS[name]
    with pytest.raises(LabsError) as err:
        params.build(cls, **{name: value})
    assert str(err.value) == expected(name, constraint, value)
    with pytest.raises(LabsError, match=f"^invalid {name.replace('_', ' ')}: "):
        cls(**{name: value})  # direct construction is checked too


@pytest.mark.parametrize("cls, name, value", [
    (MLPCompareConfig, "epochs", 2.5), (SweepConfig, "sizes", ("Small", "Huge")), (SweepConfig, "sizes", ()),
    (SweepConfig, "architectures", ("ResNet", "ResNet")), (MLPCompareConfig, "dataset", None),
])
def test_build_refuses_the_other_edges(cls, name, value):
    with pytest.raises(LabsError) as err:
        params.build(cls, **{name: value})
    assert str(err.value) == expected(name, cls.CONSTRAINTS[name], value)


def test_build_converts_form_and_cli_values():
    cfg = params.build(SweepConfig, architectures="ResNet", sizes=["Small", "Large"], epochs=3.0, lr=" 0.05 ",
                       train_subset="0", augment="false", seed=2**32 - 1)
    assert (cfg.architectures, cfg.sizes, cfg.epochs, cfg.lr) == (("ResNet",), ("Small", "Large"), 3, 0.05)
    assert cfg.train_subset == 0 and cfg.augment is False and cfg.seed == 2**32 - 1


@pytest.mark.parametrize("cls, name, value", CLI_CASES, ids=_ids(CLI_CASES))
def test_cli_refuses_a_bad_value_with_exit_2_and_one_line(cls, name, value, capsys):
    constraint = cls.CONSTRAINTS[name]
    text = ",".join(value) if isinstance(constraint, Subset) else str(value)
    flag = CLI_FLAG.get(name, "--" + name.replace("_", "-"))
    assert main(["sweep", CLI_WHICH[cls], flag, text]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: invalid {name.replace('_', ' ')}: expected {constraint.describe()}, got '")


@pytest.mark.parametrize("name", ["architectures", "sizes"])
def test_cli_refuses_an_empty_selection(name, capsys):
    assert main(["sweep", "resnet", CLI_FLAG.get(name, "--" + name), ""]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {expected(name, SweepConfig.CONSTRAINTS[name], '')}"]


def test_the_cli_has_a_switch_for_every_boolean():
    # a --flag/--no-flag switch cannot carry a bad value; it must exist and reach the config
    from labs.__main__ import build_parser

    args = build_parser().parse_args(["sweep", "resnet", "--no-augment"])
    assert args.augment is False
    booleans = [n for c, n in CONSTRAINTS if isinstance(c.CONSTRAINTS[n], Boolean)]
    assert booleans == ["augment"]


def test_cli_unknown_preset_and_size_exit_2_in_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "labs", "sweep", "resnet", "--sizes", "small,huge", "--dry-run"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: invalid sizes: expected a non-empty selection from Small, Medium, Large, got 'Small,Huge'"]
    proc = subprocess.run([sys.executable, "-m", "labs", "sweep", "mlp", "--preset", "huge"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["error: invalid preset: expected one of quick, full, got 'huge'"]


def test_presets_are_plain_dicts_over_the_fields():
    assert sweep_config("full") == SweepConfig(**SWEEP_PRESETS["full"])
    assert sweep_config("full", epochs="3").epochs == 3 and sweep_config("full").epochs == 15
    assert mlp_config("full").epochs == 10 and mlp_config("quick") == MLPCompareConfig()
    # an optimiser given without a learning rate gets its own default; with one, the one given
    assert mlp_config("quick", optimizer="SGD").lr == 0.05 and mlp_config("quick", optimizer="sgd").optimizer == "sgd"
    assert mlp_config("quick", optimizer="sgd", lr="0.01").lr == 0.01


def test_sweep_eta_follows_the_shared_throughput_model():
    cfg = sweep_config("quick", architectures=("ResNet",), sizes=("Large",))
    blocks = eta.resnet_blocks(SIZES["Large"])
    assert blocks == 15
    assert (cfg.train_subset, cfg.epochs, cfg.test_subset) == (10_000, 3, 2000)
    want = eta.train_seconds(blocks, 10_000 * 3) + eta.infer_seconds(blocks, 2000 * 3)
    assert estimate_sweep_seconds(cfg) == pytest.approx(want)
    assert estimate_sweep_seconds(cfg, "cuda") < estimate_sweep_seconds(cfg) / 10
    full = sweep_config("quick", architectures=("ResNet", "PlainCNN"), sizes=("Large",))
    assert estimate_sweep_seconds(full) == pytest.approx(2 * want)
    # ResNet[7,7] trains at the model's rate: 20,000 images at ~600 img/s on 2 CPU cores
    assert eta.train_seconds(blocks, 20_000) == pytest.approx(20_000 / 600)
