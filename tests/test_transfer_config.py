"""TransferConfig: every constraint refuses a bad value in the one format, the phase rule, presets, the ETA,
and no torch when the config is read or the tab is built."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labs.core import params
from labs.core.errors import LabsError
from labs.transfer.config import (PRESETS, SOURCE_CONSTRAINTS, TransferConfig, eta_seconds, preset,
                                  source_overrides)
from transfer_fixtures import assert_one_format, constraint_cases


@pytest.mark.parametrize("field, bad", constraint_cases(TransferConfig.CONSTRAINTS))
def test_every_constraint_refuses_a_bad_value_in_one_format(field, bad):
    with pytest.raises(LabsError) as err:
        params.build(TransferConfig, **{field: bad})
    assert str(err.value).startswith(f"invalid {field.replace('_', ' ')}: expected ")
    assert_one_format(str(err.value), field, bad)
    with pytest.raises(LabsError, match=f"^invalid {field.replace('_', ' ')}: expected "):
        TransferConfig(**{field: bad})  # the Python API refuses it too


@pytest.mark.parametrize("field, bad", constraint_cases(SOURCE_CONSTRAINTS))
def test_train_first_overrides_refuse_a_bad_value_in_one_format(field, bad):
    good = {"train_images": 100, "epochs": 1}
    with pytest.raises(LabsError) as err:
        source_overrides(**{**good, field: bad})
    assert str(err.value).startswith(f"invalid {field.replace('_', ' ')}: expected ")
    assert_one_format(str(err.value), field, bad)
    assert source_overrides(train_images=100.0, epochs="2") == {"n_train": 100, "epochs": 2}


def test_svm_needs_an_image_per_class():
    with pytest.raises(LabsError, match=r"^invalid svm train subset: expected 0 \(all\) or at least one image per "
                                        r"class \(100\), got 99$"):
        params.build(TransferConfig, svm_train_subset=99)
    assert params.build(TransferConfig, svm_train_subset=10, dataset="digits").svm_train_subset == 10
    assert params.build(TransferConfig, svm_train_subset=0).svm_train_subset == 0  # 0 = all


def test_huge_svm_c_is_refused():  # LinearSVC(C=1e200) runs for minutes where no Stop reaches it
    with pytest.raises(LabsError, match=r"^invalid svm c: expected a number in \[1e-06, 10000\], got 1e\+200$"):
        params.build(TransferConfig, svm_c=1e200)


def test_form_values_are_converted():
    cfg = params.build(TransferConfig, strategies=["No freeze"], optimizers="adam, sgd", epochs=2.0,
                       adam_lr=" 0.01", augment="true", checkpoint=None)
    assert cfg.strategies == ("No freeze",) and cfg.optimizers == ("adam", "sgd")
    assert cfg.epochs == 2 and isinstance(cfg.epochs, int) and cfg.adam_lr == 0.01 and cfg.augment is True
    assert cfg.checkpoint == ""


def test_presets_and_eta():
    quick, full = preset("quick"), preset("full")
    assert full.train_subset == 0 and full.epochs > quick.epochs
    assert all(set(p) <= set(TransferConfig.CONSTRAINTS) for p in PRESETS.values())
    e_quick, e_full = eta_seconds(quick), eta_seconds(full)
    assert e_quick["runs"] == 6 and e_quick["n_train"] == quick.train_subset
    assert e_quick["finetune"] < 600 < e_full["finetune"]  # "a few minutes" vs hours on a CPU
    assert eta_seconds(full, "cuda")["finetune"] < e_full["finetune"] / 10
    assert preset("quick", epochs="4").epochs == 4
    with pytest.raises(LabsError, match=r"^invalid preset: expected one of quick, full, got 'huge'$"):
        preset("huge")


def test_the_eta_comes_from_the_shared_throughput_model():
    from labs.core import eta

    cfg = params.build(TransferConfig, strategies=["No freeze"], optimizers=["adam"], epochs=1, train_subset=1000,
                       test_subset=500)
    blocks = eta.resnet_blocks((7, 7))
    expected = eta.train_seconds(blocks, 1000) + eta.infer_seconds(blocks, 500)
    assert eta_seconds(cfg)["finetune"] == pytest.approx(expected)


def test_no_torch_when_the_config_is_read_or_the_tab_is_built():
    code = ("import sys, gradio as gr\nfrom labs.transfer import config, tab\n"
            "with gr.Blocks():\n    tab.build()\nprint('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
