"""Time from `python app.py` to the first HTTP 200 (target: <= 8 s on 2 CPU cores; heavy imports deferred).

    python bench/app_startup.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def once() -> float:
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", NO_PROXY="127.0.0.1,localhost")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - t0 < 120:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).status == 200:
                    return time.perf_counter() - t0
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("no HTTP 200 within 120 s")
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    times = [once() for _ in range(ap.parse_args().repeats)]
    print(f"python app.py -> HTTP 200: median {statistics.median(times):.2f} s (runs "
          f"{', '.join(f'{t:.2f}' for t in times)}; target <= 8 s)")


if __name__ == "__main__":
    main()
