"""Start `hemistat serve` in a subprocess on a free loopback port and wait until it answers; stop it.

Used by the portal benchmark (`tools/bench_portal.py`) and the portal tests (`tests/service/`)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(port: int, env: dict, log: Path, timeout: float = 90) -> subprocess.Popen:
    """`hemistat serve --port PORT` with ``env``, output to ``log``; returns once /healthz answers 200.
    RuntimeError (with the end of the log) if it exits or does not answer within ``timeout`` s."""
    import httpx

    hemistat = Path(sys.executable).with_name("hemistat")
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(hemistat), "serve", "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/healthz"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"portal exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"portal did not start: {log.read_text(errors='replace')[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
