"""Per-task instructions: the paper's JSON format (`{task: str}` or `{task: {"query", "corpus"}}`), and for
Steering tasks one instruction per property (`{task: {property: str}}`, as `steering_instructions.json`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instructembed.errors import InstructEmbedError
from instructembed.shared_data import instructions_dir

DEFAULT_MODEL_SET = "hkunlp/instructor-large"  # the paper's per-task instruction set used by default


@dataclass(frozen=True)
class TaskInstructions:
    """The instruction for queries (and for every text of symmetric tasks) and for documents; None = none.

    Steering tasks carry `properties` instead: property -> the instruction that asks for it.
    """

    query: str | None = None
    corpus: str | None = None
    properties: dict[str, str] | None = field(default=None, hash=False)

    def to_json(self) -> dict[str, Any]:
        if self.properties:
            return {"query": self.query, "corpus": self.corpus, "properties": dict(self.properties)}
        return {"query": self.query, "corpus": self.corpus}


NO_INSTRUCTIONS = TaskInstructions()


class InstructionSet:
    """A mapping task name -> `TaskInstructions`, looked up by task name, then by its MTEB name.

    Example:
        >>> s = InstructionSet({"STS12": "Represent the statement: "})
        >>> s.for_task("STS12").query
        'Represent the statement: '
    """

    def __init__(self, entries: dict[str, Any] | None = None, source: str = "inline") -> None:
        self.source = source
        self.entries: dict[str, TaskInstructions] = {}
        for key, value in (entries or {}).items():
            if key.startswith("_"):
                continue
            self.entries[key] = _parse_entry(key, value, source)

    @classmethod
    def none(cls) -> InstructionSet:
        """No instruction for any task (plain sentence-embedding evaluation)."""
        return cls({}, source="none")

    @classmethod
    def from_file(cls, path: str | Path) -> InstructionSet:
        """Read a JSON file in the format of the shared `mteb_instructions.json`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InstructEmbedError(f"cannot read instructions file {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise InstructEmbedError(f"instructions file {path} is not JSON: {exc.msg} (line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise InstructEmbedError(f"instructions file {path} must hold a JSON object of task -> instruction")
        return cls(data, source=str(path))

    @classmethod
    def default(cls, folder: str | Path | None = None, model_set: str = DEFAULT_MODEL_SET) -> InstructionSet:
        """The paper's instructor-large set, plus the shared extra tasks, Steering, Billboard and prompt retrieval."""
        folder = Path(folder) if folder is not None else instructions_dir()
        merged: dict[str, Any] = {}
        for name in ("mteb_instructions.json", "extra_eval_instructions.json"):
            file = folder / name
            if not file.is_file():
                raise InstructEmbedError(f"default instructions not found: {file} (use --instructions FILE)")
            merged.update(json.loads(file.read_text(encoding="utf-8")))
        steering_file = folder / "steering_instructions.json"
        if steering_file.is_file():
            merged.update(json.loads(steering_file.read_text(encoding="utf-8")))
        other_file = folder / "other_eval_instructions.json"
        if other_file.is_file():
            other = json.loads(other_file.read_text(encoding="utf-8"))
            for name, text in other.get("billboard", {}).get(model_set, {}).items():
                merged[f"billboard/{name}"] = text
            for name, text in other.get("prompt_retrieval", {}).items():
                merged[f"prompt_retrieval/{name}"] = text
        return cls(merged, source=f"default ({model_set} + extra)")

    def for_task(self, name: str, mteb_name: str | None = None) -> TaskInstructions:
        """The task's instructions; `NO_INSTRUCTIONS` when the set has none for it."""
        if name in self.entries:
            return self.entries[name]
        if mteb_name and mteb_name in self.entries:
            return self.entries[mteb_name]
        return NO_INSTRUCTIONS

    def with_entry(self, name: str, value: str | dict[str, str] | None) -> InstructionSet:
        """A copy with one task's instruction replaced (used by the analyses)."""
        copy = InstructionSet(source=self.source)
        copy.entries = dict(self.entries)
        copy.entries[name] = _parse_entry(name, value, self.source)
        return copy

    def __len__(self) -> int:
        return len(self.entries)


def _parse_entry(key: str, value: Any, source: str) -> TaskInstructions:
    if value is None:
        return NO_INSTRUCTIONS
    if isinstance(value, str):
        return TaskInstructions(value, value)
    if isinstance(value, dict) and set(value) <= {"query", "corpus"} and all(
        v is None or isinstance(v, str) for v in value.values()
    ):
        return TaskInstructions(value.get("query"), value.get("corpus"))
    if isinstance(value, dict) and value and all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()):
        return TaskInstructions(properties=dict(value))  # a Steering task: property -> instruction
    raise InstructEmbedError(
        f"instructions {source}: entry {key!r} must be a string, {{\"query\": str, \"corpus\": str}} "
        f"or, for a Steering task, {{property: str}}"
    )


def resolve_instructions(instructions: InstructionSet | dict[str, Any] | str | Path | None) -> InstructionSet:
    """Accept a set, a dict in the file format, a file path, or None (= no instructions)."""
    if instructions is None:
        return InstructionSet.none()
    if isinstance(instructions, InstructionSet):
        return instructions
    if isinstance(instructions, dict):
        return InstructionSet(instructions)
    return InstructionSet.from_file(instructions)
