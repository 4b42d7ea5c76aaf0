"""Phase 1's SVM fit, stoppable: LinearSVC runs in a worker process that is killed on Stop.

liblinear runs inside one C call that no Python-level flag reaches (LinearSVC with a huge C can run for
minutes), so the fit runs in a child process and the parent checks the stop flag every `poll` seconds
while it waits; Stop, a cancelled page or a closed generator kills the child at once. The child is a
fresh interpreter (`python -m labs.transfer.svm FOLDER`, features passed as an npz in a temporary
folder): nothing is forked from a process running torch's threads, and unlike multiprocessing's
spawn/forkserver it never re-imports the parent's main module (app.py would import Gradio each time).
No torch here: the child imports numpy and scikit-learn only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labs.core import params
from labs.core.errors import LabsError

POLL_SECONDS = 0.2   # how often the parent checks Stop (and reports) while the worker fits
MAX_ITER = 5000      # LinearSVC's iteration cap (liblinear's coordinate descent)
TOL = 1e-4           # LinearSVC's stopping tolerance (scikit-learn's default)
ROOT = Path(__file__).resolve().parents[2]  # the folder holding the labs package: the child's import path


def svm_on_features(train_features, y_train, test_features, y_test, c: float = 1.0, max_iter: int = MAX_ITER,
                    tol: float = TOL) -> dict:
    """Standardise, fit a one-vs-rest linear SVM, score it; features are (N, D) arrays. Runs in this process:
    `fit_svm` runs it in a worker that Stop can end."""
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    from labs.transfer.config import TransferConfig

    c = params.check_value("svm_c", TransferConfig.CONSTRAINTS["svm_c"], c)
    t0 = time.perf_counter()
    scaler = StandardScaler().fit(train_features)
    clf = LinearSVC(C=c, max_iter=max_iter, tol=tol, random_state=0).fit(scaler.transform(train_features), y_train)
    fit_s = time.perf_counter() - t0
    acc = float(clf.score(scaler.transform(test_features), y_test))
    return {"test_acc": acc, "train_acc": float(clf.score(scaler.transform(train_features), y_train)),
            "fit_seconds": fit_s}


def _worker(folder: str) -> int:
    """The child (`python -m labs.transfer.svm FOLDER`): read FOLDER/inputs.npz, fit, write FOLDER/result.json
    ({"ok": results} or {"error": one sentence}); exit."""
    import numpy as np

    inputs = np.load(Path(folder) / "inputs.npz")
    try:
        out = {"ok": svm_on_features(inputs["x_train"], inputs["y_train"], inputs["x_test"], inputs["y_test"],
                                     float(inputs["c"]), int(inputs["max_iter"]), float(inputs["tol"]))}
    except LabsError as err:
        out = {"error": str(err)}
    except Exception as err:  # noqa: BLE001 (reported to the parent as one sentence, not a traceback)
        out = {"error": f"the SVM fit failed ({type(err).__name__}: {err})"}
    tmp = Path(folder) / "result.json.tmp"
    tmp.write_text(json.dumps(out))
    os.replace(tmp, Path(folder) / "result.json")
    return 0


def fit_svm(train_features, y_train, test_features, y_test, c: float = 1.0, stop=None, poll: float = POLL_SECONDS,
            max_iter: int = MAX_ITER, tol: float = TOL):
    """Generator: fit `svm_on_features` in a worker process. Yields {"kind": "fitting", "seconds", "pid"} every
    `poll` seconds while it runs, then {"kind": "fitted", **results}; when `stop` is set it kills the worker and
    yields {"kind": "fitted", "stopped": True}. Closing the generator early also kills the worker."""
    import numpy as np

    from labs.transfer.config import TransferConfig

    c = params.check_value("svm_c", TransferConfig.CONSTRAINTS["svm_c"], c)  # refused here, not in the child
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="labs-svm-") as folder:
        np.savez(Path(folder) / "inputs.npz", x_train=train_features, y_train=y_train, x_test=test_features,
                 y_test=y_test, c=c, max_iter=max_iter, tol=tol)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        proc = subprocess.Popen([sys.executable, "-m", "labs.transfer.svm", folder], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            while True:
                if stop is not None and stop.is_set():
                    yield {"kind": "fitted", "stopped": True, "seconds": time.perf_counter() - t0}
                    return
                try:
                    code = proc.wait(poll)
                except subprocess.TimeoutExpired:
                    yield {"kind": "fitting", "seconds": time.perf_counter() - t0, "pid": proc.pid}
                    continue
                result = Path(folder) / "result.json"
                if code != 0 or not result.exists():
                    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
                    raise LabsError(f"the SVM fit's worker process ended without a result (exit code {code}"
                                    + (f": {err[-1][:200]}" if err else "") + "); try fewer images")
                out = json.loads(result.read_text())
                if "error" in out:
                    raise LabsError(out["error"])
                yield {"kind": "fitted", "stopped": False, **out["ok"]}
                return
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1]))
