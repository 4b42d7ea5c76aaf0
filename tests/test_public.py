"""Public mode (labs.core.public): the switch, the budget caps and their messages through the page, models that
belong to the visitor's session (never written into checkpoints/, deleted when the session ends), and one shared
limit on heavy jobs across every endpoint (Stop still answers at once)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.utils import Status

from labs import ui
from labs.core import public
from labs.core.errors import LabsError
from conftest import serve_app
from test_ood_experiment import write_tiny_cifar10

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "checkpoints"


# ----------------------------------------------------------------------------- the switch and the caps

@pytest.mark.parametrize("env,expected", [
    ({}, False), ({"SPACE_ID": "someone/labs"}, True), ({"LABS_PUBLIC": "1"}, True),
    ({"LABS_PUBLIC": "0", "SPACE_ID": "someone/labs"}, False), ({"LABS_PUBLIC": "off"}, False),
    ({"LABS_PUBLIC": "bogus"}, True),  # an unreadable value fails safe
])
def test_public_mode_is_on_with_labs_public_or_on_a_space(monkeypatch, env, expected):
    monkeypatch.delenv("LABS_PUBLIC", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert public.is_public() is expected


def test_heavy_job_slots(monkeypatch):
    monkeypatch.delenv("LABS_HEAVY_JOBS", raising=False)
    monkeypatch.setenv("LABS_PUBLIC", "1")
    assert public.heavy_jobs() == 1 and ui.heavy() == {"concurrency_id": "heavy", "concurrency_limit": 1}
    monkeypatch.setenv("LABS_PUBLIC", "0")
    assert public.heavy_jobs() == 2
    monkeypatch.setenv("LABS_HEAVY_JOBS", "3")
    assert public.heavy_jobs() == 3
    monkeypatch.setenv("LABS_HEAVY_JOBS", "-5")
    with pytest.raises(LabsError, match=r"invalid LABS HEAVY JOBS: expected a whole number in \[1, 64\], got '-5'"):
        public.heavy_jobs()


def test_check_refuses_over_the_cap_with_the_cap_and_the_way_out(monkeypatch):
    monkeypatch.setenv("LABS_PUBLIC", "0")
    public.check("sweep", train_seconds=1e9)  # locally: no caps
    assert public.caps_note("sweep") == ""
    monkeypatch.setenv("LABS_PUBLIC", "1")
    public.check("sweep", train_seconds=599)
    with pytest.raises(LabsError) as err:
        public.check("sweep", train_seconds=1500)
    assert str(err.value) == ("public mode allows at most 10 min of estimated training time per request on this "
                              "machine (this request: about 25 min); run it locally ('python -m labs sweep resnet "
                              "...'), or duplicate this Space onto a GPU and set LABS_PUBLIC=0")
    with pytest.raises(LabsError, match=r"at most 36 \(T, ε\) pairs per grid search \(this request: 49\)"):
        public.check("odin_grid", grid_pairs=49, images_per_side=100)
    with pytest.raises(LabsError, match=r"at most 5 caption beams \(this request: 6\).*.python -m labs story"):
        public.check("story", story_tokens=160, caption_beams=6)
    with pytest.raises(ValueError):  # a cap the kind does not have is a programming error
        public.check("story", train_seconds=1)
    note = public.caps_note("odin_grid")
    assert note.startswith("🔒 Public mode: at most 36 (T, ε) pairs per grid search, at most 2,000 images per side.")
    assert "`python -m labs odin`" in note and "deleted when you close the page" in note


def test_session_folders_are_hashed_and_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_SESSION_DIR", str(tmp_path))
    monkeypatch.setenv("LABS_PUBLIC", "0")
    assert public.session_dir("abc") is None  # locally: no session folders
    monkeypatch.setenv("LABS_PUBLIC", "1")
    assert public.session_dir(None) is None
    folder = public.session_dir("../../etc", create=True)
    assert folder.parent == tmp_path and folder.is_dir() and ".." not in folder.name
    (folder / "x.json").write_text("{}")
    assert public.end_session("../../etc") is True and not folder.exists()
    assert public.end_session("../../etc") is False


# ----------------------------------------------------------------------------- through the page

def _snapshot(folder: Path) -> dict:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()} if folder.exists() else {}


@pytest.fixture(scope="module")
def public_app(tmp_path_factory):
    """The whole dashboard in public mode, on tiny CIFAR-10 data, with the repository's checkpoints/ folder."""
    root = tmp_path_factory.mktemp("public")
    write_tiny_cifar10(root, n_train=300)
    # LABS_CHECKPOINT_DIR unset: the committed folder itself, which must stay untouched
    with serve_app(LABS_PUBLIC="1", LABS_HEAVY_JOBS=None, LABS_CHECKPOINT_DIR=None, LABS_DATA_DIR=root,
                   LABS_SESSION_DIR=root / "sessions") as url:
        yield url, root / "sessions"


