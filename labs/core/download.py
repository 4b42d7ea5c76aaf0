"""Download the official data files (the ones torchvision uses) and convert them once to the npz cache.

    ensure("cifar10", on_progress=print)   # -> the npz path; downloads only when missing or damaged
    progress("cifar10")                     # {"state", "done", "total", "message"}, from any thread

One download per data set at a time, across threads (a lock per set) and processes (fcntl lock on
`<data dir>/.<name>.lock`); a caller that waits sees the running download's progress (in-process
state, or `.<name>.progress.json` written by another process). Files are fetched to temporary names
in the data folder, checked against their official md5, converted, written to a temporary npz that is
verified (shapes and counts) before os.replace makes it the cache file; every temporary file is
removed whatever happens. A failure is one LabsError sentence without server paths.

Sources and wording: labs.core.sources (SOURCES, $LABS_DATA_MIRROR), re-exported here. No torch here.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from labs.core.catalog import npz_path, spec
from labs.core.datafiles import PARSERS, verify, write_npz
from labs.core.errors import LabsError
from labs.core.sources import SOURCES, Failure, Source, describe, downloadable, sentence, size_text, urls  # noqa: F401

CHUNK = 1 << 18      # bytes per read
TIMEOUT = 30         # seconds without an answer before a download fails
POLL = 0.25          # seconds between progress reports while waiting for another download
ACTIVE = ("queued", "downloading", "converting")


_STATE: dict[str, dict] = {}          # name -> {"state", "done", "total", "message", "attempt"}
_GUARD = threading.Lock()
_LOCKS: dict[str, threading.Lock] = {}          # npz path -> lock
_THREADS: dict[str, threading.Thread] = {}      # npz path -> background download (start)


def _shared_file(name: str) -> Path:
    return npz_path(name).parent / f".{name}.progress.json"


def _set(name: str, write: bool = True, **fields) -> dict:
    with _GUARD:
        st = _STATE.setdefault(name, {"state": "missing", "done": 0, "total": 0, "message": "", "attempt": 0})
        st.update(fields)
        snapshot = dict(st)
    if write and snapshot["state"] in ACTIVE:  # what a waiting process reads
        try:
            tmp = _shared_file(name).with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(dict(snapshot, pid=os.getpid(), time=time.time())))
            os.replace(tmp, _shared_file(name))
        except OSError:
            pass
    return snapshot


def _other_process(name: str) -> dict | None:
    try:
        st = json.loads(_shared_file(name).read_text())
    except (OSError, ValueError):
        return None
    fresh = time.time() - float(st.get("time", 0)) < 2 * TIMEOUT
    return st if st.get("pid") != os.getpid() and fresh and st.get("state") in ACTIVE else None


def progress(name: str) -> dict:
    """{"state", "done", "total", "message"} of `name`: queued / downloading / converting (here or in another
    process), failed (with its sentence), ready or missing (the cache file's presence)."""
    spec(name)
    with _GUARD:
        st = dict(_STATE.get(name) or {})
    if st.get("state") in ("downloading", "converting"):
        return st
    other = _other_process(name)
    if other is not None:
        return {k: other[k] for k in ("state", "done", "total", "message")}
    if st.get("state") in ("queued", "failed"):
        return st
    total = sum(s.size for s in SOURCES.get(name, ()))
    ready = spec(name).embedded or npz_path(name).exists()
    return {"state": "ready" if ready else "missing", "done": total if ready else 0, "total": total, "message": ""}


def _fetch(name: str, src: Source, dest: Path, offset: int, report: Callable[[], None]) -> int:
    """src -> dest (checked against its md5); returns its size. Tries the source's URLs in order."""
    last: BaseException | None = None
    for url in urls(src):
        _set(name, done=offset)
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "labs-data/1"})
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp, open(dest, "wb") as out:
                length = int(resp.headers.get("Content-Length") or 0)
                if length and length != src.size:
                    _set(name, total=progress(name)["total"] + length - src.size)
                md5, n = hashlib.md5(), 0
                while chunk := resp.read(CHUNK):
                    out.write(chunk)
                    md5.update(chunk)
                    n += len(chunk)
                    _set(name, write=False, done=offset + n)
                    report()
            if length and n < length:
                total = progress(name)["total"]
                raise Failure(f"the connection was lost after {size_text(offset + n)} of {size_text(total)}; "
                               f"try again")
            if md5.hexdigest() != src.md5:
                raise Failure("the downloaded file does not match its official checksum; try again")
            return n
        except (OSError, Failure, EOFError) as err:  # URLError, HTTPError, timeouts are OSErrors
            if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EACCES, errno.EROFS):
                raise
            last = err
    raise last if last is not None else Failure("no source is configured")


