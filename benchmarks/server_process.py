"""A real `instructembed serve` process on a free localhost port, for the serving benchmarks."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, *options: str, limit: float = 120) -> subprocess.Popen:
    """Start the server with extra CLI `options`; return once /health answers (exit the benchmark if it never does)."""
    command = [sys.executable, "-m", "instructembed", "serve", "--port", str(port), "--log-level", "warning", *options]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    sys.exit("benchmark failed: the server did not start")
