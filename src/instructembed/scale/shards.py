"""Input shards: a file, a folder or a glob of `.parquet` / `.jsonl` files, each checked before any work."""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path

from instructembed.errors import InstructEmbedError

SHARD_FORMATS = (".parquet", ".jsonl")


def is_glob(spec: str | Path) -> bool:
    return any(ch in str(spec) for ch in "*?[")


def is_shard_input(spec: str | Path) -> bool:
    """A folder, a glob, or one `.parquet` / `.jsonl` file."""
    return is_glob(spec) or Path(spec).is_dir() or Path(spec).suffix.lower() in SHARD_FORMATS


@dataclass(frozen=True)
class InputShard:
    """One input file and the name of its output shard (`part-0001.jsonl` -> `part-0001.parquet`)."""

    path: Path
    name: str

    @property
    def format(self) -> str:
        return self.path.suffix.lower()

    @property
    def stem(self) -> str:
        """The output name without `.parquet`: the prefix of row ids in shards without an id column."""
        return self.name[: -len(".parquet")]


@dataclass(frozen=True)
class ShardInfo:
    """What a shard holds, read from its footer (parquet) or first record (jsonl)."""

    rows: int  # exact for parquet; the count of non-blank lines for jsonl
    has_id: bool


def find_shards(spec: str | Path) -> list[InputShard]:
    """The shards of `spec`, sorted: the file itself, the `.parquet`/`.jsonl` files directly in a folder,
    or the files a glob matches (`**` recurses). One format only; output names must be distinct."""
    text = str(spec)
    if is_glob(text):
        paths = [Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file()]
        where = f"the pattern {text!r}"
    elif Path(text).is_dir():
        paths = [p for p in Path(text).iterdir() if p.is_file() and not p.name.startswith(".")]
        where = f"the folder {text}"
    elif Path(text).is_file():
        paths = [Path(text)]
        where = text
    else:
        raise InstructEmbedError(f"input not found: {text}")
    paths = sorted(p.resolve() for p in paths if p.suffix.lower() in SHARD_FORMATS)
    if not paths:
        raise InstructEmbedError(f"no .parquet or .jsonl shards in {where}")
    formats = {p.suffix.lower() for p in paths}
    if len(formats) > 1:
        raise InstructEmbedError(f"{where} mixes {' and '.join(sorted(formats))} shards: give one format at a time")
    root = Path(os.path.commonpath([p.parent for p in paths]))
    shards = []
    for path in paths:
        relative = path.relative_to(root).with_suffix(".parquet")
        shards.append(InputShard(path, "__".join(relative.parts)))
    names = [s.name for s in shards]
    if len(set(names)) != len(names):
        raise InstructEmbedError(f"two shards of {where} would share an output name: rename one")
    return shards


def inspect_shard(shard: InputShard, text_column: str, instruction_column: str | None, id_column: str | None) -> ShardInfo:
    """Row count and columns, or a one-line error for a corrupt file or a missing column."""
    if shard.format == ".parquet":
        import pyarrow.parquet as pq

        try:
            file = pq.ParquetFile(shard.path)
        except Exception as exc:
            raise InstructEmbedError(f"{shard.path} is not a readable parquet file: {exc}") from None
        columns = set(file.schema_arrow.names)
        rows = file.metadata.num_rows
        known = ", ".join(file.schema_arrow.names)
    else:
        rows, first = _jsonl_rows(shard.path)
        columns = set(first) if first is not None else set()
        known = ", ".join(first) if first is not None else ""
    if rows:
        for column, option in ((text_column, "--text-field"), (instruction_column, "--instruction-field")):
            if column is not None and column not in columns:
                raise InstructEmbedError(f"{shard.path}: missing column {column!r} (columns: {known}; use {option})")
        if shard.format == ".parquet":
            nulls = _parquet_nulls(file, text_column)
            if nulls:
                raise InstructEmbedError(f"{shard.path}: {nulls} row(s) with a null {text_column!r}")
    return ShardInfo(rows, id_column is not None and id_column in columns)


def _parquet_nulls(file, column: str) -> int:
    """Nulls in a column by the footer's statistics (0 where a writer kept none: rows are checked again when embedded)."""
    total = 0
    for group in range(file.metadata.num_row_groups):
        row_group = file.metadata.row_group(group)
        for i in range(row_group.num_columns):
            chunk = row_group.column(i)
            if chunk.path_in_schema == column and chunk.statistics is not None and chunk.statistics.has_null_count:
                total += chunk.statistics.null_count
    return total


def _jsonl_rows(path: Path) -> tuple[int, dict | None]:
    """Non-blank lines and the first record (None in an empty file)."""
    rows, first = 0, None
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            if first is None:
                try:
                    first = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise InstructEmbedError(f"{path} line {number} is not valid JSON: {exc}") from None
                if not isinstance(first, dict):
                    raise InstructEmbedError(f"{path} line {number}: expected a JSON object, got {type(first).__name__}")
            rows += 1
    return rows, first
