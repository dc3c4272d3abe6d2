"""Embed a whole file chunk by chunk: read, encode, write — memory stays flat however big the file."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from tqdm.auto import tqdm

from instructembed.embedfiles.readers import count_rows, read_rows
from instructembed.embedfiles.writers import EmbeddingWriter
from instructembed.engine import Instructor
from instructembed.errors import InstructEmbedError


@dataclass
class EmbedFileReport:
    rows: int
    tokens: int
    truncated: int
    output: Path


def embed_file(
    model: Instructor,
    input_path: str | Path,
    output_path: str | Path,
    *,
    instruction: str | None = None,
    instruction_field: str | None = None,
    text_field: str = "text",
    id_field: str | None = "id",
    skip_empty: bool = False,
    batch_size: int = 32,
    chunk_size: int = 4096,
    normalize: bool = True,
    show_progress_bar: bool = True,
) -> EmbedFileReport:
    """Embed every row of `input_path` into `output_path` (.npy, .parquet or .jsonl), atomically."""
    if chunk_size < 1:
        raise InstructEmbedError(f"chunk size must be >= 1, got {chunk_size}")
    rows = read_rows(input_path, text_field, instruction, instruction_field, id_field, skip_empty)
    total = count_rows(input_path)
    report = EmbedFileReport(0, 0, 0, Path(output_path))
    with EmbeddingWriter(output_path) as writer, tqdm(
        total=total, desc="Embedding", unit="text", disable=not show_progress_bar, dynamic_ncols=True
    ) as bar:
        while chunk := list(islice(rows, chunk_size)):
            pairs = [[row.instruction, row.text] for row in chunk]
            vectors = model.encode(pairs, batch_size=batch_size, normalize_embeddings=normalize, show_progress_bar=False)
            writer.write([row.id for row in chunk], [row.text for row in chunk], vectors)
            stats = model.last_encode_stats
            report.rows += stats.rows
            report.tokens += stats.tokens
            report.truncated += stats.truncated
            bar.update(len(chunk))
        if report.rows == 0:
            raise InstructEmbedError(f"{input_path} has no texts to embed")
        writer.commit()
    return report
