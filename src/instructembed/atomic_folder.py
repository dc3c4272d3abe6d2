"""Put a fully written folder in place in one rename, so readers never see half a checkpoint."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def replace_dir(staging: Path, target: Path) -> None:
    """Move `staging` to `target`, replacing any existing `target` (renamed aside, then removed)."""
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)
