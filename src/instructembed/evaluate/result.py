"""The result of one task run: main score (0-100), every metric, timing, model and instructions; JSON round trip."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from instructembed.atomic_file import write_text_atomic
from instructembed.errors import InstructEmbedError


@dataclass
class TaskResult:
    """`main_score` is `metrics[main_metric] * 100`; `metrics` keep MTEB's 0-1 scale."""

    task: str
    type: str
    main_metric: str
    main_score: float
    metrics: dict[str, Any]
    model: str
    instructions: dict[str, str | None]
    split: str = "test"
    seconds: float = 0.0
    texts_encoded: int = 0
    texts_reused: int = 0
    mteb_name: str | None = None
    same_as_mteb: bool = False
    max_rows: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return _clean(asdict(self))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskResult:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, path: str | Path) -> None:
        """Write JSON atomically (temp file in the same folder, then rename)."""
        write_text_atomic(Path(path), json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> TaskResult:
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise InstructEmbedError(f"cannot read result {path}: {exc}") from None


def _clean(value: Any) -> Any:
    """NaN/inf become None so the JSON is standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def result_file_name(task_name: str) -> str:
    return task_name.replace("/", "__") + ".json"


def load_results(folder: str | Path) -> dict[str, TaskResult]:
    """Every task result JSON in a results folder, by task name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InstructEmbedError(f"no results folder {folder}")
    results = {}
    for file in sorted(folder.glob("*.json")):
        data = json.loads(file.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "main_score" in data and "task" in data:
            results[data["task"]] = TaskResult.from_json(data)
    if not results:
        raise InstructEmbedError(f"no task results (*.json) in {folder}")
    return results
