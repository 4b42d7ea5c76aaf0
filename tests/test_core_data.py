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


def _windows(image: torch.Tensor, pad: int) -> dict[tuple[int, int, bool], torch.Tensor]:
    """Every crop of the zero-padded image, flipped (left-right) or not, keyed by (dy, dx, flipped)."""
    h, w, _ = image.shape
    padded = torch.nn.functional.pad(image, (0, 0, pad, pad, pad, pad))
    out = {}
    for dy in range(2 * pad + 1):
        for dx in range(2 * pad + 1):
            crop = padded[dy:dy + h, dx:dx + w]
            out[(dy, dx, False)] = crop
            out[(dy, dx, True)] = crop.flip(1)
    return out


def test_augment_crop_takes_each_image_from_its_own_window_of_the_padded_image():
    # distinct pixel values: every output matches exactly one (offset, flip); a wrong offset
    # (e.g. rows and columns swapped, an offset past 2*pad, or one offset for the whole batch) cannot
    image = torch.arange(1, 65, dtype=torch.uint8).view(8, 8, 1)
    x = image[None].repeat(200, 1, 1, 1)
    out = D.augment(x, pad=2, flip=False, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8
    windows = _windows(image, 2)
    seen = set()
    for img in out:
        matches = [k for k, win in windows.items() if not k[2] and torch.equal(win, img)]
        assert len(matches) == 1, "an output is not a 8x8 window of the 2-px padded input"
        seen.add(matches[0][:2])
    assert len(seen) == 25  # all (2*2+1)^2 offsets occur over 200 images, each image drawing its own
    # a crop that is not centred moves content: (dy, dx) = (0, 0) shows the padding at the top-left
    assert any(img[0, 0, 0] == 0 for img in out)
    assert torch.equal(D.augment(x, pad=0, flip=False), x)


def test_augment_flip_is_left_right_and_random_per_image():
    image = torch.arange(1, 65, dtype=torch.uint8).view(8, 8, 1)
    x = image[None].repeat(100, 1, 1, 1)
    out = D.augment(x, pad=0, flip=True, generator=torch.Generator().manual_seed(1))
    lr, ud = image.flip(1), image.flip(0)  # NHWC: dim 1 of an HWC image is W (left-right)
    flipped = [torch.equal(img, lr) for img in out]
    assert all(f or torch.equal(img, image) for f, img in zip(flipped, out))
    assert not any(torch.equal(img, ud) for img in out)
    assert 30 <= sum(flipped) <= 70  # about half


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