def _download(name: str, on_progress: Callable[[dict], None] | None) -> Path:
    title, path, srcs = spec(name).title, npz_path(name), SOURCES[name]
    folder, tag = path.parent, f"{os.getpid()}-{threading.get_ident()}"
    last_report = [0.0]

    def report(force: bool = False):
        now = time.monotonic()
        if force or now - last_report[0] >= 0.1:
            last_report[0] = now
            snap = _set(name, done=progress(name)["done"])  # also refreshes the file other processes read
            if on_progress is not None:
                on_progress(snap)

    with _GUARD:
        attempt = _STATE.get(name, {}).get("attempt", 0) + 1
    _set(name, state="downloading", done=0, total=sum(s.size for s in srcs), message="", attempt=attempt)
    report(True)
    temps = [folder / f".{s.filename}.{tag}.part" for s in srcs]
    npz_tmp = folder / f".{name}.npz.{tag}.part"
    done = 0
    try:
        for src, dest in zip(srcs, temps):
            done += _fetch(name, src, dest, done, report)
        _set(name, state="converting", done=done)
        report(True)
        arrays = PARSERS[name](name, temps)
        with open(npz_tmp, "wb") as f:
            write_npz(f, **arrays)
        del arrays
        problem = verify(name, npz_tmp, deep=True)
        if problem:
            raise Failure(f"the converted file is damaged ({problem})")
        os.replace(npz_tmp, path)
    except BaseException as err:
        p = progress(name)
        message = sentence(title, err, p["done"], p["total"])
        _set(name, write=False, state="failed", message=message)
        if on_progress is not None:
            on_progress(progress(name))
        if isinstance(err, (KeyboardInterrupt, SystemExit)):
            raise
        raise LabsError(message) from None
    finally:
        for tmp in (*temps, npz_tmp):
            tmp.unlink(missing_ok=True)
        _shared_file(name).unlink(missing_ok=True)
    _set(name, write=False, state="ready", done=done, total=done, message=f"{title} is ready.")
    if on_progress is not None:
        on_progress(progress(name))
    return path


def _wait(acquire: Callable[[], bool], name: str, on_progress, sleep: float) -> None:
    while not acquire():
        if on_progress is not None:
            on_progress(progress(name))
        if sleep:
            time.sleep(sleep)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def ensure(name: str, on_progress: Callable[[dict], None] | None = None) -> Path:
    """The npz of `name`, downloaded and converted first when it is missing or damaged (see module doc).

    on_progress(progress dict) is called while this call downloads or waits for another one."""
    s = spec(name)
    path = npz_path(name)
    if s.embedded or (path.exists() and not verify(name)):
        return path
    if name not in SOURCES:
        raise LabsError(f"{s.title} cannot be downloaded by this app.")
    with _GUARD:
        lock = _LOCKS.setdefault(str(path), threading.Lock())  # per file: a new LABS_DATA_DIR is a new one
        st = _STATE.get(name, {})
        # the attempt this call may wait for: a running one, else the next one
        seen = st.get("attempt", 0) - (1 if st.get("state") in ("downloading", "converting") else 0)
    _wait(lambda: lock.acquire(timeout=POLL), name, on_progress, 0)
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path.parent / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise LabsError(sentence(s.title, err, 0, 0)) from None
        try:
            _wait(lambda: _try_flock(fd), name, on_progress, POLL)
            with _GUARD:
                st = dict(_STATE.get(name, {}))
            if st.get("attempt", 0) != seen and st.get("state") == "failed":
                raise LabsError(st["message"])  # the download this call waited for failed: same sentence
            if path.exists() and not verify(name):  # another thread or process finished it meanwhile
                return path
            return _download(name, on_progress)
        finally:
            os.close(fd)  # releases the file lock
    finally:
        lock.release()


def start(name: str) -> dict:
    """Start `name`'s download in a background thread unless one runs; returns its progress at once.
    The web page polls progress(): a visitor leaving the page does not stop a download others may share."""
    spec(name)
    if name not in SOURCES:
        raise LabsError(f"{spec(name).title} cannot be downloaded by this app.")
    key = str(npz_path(name))
    with _GUARD:
        thread = _THREADS.get(key)
        running = thread is not None and thread.is_alive()
    if not running:
        if progress(name)["state"] not in ACTIVE:
            _set(name, write=False, state="queued", message="")

        def run():
            try:
                ensure(name)
            except LabsError as err:  # a failed download has set its state already; this covers the rest
                if progress(name)["state"] != "failed":
                    _set(name, write=False, state="failed", message=str(err))
            finally:
                with _GUARD:
                    if _STATE.get(name, {}).get("state") == "queued":  # nothing to do: it was there
                        _STATE[name]["state"] = "ready" if npz_path(name).exists() else "missing"

        with _GUARD:
            thread = _THREADS[key] = threading.Thread(target=run, name=f"download-{name}", daemon=True)
        thread.start()
    return progress(name)
