"""Wait for a real `instructembed serve` process started by a test to answer /health."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest


def wait_for_health(process: subprocess.Popen, url: str, limit: float = 120) -> None:
    """Return once `url`/health answers 200; fail the test (with the server's stderr) if it exits or times out."""
    deadline = time.monotonic() + limit
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start: {process.stderr.read() if process.poll() is not None else 'timeout'}")
            time.sleep(0.2)
