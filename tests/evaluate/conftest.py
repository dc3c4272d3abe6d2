"""Shared fixtures: the default model once per session, the shared eval data (skip when absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from instructembed.shared_data import data_dir


@pytest.fixture(scope="session")
def model():
    """The packaged all-MiniLM-L6-v2: the weights mteb's side of the cross-checks and the published scores use."""
    from instructembed import Instructor

    return Instructor("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def eval_root() -> Path:
    root = data_dir() / "eval"
    if not root.is_dir():
        pytest.skip(f"shared evaluation data not found at {root} (set INSTRUCTEMBED_DATA_DIR)")
    return root


def write_task(folder: Path, meta: dict, files: dict[str, list[dict] | str]) -> Path:
    """A task folder: meta.json plus files (a list of rows -> JSON Lines, a str -> written as is)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.json").write_text(json.dumps(meta))
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_text("".join(json.dumps(row) + "\n" for row in content))
    return folder


@pytest.fixture(scope="session")
def make_task():
    """`make_task(folder, meta, files)` writes a task folder (see `write_task`)."""
    return write_task


STS_ROWS = [
    {"sentence1": "A man is playing a guitar.", "sentence2": "A man plays the guitar.", "score": 4.8},
    {"sentence1": "A woman is slicing an onion.", "sentence2": "Someone is cutting an onion.", "score": 4.2},
    {"sentence1": "A dog runs in the park.", "sentence2": "The stock market fell today.", "score": 0.1},
    {"sentence1": "Kids are playing football.", "sentence2": "Children play soccer outside.", "score": 3.9},
    {"sentence1": "The cat sleeps on the sofa.", "sentence2": "A plane lands at the airport.", "score": 0.0},
    {"sentence1": "He is reading a book.", "sentence2": "A man reads a novel.", "score": 3.5},
]


@pytest.fixture()
def sts_task(tmp_path: Path) -> Path:
    meta = {"name": "TinySTS", "type": "STS", "eval_splits": ["test"], "main_score": "cosine_spearman", "min_score": 0, "max_score": 5}
    return write_task(tmp_path / "TinySTS", meta, {"test.jsonl": STS_ROWS})
