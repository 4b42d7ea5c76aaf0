"""Hostile values through the CLI and the Python API (issue 9, point 8): each gets one clear sentence; the CLI
prints exactly one stderr line and exits 2, never a traceback. Through the page: tests/test_hostile_ui.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from labs.__main__ import main
from labs.core.errors import LabsError
from transfer_fixtures import tiny_checkpoint

ROOT = Path(__file__).resolve().parents[1]
LONG = "a" * 5000
NO_GPU = not torch.cuda.is_available()


def quoted(message: str) -> str:
    """The message for a value that reached the config as text (the lab CLIs pass their flags as strings)."""
    head, value = message.rsplit(", got ", 1)
    return f"{head}, got {value!r}"


def run_cli(capsys, *argv) -> str:
    """main(argv) in this process: exit 2, exactly one stderr line 'error: ...' (returned without the prefix)."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0][len("error: "):]


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> Path:
    """Damaged copies of a tiny digits source checkpoint: the weights intact, the JSON hostile."""
    folder = tmp_path_factory.mktemp("hostile")
    good = json.loads(tiny_checkpoint(folder, "good").with_suffix(".json").read_text())
    norm = good["normalization"]
    variants = {
        "std0": json.dumps({**good, "normalization": {**norm, "std": [0.0]}}),
        "text_mean": json.dumps({**good, "normalization": {**norm, "mean": ["grey"]}}),
        "nan_std": json.dumps({**good, "normalization": {**norm, "std": [float("nan")]}}),
        "norm_list": json.dumps({**good, "normalization": [0.5, 0.2]}),
        "deep": "[" * 100_000 + "]" * 100_000,
        "deep_field": json.dumps(good)[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "array": "[1, 2, 3]",
    }
    for name, text in variants.items():
        (folder / f"{name}.safetensors").write_bytes((folder / "good.safetensors").read_bytes())
        (folder / f"{name}.json").write_text(text)
    return folder


JSON_CASES = {
    "std0": r"invalid normalization std in std0\.json: expected a list of 1 finite numbers > 0 .*, got \[0\.0\]",
    "text_mean": r"invalid normalization mean in text_mean\.json: expected a list of 1 finite numbers .*got \['grey'\]",
    "nan_std": r"invalid normalization std in nan_std\.json: expected .*finite numbers > 0.*got \[nan\]",
    "norm_list": r"invalid normalization in norm_list\.json: expected an object with 'mean' and 'std' lists, got list",
    "deep": r"deep\.json is nested too deeply to be a checkpoint's metadata",
    "deep_field": r"deep_field\.json is nested too deeply",
    "array": r"array\.json does not describe a known model \(needs a JSON object",
}


@pytest.mark.parametrize("name", list(JSON_CASES))
def test_hostile_checkpoint_json_through_the_api(bad, name):
    from labs.core.checkpoints import load_checkpoint, read_metadata
    from labs.transfer.source import load_source

    for load in (read_metadata, load_checkpoint, load_source):
        with pytest.raises(LabsError, match=JSON_CASES[name]) as err:
            load(bad / name)
        assert str(bad) not in str(err.value)  # the file's name, not the server's folder


@pytest.mark.parametrize("name", list(JSON_CASES))
def test_hostile_checkpoint_json_through_the_cli(bad, name, capsys):
    import re

    for argv in (["transfer", "--svm-only", "--checkpoint", bad / name, "--dataset", "digits", "--threads", 1,
                  "--svm-train-subset", 100, "--svm-test-subset", 50],
                 ["odin", "--model_path", bad / name, "--ood", "uniform", "--n", 20, "--temperatures", 1,
                  "--epsilons", 0]):
        assert re.search(JSON_CASES[name], run_cli(capsys, *argv))


def test_a_5000_character_path(capsys, tmp_path):
    assert "invalid out: expected a path of at most 4,095 bytes" in run_cli(capsys, "train", "--dry-run", "--out", LONG)
    assert "(5,000 characters)" in run_cli(capsys, "train", "--dry-run", "--out", LONG)
    assert run_cli(capsys, "transfer", "--checkpoint", LONG).startswith("invalid checkpoint: expected ")
    assert run_cli(capsys, "transfer", "--out", LONG, "--dry-run").startswith("invalid out: expected a path ")
    assert run_cli(capsys, "odin", "--model_path", LONG).startswith("invalid checkpoint: expected ")
    one_long_name = tmp_path / ("b" * 300)  # short enough for the Text rule, too long for the file system
    assert "whose every folder or file name is at most 255 bytes" in run_cli(
        capsys, "transfer", "--svm-only", "--dataset", "digits", "--checkpoint", one_long_name)
    with pytest.raises(LabsError, match="File name too long"):
        from labs.core.checkpoints import load_checkpoint

        load_checkpoint(one_long_name)


def test_a_5000_character_path_in_a_real_process_is_one_line_and_exit_2():
    out = subprocess.run([sys.executable, "-m", "labs", "train", "--dry-run", "--out", LONG], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: invalid out: expected a path")


SEED = "invalid seed: expected a whole number in [0, 4294967295], got 1180591620717411303424"


def test_a_seed_of_2_to_the_70(capsys):
    from labs.core import params
    from labs.core.train_config import TrainConfig
    from labs.residual.config import MLPCompareConfig, SweepConfig
    from labs.transfer.config import TransferConfig

    for cls in (TrainConfig, TransferConfig, SweepConfig, MLPCompareConfig):
        with pytest.raises(LabsError) as err:
            params.build(cls, seed=2**70)
        assert str(err.value) == SEED
    assert run_cli(capsys, "train", "--dry-run", "--seed", 2**70) == SEED
    assert run_cli(capsys, "transfer", "--dry-run", "--seed", 2**70) == quoted(SEED)  # the transfer CLI passes text
    assert run_cli(capsys, "sweep", "mlp", "--dry-run", "--seed", 2**70) in (SEED, quoted(SEED))


def test_odin_temperature_1e_minus_300(capsys):
    from labs.core import params
    from labs.ood.config import GridConfig, LiveConfig

    with pytest.raises(LabsError, match=r"^invalid temperature: expected a number in \[0\.001, 10000\], got 1e-300$"):
        params.build(LiveConfig, checkpoint="x", temperature=1e-300)
    with pytest.raises(LabsError, match=r"^invalid temperatures: expected .*each a number in \[0\.001, 10000\]"):
        params.build(GridConfig, checkpoint="x", temperatures="1,1e-300")
    assert run_cli(capsys, "odin", "--temperatures", "1e-300", "--dry-run").startswith(
        "invalid temperatures: expected 1 to 64 comma-separated numbers, each a number in [0.001, 10000]")


THREADS = "invalid threads: expected a whole number in [0, 1024], got -5"


def test_threads_minus_5(capsys):
    from labs.core.engine import set_threads

    with pytest.raises(LabsError) as err:
        set_threads(-5)
    assert str(err.value) == THREADS
    assert run_cli(capsys, "train", "--dry-run", "--threads", -5) == THREADS
    assert run_cli(capsys, "transfer", "--dry-run", "--threads", -5) == quoted(THREADS)


def test_device_bogus_and_cuda_without_a_gpu(capsys):
    from labs.core.engine import available_devices, pick_device

    have = ", ".join(available_devices())
    with pytest.raises(LabsError) as err:
        pick_device("bogus")
    assert str(err.value) == f"invalid device: expected one of {have}, got 'bogus'"
    for argv in (["train", "--dry-run"], ["transfer", "--dry-run"], ["sweep", "mlp", "--dry-run"]):
        assert run_cli(capsys, *argv, "--device", "bogus") == f"invalid device: expected one of {have}, got 'bogus'"
    if NO_GPU:
        want = "invalid device: expected one of cpu (no CUDA GPU is usable on this machine), got 'cuda'"
        with pytest.raises(LabsError) as err:
            pick_device("cuda")
        assert str(err.value) == want
        assert run_cli(capsys, "train", "--dry-run", "--device", "cuda") == want
        assert run_cli(capsys, "transfer", "--dry-run", "--device", "cuda") == want
    assert pick_device(None).type in ("cpu", "cuda") and pick_device("cpu").type == "cpu"


SUBSET = "invalid train_subset: expected a whole number >= 0, got -1"


def test_a_train_subset_of_minus_1_is_refused_and_0_means_all(capsys):
    from labs.core import params
    from labs.core.recipes import train_and_save
    from labs.core.train_config import TrainConfig
    from labs.transfer.config import TransferConfig

    assert run_cli(capsys, "train", "--dataset", "digits", "--train-subset", -1).replace("_", " ") == \
        SUBSET.replace("_", " ")
    assert run_cli(capsys, "train", "--dry-run", "--train-subset", -1).replace("_", " ") == SUBSET.replace("_", " ")
    assert run_cli(capsys, "transfer", "--dry-run", "--train-subset", -1) == quoted(
        "invalid train subset: expected a whole number >= 0, got -1")
    with pytest.raises(LabsError, match=r"^invalid train subset: expected a whole number >= 0, got -1$"):
        params.build(TransferConfig, train_subset=-1)
    with pytest.raises(LabsError, match=r"^invalid n train: expected a whole number >= 0, got -1$"):
        next(train_and_save("mlp", "digits", TrainConfig(), "/nonexistent/x", n_train=-1))
    start = next(train_and_save("mlp", "digits", TrainConfig(), "/nonexistent/x", n_train=0, depth=(3,), widths=(8,)))
    assert start["n_train"] > 1000  # 0 = the whole train split
