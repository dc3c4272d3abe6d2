"""Stream rows (id, instruction, text) from .txt, .jsonl, .csv and .parquet files."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from instructembed.engine.inputs import is_blank
from instructembed.errors import InstructEmbedError

READ_FORMATS = (".txt", ".jsonl", ".csv", ".parquet")


@dataclass
class Row:
    id: str
    instruction: str
    text: str


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in READ_FORMATS:
        raise InstructEmbedError(f"unknown input format {suffix or '(none)'!r} for {path}: use one of {', '.join(READ_FORMATS)}")
    return suffix


def count_rows(path: str | Path) -> int | None:
    """A cheap row count for the progress bar (exact for .txt/.jsonl/.parquet, an estimate for .csv)."""
    path = Path(path)
    fmt = _format(path)
    if fmt == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception:
            return None
    with open(path, "rb") as f:
        lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    return max(lines - (1 if fmt == ".csv" else 0), 0)


def read_rows(
    path: str | Path,
    text_field: str = "text",
    instruction: str | None = None,
    instruction_field: str | None = None,
    id_field: str | None = "id",
    skip_empty: bool = False,
) -> Iterator[Row]:
    """Yield rows lazily; a bad row raises `InstructEmbedError` naming the file and line.

    `.txt` is one text a line. Other formats take the text from `text_field`, the instruction from
    `instruction_field` (else `instruction` for every row), and the id from `id_field` when present
    (else the 0-based row number). Empty texts (blank, as `encode` defines it) are an error unless `skip_empty`.
    """
    path = Path(path)
    fmt = _format(path)
    if not path.is_file():
        raise InstructEmbedError(f"input file not found: {path}")
    if instruction_field and fmt == ".txt":
        raise InstructEmbedError("--instruction-field needs a .jsonl, .csv or .parquet input (a .txt line has no fields)")
    records = {".txt": _txt, ".jsonl": _jsonl, ".csv": _csv, ".parquet": _parquet}[fmt](path)
    where = "row" if fmt == ".parquet" else "line"
    number = 0
    for number, (line, record) in enumerate(records):
        if fmt == ".txt":
            text, instr, rid = record, instruction or "", str(number)
        else:
            if text_field not in record:
                raise InstructEmbedError(f"{path} {where} {line}: missing column {text_field!r} (use --text-field)")
            text = record[text_field]
            if instruction_field:
                if instruction_field not in record:
                    raise InstructEmbedError(f"{path} {where} {line}: missing column {instruction_field!r}")
                instr = record[instruction_field]
            else:
                instr = instruction or ""
            rid = record.get(id_field) if id_field else None
            rid = str(number) if rid is None else str(rid)
        if not isinstance(text, str):
            raise InstructEmbedError(f"{path} {where} {line}: text must be a string, got {type(text).__name__}")
        if not isinstance(instr, str):
            raise InstructEmbedError(f"{path} {where} {line}: instruction must be a string, got {type(instr).__name__}")
        if is_blank(text):  # whitespace, zero-width and control characters only, as `encode` rules
            if skip_empty:
                continue
            raise InstructEmbedError(f"{path} {where} {line}: text is empty (use --skip-empty to skip such rows)")
        yield Row(rid, instr, text)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InstructEmbedError(f"{path} line {number} is not valid UTF-8") from None


def _txt(path: Path) -> Iterator[tuple[int, str]]:
    for number, line in _lines(path):
        yield number, line.rstrip("\r\n")


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InstructEmbedError(f"{path} line {number} is not valid JSON: {exc.msg}") from None
        if not isinstance(record, dict):
            raise InstructEmbedError(f"{path} line {number}: expected a JSON object, got {type(record).__name__}")
        yield number, record


def _csv(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            for record in reader:
                yield reader.line_num, record
    except UnicodeDecodeError:
        raise InstructEmbedError(f"{path} is not valid UTF-8") from None
    except csv.Error as exc:
        raise InstructEmbedError(f"{path} is not valid CSV: {exc}") from None


def _parquet(path: Path) -> Iterator[tuple[int, dict]]:
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except Exception as exc:
        raise InstructEmbedError(f"{path} is not a readable parquet file: {exc}") from None
    number = 0
    for batch in file.iter_batches(batch_size=4096):
        for record in batch.to_pylist():
            yield number, record
            number += 1