OVER_BUDGET = [  # (endpoint, arguments, the cap named in the refusal)
    ("/train_mlp", ("digits", 64, 512, 1000, 1e-3, 64, 0, 0), "10 min of estimated training time"),
    ("/train_sweep", ("digits", ["ResNet"], ["Large"], 1000, 0, 0, 64, 0.1, True, 0, 0.0),
     "10 min of estimated training time"),
    ("/transfer_svm", ("resnet77_cifar10", "cifar100", 0, 0, 1.0), "20,000 images (train + test) per SVM fit (this request: 60,000)"),
    ("/transfer_finetune", ("resnet77_cifar10", "cifar100", ["No freeze"], ["adam"], 3e-3, 0.1, 100, 0, 0, False, False),
     "10 min of estimated training time"),
    ("/transfer_train_source", (0, 50), "10 min of estimated training time"),
    ("/odin_grid", ("resnet77_cifar10", "gaussian", 100, "1,2,5,10,20,50,100", "0,.001,.002,.003,.004,.005,.006"),
     "36 (T, ε) pairs per grid search (this request: 49)"),
    ("/odin_live", ("resnet77_cifar10", "gaussian", 5000, 1.0, 0.0, []), "2,000 images per side (this request: 5,000)"),
    ("/odin_train_classifier", (50_000, 50), "10 min of estimated training time"),
]


@pytest.mark.parametrize("api,args,cap", OVER_BUDGET, ids=[c[0] for c in OVER_BUDGET])
def test_over_budget_requests_are_refused_with_the_cap(public_app, api, args, cap):
    url, _ = public_app
    before = _snapshot(COMMITTED)
    client = Client(url, verbose=False)
    if api.startswith("/odin"):
        client.predict(api_name="/odin_refresh")  # the session's checkpoint list: a name must be in it
    with pytest.raises(Exception) as err:
        client.predict(*args, api_name=api)
    client.close()
    text = str(err.value)
    assert f"public mode allows at most {cap}" in text and "run it locally ('python -m labs" in text
    assert "duplicate this Space onto a GPU" in text and "upstream" not in text
    assert _snapshot(COMMITTED) == before


