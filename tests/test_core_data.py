import numpy as np
import pytest
import torch

from labs.core import data as D
from labs.core.errors import LabsError


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))
    return tmp_path


def _tiny(name="tiny", n=20, c=3):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 8, 8, c), dtype=torch.uint8, generator=g)
    y = torch.arange(n) % 4
    return D.Dataset(name, x, y, x[:6].clone(), y[:6].clone(), ["a", "b", "c", "d"])


def test_npz_round_trip(data_dir):
    ds = _tiny("cifar10")
    D.save_npz(ds, data_dir / "cifar10.npz")
    back = D.load_npz(data_dir / "cifar10.npz")
    assert torch.equal(back.x_train, ds.x_train) and torch.equal(back.y_test, ds.y_test)
    assert back.class_names == ["a", "b", "c", "d"] and back.x_train.dtype == torch.uint8
    assert back.y_train.dtype == torch.int64
    D.clear_cache()
    assert torch.equal(D.load_dataset("cifar10").x_test, ds.x_test)


def test_channel_stats_equal_numpy():
    ds = _tiny(n=50)
    ref = ds.x_train.numpy().reshape(-1, 3) / 255.0
    assert np.allclose(ds.mean, ref.mean(0)) and np.allclose(ds.std, ref.std(0, ddof=1))


def test_to_model_input_normalises_to_nchw():
    x = torch.full((2, 4, 4, 3), 255, dtype=torch.uint8)
    out = D.to_model_input(x, (0.5, 0.5, 0.5), (0.25, 0.5, 1.0))
    assert out.shape == (2, 3, 4, 4)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([2.0, 1.0, 0.5]))


def test_augment_crops_and_flips_within_the_padded_image():
    x = torch.arange(1, 65, dtype=torch.uint8).view(1, 8, 8, 1).repeat(64, 1, 1, 1)
    out = D.augment(x, pad=2, flip=True, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8
    assert not torch.equal(out, x)  # some images moved
    # every output pixel is either padding (0) or a pixel of the input
    assert set(out.unique().tolist()) <= set(range(0, 65))
    same = D.augment(x, pad=0, flip=False)
    assert torch.equal(same, x)


def test_missing_npz_names_the_file_the_folder_and_the_fix(data_dir):
    D.clear_cache()
    with pytest.raises(LabsError) as err:
        D.load_dataset("cifar100")
    msg = str(err.value)
    assert str(data_dir / "cifar100.npz") in msg and "LABS_DATA_DIR" in msg and "python -m labs data cifar100" in msg


def test_corrupted_npz_is_a_clear_error(data_dir):
    (data_dir / "mnist.npz").write_bytes(b"not a zip file at all")
    D.clear_cache()
    with pytest.raises(LabsError, match="cannot be read.*rebuild"):
        D.load_dataset("mnist")


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(LabsError, match="unknown data set 'imagenet'.*cifar10"):
        D.load_dataset("imagenet")


def test_digits_is_embedded_and_always_available(data_dir):
    ds = D.load_dataset("digits")
    assert ds.x_train.shape == (1437, 8, 8, 1) and ds.x_test.shape == (360, 8, 8, 1)
    assert ds.num_classes == 10 and D.is_available("digits")


def test_subset_keeps_normalisation_of_the_full_train_split():
    ds = _tiny(n=20)
    sub = ds.subset(5, 3, seed=1)
    assert len(sub.y_train) == 5 and len(sub.y_test) == 3 and sub.mean == ds.mean
