"""MEDI records: `{"query": [instr, text], "pos": [instr, text], "neg": [instr, text], "task_id": str}`.

JSONL is written one record a line; the official MEDI JSON (one list of records, `task_name` instead of
`task_id`) is read too. Reading streams: a JSONL file line by line, a JSON list object by object.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from instructembed.errors import InstructEmbedError

SIDES = ("query", "pos", "neg")
Record = dict[str, Any]


def make_record(task_id: str, query: tuple[str, str], pos: tuple[str, str], neg: tuple[str, str]) -> Record:
    """A record with the fields in the canonical order."""
    return {"query": list(query), "pos": list(pos), "neg": list(neg), "task_id": task_id}


def record_task(record: Record) -> Any:
    """The record's task: `task_id`, or the official MEDI's `task_name`."""
    return record.get("task_id", record.get("task_name"))


def validate_record(record: Any, index: int) -> None:
    """Raise `InstructEmbedError` naming the record index and field when `record` is not a valid MEDI record."""
    where = f"record {index}"
    if not isinstance(record, dict):
        raise InstructEmbedError(f"{where}: expected a JSON object, got {type(record).__name__}")
    task = record_task(record)
    if task is None:
        raise InstructEmbedError(f"{where}: field 'task_id': missing (nor is there a 'task_name')")
    if not isinstance(task, str) or not task.strip():
        raise InstructEmbedError(f"{where}: field 'task_id': must be a non-empty string, got {task!r}")
    for side in SIDES:
        if side not in record:
            raise InstructEmbedError(f"{where}: field {side!r}: missing")
        value = record[side]
        if not isinstance(value, list) or len(value) != 2:
            arity = len(value) if isinstance(value, list) else type(value).__name__
            raise InstructEmbedError(f"{where}: field {side!r}: must be [instruction, text], got {arity} item(s)")
        instruction, text = value
        if not isinstance(instruction, str):
            raise InstructEmbedError(f"{where}: field {side!r}: instruction must be a string, got {type(instruction).__name__}")
        if not isinstance(text, str):
            raise InstructEmbedError(f"{where}: field {side!r}: text must be a string, got {type(text).__name__}")
        if not text.strip():
            raise InstructEmbedError(f"{where}: field {side!r}: empty text")
    texts = {side: record[side][1].strip() for side in SIDES}
    if texts["pos"] == texts["query"]:
        raise InstructEmbedError(f"{where}: field 'pos': text identical to the query")
    if texts["neg"] == texts["query"]:
        raise InstructEmbedError(f"{where}: field 'neg': text identical to the query")
    if texts["neg"] == texts["pos"]:
        raise InstructEmbedError(f"{where}: field 'neg': text identical to the positive")
    labels = record.get("labels")
    if labels is not None and (not isinstance(labels, list) or len(labels) != 3 or not all(isinstance(v, str) for v in labels)):
        raise InstructEmbedError(f"{where}: field 'labels': must be [query label, positive label, negative label], got {labels!r}")


def _json_list_items(path: Path, chunk_size: int = 1 << 20) -> Iterator[Any]:
    """Yield the items of a top-level JSON list one by one without loading the whole file."""
    decoder = json.JSONDecoder()
    with path.open(encoding="utf-8") as handle:
        buffer, pos, started, eof = "", 0, False, False

        def fill() -> bool:
            nonlocal buffer, pos, eof
            chunk = handle.read(chunk_size)
            buffer, pos = buffer[pos:] + chunk, 0
            eof = not chunk
            return bool(chunk)

        while True:
            while pos < len(buffer) and buffer[pos] in " \t\r\n,":
                if buffer[pos] == "," and not started:
                    raise InstructEmbedError(f"{path}: not a JSON list of records")
                pos += 1
            if pos >= len(buffer):
                if eof or not fill():
                    raise InstructEmbedError(f"{path}: truncated JSON (no closing ']')")
                continue
            if not started:
                if buffer[pos] != "[":
                    raise InstructEmbedError(f"{path}: not a JSON list of records")
                started, pos = True, pos + 1
                continue
            if buffer[pos] == "]":
                return
            try:
                item, end = decoder.raw_decode(buffer, pos)
            except json.JSONDecodeError as exc:
                if not eof and fill():
                    continue
                raise InstructEmbedError(f"{path}: invalid JSON near character {exc.pos}: {exc.msg}") from None
            if end == len(buffer) and not eof:  # a number or literal may continue in the next chunk
                if fill():
                    continue
            yield item
            pos = end


def read_records(path: str | Path, validate: bool = True) -> Iterator[Record]:
    """Stream the records of a MEDI file: `.jsonl` (one a line) or `.json` (the official list)."""
    path = Path(path)
    if not path.is_file():
        raise InstructEmbedError(f"MEDI file not found: {path}")
    if path.suffix.lower() == ".json":
        items: Iterable[Any] = _json_list_items(path)
    else:
        items = _jsonl_items(path)
    for index, record in enumerate(items):
        if validate:
            validate_record(record, index)
        yield record


def _jsonl_items(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise InstructEmbedError(f"{path}:{line_number}: invalid JSON: {exc.msg}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def dumps_record(record: Record) -> str:
    """One JSONL line (no newline); stable key order and non-ASCII kept as is."""
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


def write_records(records: Iterable[Record], path: str | Path, validate: bool = True) -> int:
    """Write records as JSONL atomically (temp file in the same folder, then rename); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for record in records:
                if validate:
                    validate_record(record, count)
                handle.write(dumps_record(record) + "\n")
                count += 1
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
