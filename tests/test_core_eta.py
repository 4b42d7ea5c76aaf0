"""The ETA model is calibrated by this machine's finished runs and keeps them."""

import pytest

from labs.core import eta


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.delenv("LABS_SPEED_FILE", raising=False)  # the default place: the data folder
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))
    return tmp_path


def test_reference_rate_until_a_run_is_observed_then_the_median_of_the_last_runs(cache):
    assert not eta.calibrated("cpu")
    assert eta.block_rate("cpu") == eta.TRAIN_IMAGES_PER_S["cpu"] * eta.RESNET77_BLOCKS
    eta.observe(blocks=15, images=1500, seconds=10)        # 150 img/s of ResNet[7,7]
    assert eta.calibrated("cpu") and not eta.calibrated("cuda")
    assert eta.block_rate("cpu") == pytest.approx(15 * 150)
    assert eta.train_seconds(15, 3000, "cpu") == pytest.approx(20)
    for rate in (100, 200, 300, 400, 500, 600):
        eta.observe(15, rate * 10, 10)
    assert eta.block_rate("cpu") == pytest.approx(15 * 400)  # median of the last KEEP=5: 200..600
    assert (cache / "speed.json").exists()


def test_short_runs_and_a_damaged_file_change_nothing(cache):
    eta.observe(15, 100, 0.5)
    assert not eta.calibrated("cpu")
    (cache / "speed.json").write_text("{not json")
    assert eta.block_rate("cuda") == eta.TRAIN_IMAGES_PER_S["cuda"] * eta.RESNET77_BLOCKS


def test_runs_inside_unrecorded_keep_no_speed(cache):
    with eta.unrecorded():
        eta.observe(15, 1500, 10)
        with eta.unrecorded():
            eta.observe_rate("mlp-mnist", 100, 10)
        eta.observe_rate("mlp-mnist", 100, 10)  # still inside the outer one
    assert not eta.calibrated("cpu") and eta.measured_rate("mlp-mnist") is None
    eta.observe(15, 1500, 10)
    assert eta.block_rate("cpu") == pytest.approx(15 * 150)


def test_a_long_run_s_time_left_follows_its_recent_pace():
    """A run resumed across sessions: 10 s per epoch at first (a busy machine), 4 s per epoch for the last five
    points; 20 of 40 epochs done -> 20 x 4 s left, not 20 x its average."""
    points = [(e, 10.0 * e) for e in range(1, 11)] + [(e, 100.0 + 4.0 * (e - 10)) for e in range(11, 21)]
    assert eta.recent_seconds_left(points, 40) == pytest.approx(80.0)
    assert eta.recent_seconds_left(points, 40, window=len(points)) == pytest.approx(20 * (140 - 10) / 19)
    assert eta.recent_seconds_left(points[:1], 40) == pytest.approx(390.0)  # one point: the pace so far
    assert eta.recent_seconds_left(points, 15) == 0.0
    assert eta.recent_seconds_left([], 40) != eta.recent_seconds_left([], 40)  # nan: "measuring"


def test_time_left_is_computed_and_worded_once_for_every_lab():
    assert eta.seconds_left(10.0, 5, 20) == pytest.approx(30.0)
    assert eta.seconds_left(10.0, 25, 20) == 0.0
    assert eta.format_left(eta.seconds_left(0.0, 0, 20)) == "time left: measuring…"
    assert eta.format_left(None) == "time left: measuring…"
    assert eta.format_left(0.4) == "less than 1 s left"
    assert eta.format_left(30.0) == "about 30 s left"
    assert eta.format_left(600.0) == "about 10 min left"
    assert eta.format_seconds(0.3) == "1 s" and eta.format_seconds(40.4) == "40 s"  # never "0 s"
    assert (eta.count(1, "epoch"), eta.count(3, "epoch"), eta.count(10_000, "image")) == (
        "1 epoch", "3 epochs", "10,000 images")


def test_a_speed_test_stands_in_until_a_run_is_measured_and_every_tab_words_the_basis_alike(cache):
    assert eta.basis("cpu") == "reference" and eta.basis_text("cpu") == "reference speed, not calibrated yet"
    eta.observe_probe(1500.0)
    eta.observe_probe(3000.0)  # a new speed test replaces the last one
    assert eta.basis("cpu") == "speed test" and eta.block_rate("cpu") == pytest.approx(3000.0)
    assert eta.basis("cuda") == "reference" and not eta.calibrated("cpu")
    assert eta.basis_text("cpu") == "from a speed test on this machine"
    eta.observe(blocks=15, images=1500, seconds=10)  # a finished run wins over the speed test
    assert eta.basis("cpu") == "measured" and eta.block_rate("cpu") == pytest.approx(15 * 150)
    assert eta.basis_text("cpu") == "measured on this machine"
    eta.observe_probe(0.0)  # nonsense is not kept
    assert eta._observations()["resnet-block-images-probe:cpu"] == [3000.0]
