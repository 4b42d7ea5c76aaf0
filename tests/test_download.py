"""Data downloads against a local HTTP server serving tiny archives in the official formats (no network)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import io
import pickle
import socket
import subprocess
import sys
import tarfile
import threading
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from labs.core import catalog, datafiles
from labs.core import download as dl
from labs.core.errors import LabsError

N_TRAIN, N_TEST = 20, 10


def _cifar10_archive(rng) -> tuple[bytes, np.ndarray, np.ndarray]:
    """cifar-10-python.tar.gz as the official one: 5 train batches + test batch (rows R|G|B, 1024 each) + meta."""
    x = rng.integers(0, 256, (N_TRAIN + N_TEST, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, N_TRAIN + N_TEST)
    rows = x.transpose(0, 3, 1, 2).reshape(len(x), 3072)
    members = {f"data_batch_{i + 1}": {b"data": rows[4 * i:4 * i + 4], b"labels": y[4 * i:4 * i + 4].tolist()}
               for i in range(5)}
    members["test_batch"] = {b"data": rows[N_TRAIN:], b"labels": y[N_TRAIN:].tolist()}
    members["batches.meta"] = {b"label_names": [f"class{i}".encode() for i in range(10)], b"num_vis": 3072}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, obj in members.items():
            data = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue(), x, y


def _idx(values: np.ndarray) -> bytes:
    head = bytes([0, 0, 8, values.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in values.shape)
    return gzip.compress(head + values.astype(np.uint8).tobytes())


class Server:
    """Serves `files` on 127.0.0.1; counts GETs per file; `drop` sends half of a file then closes."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.hits, self.drop = files, {}, set()
        self.requested, self.release = threading.Event(), threading.Event()
        self.release.set()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                server.hits[name] = server.hits.get(name, 0) + 1
                server.requested.set()
                server.release.wait(30)
                data = server.files.get(name)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2] if name in server.drop else data)
                self.wfile.flush()
                if name in server.drop:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A local server with tiny CIFAR-10 and MNIST in the official formats; SOURCES, the catalogue's counts
    and LABS_DATA_DIR point at it / a temp folder. Yields (server, data dir, cifar x, cifar y, mnist x)."""
    rng = np.random.default_rng(0)
    tgz, x, y = _cifar10_archive(rng)
    mx = rng.integers(0, 256, (N_TRAIN + N_TEST, 28, 28), dtype=np.uint8)
    my = rng.integers(0, 10, N_TRAIN + N_TEST).astype(np.uint8)
    mnist = {"train-images-idx3-ubyte.gz": _idx(mx[:N_TRAIN]), "train-labels-idx1-ubyte.gz": _idx(my[:N_TRAIN]),
             "t10k-images-idx3-ubyte.gz": _idx(mx[N_TRAIN:]), "t10k-labels-idx1-ubyte.gz": _idx(my[N_TRAIN:])}
    server = Server({"cifar-10-python.tar.gz": tgz, **mnist})
    for name, files in (("cifar10", ["cifar-10-python.tar.gz"]), ("mnist", list(mnist))):
        srcs = tuple(dl.Source(f, hashlib.md5(server.files[f]).hexdigest(), len(server.files[f]),
                               (server.url + f,)) for f in files)
        monkeypatch.setitem(dl.SOURCES, name, srcs)
        monkeypatch.setitem(catalog.DATASETS, name,
                            dataclasses.replace(catalog.DATASETS[name], n_train=N_TRAIN, n_test=N_TEST))
    data = tmp_path / "data"
    monkeypatch.setenv("LABS_DATA_DIR", str(data))
    monkeypatch.delenv("LABS_DATA_MIRROR", raising=False)
    monkeypatch.setattr(dl, "_STATE", {})
    from labs.core.data import clear_cache
    clear_cache()
    yield server, data, x, y, mx
    server.close()
    clear_cache()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".part", ".npz", ".tmp")))


def test_download_converts_the_official_files_to_the_npz_cache(served):
    server, data, x, y, mx = served
    seen = []
    path = dl.ensure("cifar10", seen.append)
    assert path == data / "cifar10.npz" and server.hits == {"cifar-10-python.tar.gz": 1}
    assert seen[-1]["state"] == "ready" and seen[-1]["done"] == seen[-1]["total"] == len(server.files[
        "cifar-10-python.tar.gz"])
    assert any(p["state"] == "downloading" for p in seen) and any(p["state"] == "converting" for p in seen)
    from labs.core.data import load_dataset
    ds = load_dataset("cifar10")
    assert np.array_equal(ds.x_train.numpy(), x[:N_TRAIN]) and np.array_equal(ds.x_test.numpy(), x[N_TRAIN:])
    assert ds.y_train.tolist() == y[:N_TRAIN].tolist() and ds.class_names[3] == "class3"
    assert _leftovers(data) == ["cifar10.npz"] and datafiles.status("cifar10") == "ready"
    assert dl.ensure("cifar10") == path and server.hits["cifar-10-python.tar.gz"] == 1  # there: no second fetch
    m = load_dataset("mnist", download=True)  # load_dataset downloads through the same path
    assert m.x_train.shape == (N_TRAIN, 28, 28, 1) and np.array_equal(m.x_test.numpy()[..., 0], mx[N_TRAIN:])


def test_the_mirror_variable_replaces_the_sources(served, monkeypatch):
    server, data, *_ = served
    good = dl.SOURCES["cifar10"][0]
    monkeypatch.setitem(dl.SOURCES, "cifar10", (dataclasses.replace(good, urls=("http://127.0.0.1:9/x",)),))
    monkeypatch.setenv("LABS_DATA_MIRROR", server.url)
    assert dl.ensure("cifar10").exists() and server.hits == {"cifar-10-python.tar.gz": 1}


def test_two_threads_share_one_download(served):
    server, data, *_ = served
    server.release.clear()  # the server holds its answer until both callers are in
    waiting, results, errors = threading.Event(), [], []

    def second_progress(p):
        waiting.set()

    def call(cb):
        try:
            results.append(dl.ensure("cifar10", cb))
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    first = threading.Thread(target=call, args=(None,))
    first.start()
    assert server.requested.wait(30)
    second = threading.Thread(target=call, args=(second_progress,))
    second.start()
    assert waiting.wait(30)  # the second caller is waiting and sees the running download's progress
    assert dl.progress("cifar10")["state"] == "downloading"
    server.release.set()
    first.join(60), second.join(60)
    assert errors == [] and results == [data / "cifar10.npz"] * 2
    assert server.hits == {"cifar-10-python.tar.gz": 1}


def test_two_processes_share_one_download(served):
    server, data, *_ = served
    server.release.clear()
    code = ("import sys; from labs.core import download as dl, catalog; import dataclasses;"
            "dl.SOURCES['cifar10'] = (dl.Source(sys.argv[1], sys.argv[2], int(sys.argv[3]), (sys.argv[4],)),);"
            "catalog.DATASETS['cifar10'] = dataclasses.replace(catalog.DATASETS['cifar10'], n_train=20, n_test=10);"
            "print(dl.ensure('cifar10'))")
    src = dl.SOURCES["cifar10"][0]
    args = [sys.executable, "-c", code, src.filename, src.md5, str(src.size), src.urls[0]]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    assert server.requested.wait(60)
    procs.append(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    lock = data / ".cifar10.lock"
    assert lock.exists()  # the first process holds it; the second waits on it
    server.release.set()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o[0].strip() for o in outs] == [str(data / "cifar10.npz")] * 2
    assert server.hits == {"cifar-10-python.tar.gz": 1}


def test_a_dropped_connection_leaves_nothing_and_says_so_in_one_sentence(served):
    server, data, *_ = served
    server.drop.add("cifar-10-python.tar.gz")
    seen = []
    with pytest.raises(LabsError) as err:
        dl.ensure("cifar10", seen.append)
    msg = str(err.value)
    assert msg.startswith("Could not download CIFAR-10: the connection was lost after ") and msg.endswith(
        "; try again.")
    assert str(data) not in msg and "/" not in msg and ". " not in msg  # one sentence, no server path
    assert seen[-1]["state"] == "failed" and dl.progress("cifar10")["message"] == msg
    assert _leftovers(data) == [] and not (data / "cifar10.npz").exists()


def test_a_wrong_checksum_is_refused_and_removed(served, monkeypatch):
    server, data, *_ = served
    src = dl.SOURCES["cifar10"][0]
    monkeypatch.setitem(dl.SOURCES, "cifar10", (dataclasses.replace(src, md5="0" * 32),))
    with pytest.raises(LabsError, match=r"^Could not download CIFAR-10: the downloaded file does not match its "
                                        r"official checksum; try again\.$"):
        dl.ensure("cifar10")
    assert _leftovers(data) == []


def test_offline_is_one_sentence(served, monkeypatch):
    server, data, *_ = served

    def offline(*a, **k):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(dl.urllib.request, "urlopen", offline)
    with pytest.raises(LabsError) as err:
        dl.ensure("cifar10")
    assert str(err.value) == "Could not download CIFAR-10: no internet connection from this server."
    assert _leftovers(data) == [] and server.hits == {}


def test_verify_reports_truncated_corrupted_and_miscounted_files(served, tmp_path):
    server, data, *_ = served
    path = dl.ensure("cifar10")
    good = path.read_bytes()
    assert datafiles.verify("cifar10", deep=True) == ""
    path.write_bytes(good[:len(good) // 2])
    assert datafiles.verify("cifar10") == "not a complete npz file (truncated or overwritten)"
    flipped = bytearray(good)
    flipped[len(good) // 3] ^= 0xFF  # inside x_train's data
    path.write_bytes(bytes(flipped))
    assert datafiles.verify("cifar10") == "" and datafiles.verify("cifar10", deep=True) == "x_train fails its checksum"
    assert datafiles.status("cifar10") == "damaged (x_train fails its checksum)"
    path.write_bytes(good)
    catalog.DATASETS["cifar10"] = dataclasses.replace(catalog.DATASETS["cifar10"], n_train=50000)
    assert datafiles.status("cifar10") == "damaged (20 train images, expected 50,000)"
    assert datafiles.check("cifar10") == ""  # the page's cheap check leaves counts to the CLI


def test_the_data_command_reports_a_damaged_file_and_downloads_it_again(served, capsys):
    server, data, *_ = served
    from labs.__main__ import main

    path = dl.ensure("cifar10")
    path.write_bytes(path.read_bytes()[:1000])
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert "cifar10   damaged (not a complete npz file (truncated or overwritten))" in out
    assert "Run `python -m labs data cifar10` while online to download it again." in out
    assert main(["data", "cifar10"]) == 0
    out = capsys.readouterr().out
    assert "cifar10: damaged (not a complete npz file" in out and "Downloading CIFAR-10: " in out
    assert "cifar10   ready" in out and server.hits["cifar-10-python.tar.gz"] == 2


def test_the_data_command_in_a_subprocess_flags_a_damaged_file(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 not really a zip")
    r = subprocess.run([sys.executable, "-m", "labs", "data"], capture_output=True, text=True, timeout=120,
                       env={**__import__("os").environ, "LABS_DATA_DIR": str(tmp_path)})
    assert r.returncode == 0 and "mnist     damaged (not a complete npz file" in r.stdout
    assert "cifar10   missing" in r.stdout and "digits    ready" in r.stdout


def test_visitor_and_developer_messages(tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))
    assert catalog.visitor_message("cifar10") == "CIFAR-10 (163 MB download) is not on this server yet."
    assert str(tmp_path) in catalog.availability_message("cifar10")
    from labs.core.data import clear_cache, load_dataset
    clear_cache()
    with pytest.raises(catalog.DataMissing) as err:
        load_dataset("cifar100")
    assert "LABS_DATA_DIR" in str(err.value) and err.value.visitor == (
        "CIFAR-100 (161 MB download) is not on this server yet.")
