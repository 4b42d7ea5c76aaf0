"""The speed test app.py runs once per machine: a real engine measurement that estimates use until a run has
finished here, never repeated once stored, never fatal; and the page works its estimates out at every load."""

import pytest

from labs.core import eta, speedtest


def test_the_probe_trains_with_the_engine_and_measures_block_images_per_second():
    rate = speedtest.probe("cpu", steps=2, warmup=1, batch_size=16, depth=(1, 1))
    assert 0 < rate < 1e7  # block-images per second of a real (tiny) training


def test_ensure_probes_once_per_machine_and_only_when_enabled(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(speedtest, "probe", lambda device: calls.append(device) or 4321.0)
    assert speedtest.ensure(("cpu",)) == {}  # the tests' default: LABS_SPEED_PROBE=0
    monkeypatch.setenv("LABS_SPEED_PROBE", "1")
    assert speedtest.ensure(("cpu",)) == {"cpu": 4321.0}
    assert eta.basis("cpu") == "speed test" and eta.block_rate("cpu") == 4321.0
    assert "288 images/s" in capsys.readouterr().out  # 4321 block-images/s / 15 blocks of ResNet[7,7]
    assert speedtest.ensure(("cpu",)) == {} and calls == ["cpu"]  # stored: not run again
    eta.observe(blocks=15, images=1500, seconds=10)
    assert eta.basis("cpu") == "measured"


def test_a_failing_probe_leaves_the_reference_speed_and_says_why(monkeypatch, capsys):
    monkeypatch.setenv("LABS_SPEED_PROBE", "1")

    def broken(device):
        raise RuntimeError("no cores today")

    monkeypatch.setattr(speedtest, "probe", broken)
    assert speedtest.ensure(("cpu",)) == {}
    assert eta.basis("cpu") == "reference" and "no cores today" in capsys.readouterr().out


@pytest.mark.parametrize("elem_id", ["lab1-sweep-estimate", "lab1-mlp-estimate"])
def test_the_page_works_its_estimates_out_at_every_load(elem_id):
    """A visitor who opens the page after a run or speed test sees estimates from it, not the build's."""
    import gradio as gr

    from labs.residual import tab

    with gr.Blocks() as page:
        tab.build()
    (md,) = [b for b in page.blocks.values() if getattr(b, "elem_id", None) == elem_id]
    (load,) = [f.fn for f in page.fns.values() if md in f.outputs and [t[1] for t in f.targets] == ["load"]]
    assert md.value == load()  # the build's text, until something is measured
    if elem_id == "lab1-sweep-estimate":
        before = load()
        assert "not calibrated yet" in before
        eta.observe_probe(1.0)  # a very slow machine: hours, from its speed test
        after = load()
        assert "from a speed test on this machine" in after and after != before and " h" in after
    else:  # Part A's MLPs have their own kind: the speed test does not apply, a finished run does
        assert "not calibrated yet" in load()
        eta.observe_rate(f"mlp-{tab.default_data('mnist')}", 1e9, 10)
        assert "measured on this machine" in load()


def test_the_speedtest_command_measures_now_keeps_it_and_says_what_it_means(monkeypatch, capsys):
    from labs.__main__ import main

    monkeypatch.setattr(speedtest, "probe", lambda device: 2250.0)  # 150 images/s of ResNet[7,7]
    assert main(["speedtest"]) == 0
    out = capsys.readouterr().out
    assert "ResNet[7,7] trains at 150 images/s (2,250 block-images/s)" in out and "quick preset" in out
    assert eta.basis("cpu") == "speed test" and eta.block_rate("cpu") == 2250.0
    assert main(["speedtest", "--device", "nonsense"]) == 2
    assert "invalid device" in capsys.readouterr().err


def test_app_serves_the_page_first_then_runs_the_speed_test(monkeypatch):
    """The speed test never delays the first HTTP 200: app.main runs it after launch and the warm imports."""
    import app

    calls = []

    class Demo:
        def launch(self, **kw):
            calls.append("launch")

        def block_thread(self):
            calls.append("block")

    monkeypatch.setattr(app, "build_demo", Demo)
    monkeypatch.setattr(app, "warm_imports", lambda: calls.append("imports"))
    monkeypatch.setattr(speedtest, "ensure", lambda *a: calls.append("speed test"))
    app.main([])
    assert calls == ["launch", "imports", "speed test", "block"]
