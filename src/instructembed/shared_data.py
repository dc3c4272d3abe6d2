"""Where the project's shared data lives: `INSTRUCTEMBED_DATA_DIR`, else `../shared/data` beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The shared data folder (`train/`, `eval/`); it may not exist on a user's machine."""
    env = os.environ.get("INSTRUCTEMBED_DATA_DIR")
    return Path(env) if env else _REPO_ROOT.parent / "shared" / "data"


def shared_dir() -> Path:
    """The folder holding `data/`, `instructions/` and `reference/`."""
    return data_dir().parent


def instructions_dir() -> Path:
    return shared_dir() / "instructions"


def reference_dir() -> Path:
    return shared_dir() / "reference"