@pytest.mark.slow  # three tiny trainings (ResNet[7,7] twice, the autoencoder): ~30 s on 2 loaded cores
def test_models_trained_in_public_mode_belong_to_the_session(public_app):
    url, sessions = public_app
    before = _snapshot(COMMITTED)
    mine, other = Client(url, verbose=False), Client(url, verbose=False)
    own = public.session_dir(mine.session_hash)
    message, dropdown = mine.predict(256, 1, api_name="/odin_train_classifier")
    assert message.startswith("Saved `resnet77_cifar10_quick`") and dropdown["value"] == "resnet77_cifar10_quick"
    note = mine.predict(api_name="/odin_train_autoencoder")
    assert "Saved `autoencoder_cifar10`" in note
    status, _ = list(mine.submit(128, 1, api_name="/transfer_train_source"))[-1]
    assert status.startswith("saved resnet77_cifar10_quick (CIFAR-10 test accuracy")
    assert sorted(p.name for p in own.iterdir()) == ["autoencoder_cifar10.json", "autoencoder_cifar10.safetensors",
                                                     "resnet77_cifar10_quick.json",
                                                     "resnet77_cifar10_quick.safetensors"]
    assert _snapshot(COMMITTED) == before  # nothing the page sent wrote into checkpoints/

    listed, _, note = mine.predict(api_name="/odin_refresh")
    assert listed["value"] == "resnet77_cifar10_quick" and listed["choices"][0][1] == "resnet77_cifar10_quick"
    assert "Autoencoder: `autoencoder_cifar10.safetensors`" in note
    theirs, _, _ = other.predict(api_name="/odin_refresh")
    assert "resnet77_cifar10_quick" not in [c[1] for c in theirs["choices"]]  # offered to its session only
    assert public.session_dir(other.session_hash) is not None and not public.session_dir(other.session_hash).exists()

    mine.close()  # the session ends: Gradio's unload event deletes its models
    other.close()
    deadline = time.monotonic() + 30
    while own.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not own.exists() and sessions.is_dir()
    assert _snapshot(COMMITTED) == before


def test_heavy_jobs_of_all_endpoints_share_one_slot_and_stop_still_answers(public_app, monkeypatch):
    """Lab 1, transfer and ODIN heavy events queue behind one another (limit 1 in public mode); the Stop of the
    running session answers while two others wait, and ends only its own job."""
    import labs.ood.experiment as ood_ex
    import labs.residual.experiment as lab1_ex
    import labs.transfer.experiment as transfer_ex

    url, _ = public_app
    lock, state = threading.Lock(), {"now": 0, "max": 0, "ran": [], "stopped": []}

    def instrumented(name, hold):
        def run(cfg, stop=None, *args, **kwargs):
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
                state["ran"].append(name)
            try:
                stop.wait(hold)
                if stop.is_set():
                    state["stopped"].append(name)
                yield from ()
            finally:
                with lock:
                    state["now"] -= 1
        return run

    monkeypatch.setattr(lab1_ex, "run_mlp_comparison", instrumented("mlp", 60))  # runs until its Stop
    monkeypatch.setattr(transfer_ex, "run_svm", instrumented("svm", 0.3))
    monkeypatch.setattr(ood_ex, "run", instrumented("grid", 0.3))
    a, b, c = (Client(url, verbose=False) for _ in range(3))
    job_a = a.submit("digits", 4, 32, 1, 1e-3, 64, 256, 0, api_name="/train_mlp")
    deadline = time.monotonic() + 30
    while state["ran"] != ["mlp"] and time.monotonic() < deadline:
        time.sleep(0.05)
    c.predict(api_name="/odin_refresh")  # the session's checkpoint list: a name must be in it
    job_b = b.submit("resnet77_cifar10", "cifar100", 1000, 100, 1.0, api_name="/transfer_svm")
    job_c = c.submit("resnet77_cifar10", "gaussian", 10, "1", "0", api_name="/odin_grid")
    while not all(j.status().code == Status.IN_QUEUE for j in (job_b, job_c)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [j.status().code for j in (job_b, job_c)] == [Status.IN_QUEUE] * 2  # waiting, with their place
    assert all(j.status().rank is not None for j in (job_b, job_c))
    assert state["ran"] == ["mlp"]
    assert b.predict(api_name="/stop_mlp") == "nothing is running"  # another session's Stop: not a's job
    said = a.predict(api_name="/stop_mlp")  # unqueued: answers while two others wait, with the run's last line
    assert said.startswith("stopped"), said
    for job in (job_a, job_b, job_c):
        job.result(timeout=60)
    assert sorted(state["ran"]) == ["grid", "mlp", "svm"] and state["ran"][0] == "mlp"
    assert state["max"] == 1 and state["stopped"] == ["mlp"]
    for client in (a, b, c):
        client.close()
