"""One recipe for "train a model and save it": the same JSON fields for every model and caller."""

import json
import threading

import pytest
import torch

from labs.core import params
from labs.core.checkpoints import list_checkpoints, load_checkpoint
from labs.core.engine import TrainConfig
from labs.core.recipes import recipe, train_and_save

torch.set_num_threads(1)

FIELDS = {"model", "model_args", "code_version", "num_parameters", "dataset", "num_classes", "normalization", "data",
          "config", "seed", "metrics", "curves", "device", "command"}


def test_train_and_save_writes_every_field_and_the_model_loads_back(tmp_path):
    cfg = TrainConfig(epochs=1, batch_size=32, grad_norms=False)
    recs = list(train_and_save("resnet", "digits", cfg, tmp_path / "r", depth=(1, 1), widths=(8, 16), n_train=128,
                               n_test=64))
    assert recs[0]["kind"] == "start" and recs[0]["n_train"] == 128 and recs[0]["parameters"] > 0
    saved = recs[-1]
    assert saved["kind"] == "saved" and 0 <= saved["metrics"]["final_test_acc"] <= 1
    meta = json.loads((tmp_path / "r.json").read_text())
    assert FIELDS <= set(meta)
    assert meta["command"].startswith("python -m labs train --model resnet --dataset digits --depth 1,1")
    model, _ = load_checkpoint(tmp_path / "r")
    assert sum(p.numel() for p in model.parameters()) == meta["num_parameters"]


def test_the_autoencoder_recipe_saves_the_same_fields(tmp_path, monkeypatch):
    g = torch.Generator().manual_seed(0)
    from labs.core import data as D

    x = torch.randint(0, 256, (96, 32, 32, 3), dtype=torch.uint8, generator=g)
    ds = D.Dataset("cifar10", x, torch.arange(96) % 10, x[:32].clone(), torch.arange(32) % 10,
                   [str(i) for i in range(10)])
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))
    D.save_npz(ds, tmp_path / "cifar10.npz")
    D.clear_cache()
    args = recipe("autoencoder_cifar10", epochs=1, n_train=64, n_test=32)
    args["train"] = params.replace(args["train"], batch_size=32)
    recs = list(train_and_save(**args, out=tmp_path / "ae"))
    assert recs[-1]["kind"] == "saved" and "final_test_loss" in recs[-1]["metrics"]
    meta = json.loads((tmp_path / "ae.json").read_text())
    assert FIELDS <= set(meta) and meta["model"] == "conv_autoencoder"
    assert meta["config"]["objective"] == "reconstruction"
    assert list_checkpoints(tmp_path, model="resnet") == []
    assert [p.stem for p in list_checkpoints(tmp_path)] == ["ae"]
    D.clear_cache()


def test_a_stopped_run_is_not_saved(tmp_path):
    stop = threading.Event()
    stop.set()
    recs = list(train_and_save("mlp", "digits", TrainConfig(epochs=1, batch_size=32), tmp_path / "m", depth=(3,),
                               widths=(8,), stop=stop))
    assert recs[-1]["kind"] == "not_saved" and not (tmp_path / "m.json").exists()


def test_the_missing_checkpoint_hint_names_a_recipe_and_a_stage_that_exist():
    import re

    from labs.core.recipes import REFERENCE_HINT
    from labs.reproduce.stages import STAGES

    named = re.findall(r"--recipe (\S+)", REFERENCE_HINT)
    assert named == ["resnet77_cifar10_fast"] and recipe(named[0])["train"].epochs == 6  # as the hint says
    assert re.findall(r"--stage (\w+)", REFERENCE_HINT) == ["reference"] and "reference" in STAGES
    assert recipe("resnet77_cifar10_reference")["train"].epochs == 80


def test_the_quick_classifier_has_one_name_and_recipe():
    args = recipe("resnet77_cifar10_quick")
    assert args["model"] == "resnet" and args["depth"] == (7, 7) and args["train"].augment
    assert recipe("resnet77_cifar10_quick", epochs=5)["train"].epochs == 5
    with pytest.raises(Exception, match="unknown recipe"):
        recipe("quick_resnet77_cifar10")
