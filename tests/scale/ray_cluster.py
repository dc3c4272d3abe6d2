"""A real local Ray cluster for one test module, started with retries (a loaded machine can be slow to
bring up Ray's agents) and torn down with every process it started."""

from __future__ import annotations

import logging
import os
import time


def start_local_cluster(num_cpus: int = 2, attempts: int = 3) -> None:
    """`ray.init(num_cpus=..., include_dashboard=False)`; with RAY_ADDRESS set, join that running
    cluster instead (a developer's cluster, to skip the start-up)."""
    import psutil
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local test cluster: no token files
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no telemetry (and no polling of a Prometheus that is not there)
    if os.environ.get("RAY_ADDRESS"):
        ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False, logging_level=logging.WARNING)
        return
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
            return
        except Exception as exc:  # Ray raises a bare Exception when its node times out during startup
            last = exc
            ray.shutdown()
            for child in psutil.Process().children(recursive=True):  # agents a failed start left behind
                try:
                    child.kill()
                except psutil.Error:
                    pass
            time.sleep(2 * (attempt + 1))
    raise RuntimeError(f"could not start a local Ray cluster after {attempts} attempts: {last}")
