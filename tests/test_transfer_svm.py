"""Phase 1's SVM fit runs in a worker process that Stop kills (liblinear cannot be interrupted from Python)."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from labs.core.errors import LabsError
from labs.transfer.svm import fit_svm


def _gone(pid: int) -> bool:
    return not os.path.exists(f"/proc/{pid}") if os.path.isdir("/proc") else True


def test_a_fit_returns_the_worker_result():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)  # linearly separable on one feature
    recs = list(fit_svm(x[:300], y[:300], x[300:], y[300:], c=1.0))
    last = recs[-1]
    assert last["kind"] == "fitted" and last["stopped"] is False
    assert last["test_acc"] > 0.9 and last["train_acc"] > 0.9 and last["fit_seconds"] >= 0
    assert all(r["kind"] == "fitting" for r in recs[:-1])


def test_stop_kills_a_slow_fit_within_5_seconds_and_the_worker_is_gone():
    """A fit made slow on purpose (many samples, 100 classes, C at its bound, no iteration cap, tiny tol),
    stopped after 1 s of fitting: the generator ends within 5 s and the worker process no longer exists."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, 32)).astype(np.float32)
    y = rng.integers(0, 100, 20_000)
    stop = threading.Event()
    pid, stopped_at, last = None, None, None
    for rec in fit_svm(x, y, x[:100], y[:100], c=1e4, stop=stop, max_iter=10**8, tol=1e-12):
        last = rec
        pid = rec.get("pid", pid)
        if rec["kind"] == "fitting" and rec["seconds"] >= 1.0 and stopped_at is None:
            stop.set()
            stopped_at = time.perf_counter()
    assert stopped_at is not None, "the fit ended before it could be stopped: make it slower"
    assert last == {"kind": "fitted", "stopped": True, "seconds": pytest.approx(last["seconds"])}
    assert time.perf_counter() - stopped_at < 5.0
    assert pid is not None and _gone(pid)


def test_closing_the_stream_early_kills_the_worker():
    """A page that disconnects closes the generator: the worker goes with it."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20_000, 32)).astype(np.float32)
    y = rng.integers(0, 100, 20_000)
    gen = fit_svm(x, y, x[:100], y[:100], c=1e4, max_iter=10**8, tol=1e-12)
    pid = next(r["pid"] for r in gen if r["kind"] == "fitting")
    t0 = time.perf_counter()
    gen.close()
    assert time.perf_counter() - t0 < 5.0 and _gone(pid)


def test_c_is_bounded_before_a_worker_starts():
    x = np.zeros((20, 4), np.float32)
    y = np.arange(20) % 2
    with pytest.raises(LabsError, match=r"invalid svm c: expected a number in \[1e-06, 10000\], got 1e\+200"):
        next(fit_svm(x, y, x, y, c=1e200))
