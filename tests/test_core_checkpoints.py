import json

import pytest
import torch

from labs.core.checkpoints import list_checkpoints, load_checkpoint, read_metadata, save_checkpoint
from labs.core.errors import LabsError
from labs.core.models import build_model

ARGS = {"depth": [1, 1], "widths": [8, 16], "num_classes": 10, "in_channels": 3, "image_size": 32}


def _save(tmp_path, name="net"):
    torch.manual_seed(0)
    model = build_model("resnet", **ARGS).eval()
    save_checkpoint(tmp_path / name, model, "resnet", ARGS, dataset="cifar10", seed=3,
                    normalization={"mean": [0.5] * 3, "std": [0.25] * 3}, curves=[{"epoch": 1, "test_acc": 0.5}])
    return model


def test_round_trip_restores_identical_predictions(tmp_path):
    model = _save(tmp_path)
    back, meta = load_checkpoint(tmp_path / "net.safetensors")
    x = torch.randn(4, 3, 32, 32)
    assert torch.equal(model(x), back(x))
    assert meta["dataset"] == "cifar10" and meta["seed"] == 3 and meta["num_parameters"] == sum(
        p.numel() for p in model.parameters())
    assert (tmp_path / "net.json").exists() and not list(tmp_path.glob("*.tmp"))
    assert list_checkpoints(tmp_path, dataset="cifar10") == [tmp_path / "net.safetensors"]
    assert list_checkpoints(tmp_path, dataset="cifar100") == []


def test_json_that_does_not_match_the_weights_is_refused(tmp_path):
    _save(tmp_path)
    meta = json.loads((tmp_path / "net.json").read_text())
    meta["model_args"]["widths"] = [16, 32]
    (tmp_path / "net.json").write_text(json.dumps(meta))
    with pytest.raises(LabsError, match="does not match net.json.*shape"):
        load_checkpoint(tmp_path / "net")


def test_corrupted_weights_missing_json_and_bad_json(tmp_path):
    _save(tmp_path)
    (tmp_path / "net.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(LabsError, match="not a readable .safetensors"):
        load_checkpoint(tmp_path / "net")
    _save(tmp_path, "other")
    (tmp_path / "other.json").unlink()
    with pytest.raises(LabsError, match="metadata .*other.json is missing"):
        load_checkpoint(tmp_path / "other")
    (tmp_path / "other.json").write_text("{not json")
    with pytest.raises(LabsError, match="not valid JSON"):
        read_metadata(tmp_path / "other")
    with pytest.raises(LabsError, match="weights .*nothing.safetensors are missing"):
        load_checkpoint(tmp_path / "nothing.safetensors")
