"""The reviewable instruction file: `{task_id: {"query": str, "doc": str, ...}}` (keys starting with "_" are notes).

The repo keeps the reviewed file at `data/medi/instructions.json`; users pass their own file to override any
task (an entry may give "query" and "doc", or one "instruction" for both sides).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from instructembed.errors import InstructEmbedError

REVIEWED_FILE = Path(__file__).resolve().parents[3] / "data" / "medi" / "instructions.json"


def load_instruction_file(path: str | Path) -> dict[str, dict]:
    """Read and check an instruction file; returns {task_id: {"query", "doc", ...}}."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InstructEmbedError(f"instruction file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InstructEmbedError(f"instruction file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InstructEmbedError(f"instruction file {path}: expected an object keyed by task id")
    table: dict[str, dict] = {}
    for task_id, entry in data.items():
        if task_id.startswith("_"):
            continue
        if isinstance(entry, str):
            entry = {"instruction": entry}
        if not isinstance(entry, dict):
            raise InstructEmbedError(f"instruction file {path}: task {task_id!r}: expected an object or a string")
        entry = dict(entry)
        if "instruction" in entry:
            entry.setdefault("query", entry["instruction"])
            entry.setdefault("doc", entry["instruction"])
        for side in ("query", "doc"):
            value = entry.get(side)
            if not isinstance(value, str) or not value.strip():
                raise InstructEmbedError(f"instruction file {path}: task {task_id!r}: {side!r} must be a non-empty string")
        table[task_id] = entry
    return table


def resolve_instructions(overrides: str | Path | None = None, reviewed: Path | None = REVIEWED_FILE) -> dict[str, dict]:
    """The reviewed file (when present) with the user's overrides on top."""
    table: dict[str, dict] = {}
    if reviewed is not None and reviewed.is_file():
        table.update(load_instruction_file(reviewed))
    if overrides is not None:
        for task_id, entry in load_instruction_file(overrides).items():
            table[task_id] = {**entry, "source": str(overrides)}
    return table


def write_instruction_file(table: dict[str, dict], path: str | Path, about: str | None = None) -> None:
    """Write an instruction file atomically, tasks sorted by id."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"_about": about} if about else {}
    data.update({k: table[k] for k in sorted(table)})
    fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    os.replace(tmp, path)
