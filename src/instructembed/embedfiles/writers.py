"""Write embeddings as .npy, .parquet (id, text, embedding) or .jsonl — atomically, chunk by chunk."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from instructembed.errors import InstructEmbedError

WRITE_FORMATS = (".npy", ".parquet", ".jsonl")


def check_output_path(path: Path) -> None:
    """Fail before any work if `path` cannot become an output file: a folder, an unknown
    format, or a parent folder that is missing or is a file."""
    if path.is_dir():
        raise InstructEmbedError(f"output {path} is a folder; give a file path such as {path / 'embeddings.npy'}")
    if path.suffix.lower() not in WRITE_FORMATS:
        raise InstructEmbedError(
            f"unknown output format {path.suffix or '(none)'!r} for {path}: use one of {', '.join(WRITE_FORMATS)}"
        )
    existing = next((p for p in (path.parent, *path.parent.parents) if p.exists()), path.parent)
    if existing.exists() and not existing.is_dir():
        raise InstructEmbedError(f"cannot write {path}: {existing} is a file, not a folder")
    if existing != path.parent:
        raise InstructEmbedError(f"output folder does not exist: {path.parent}")


class EmbeddingWriter:
    """Collects chunks into a temporary file beside the target; `commit()` renames it into place.

    Used as a context manager: leaving the block with an error removes the temporary file, so a
    failed run never leaves a partial output behind. `with_text=False` leaves the text out; a
    `dimension` lets a parquet file with no rows be written (its schema needs the vector size).
    """

    def __init__(self, path: str | Path, *, with_text: bool = True, dimension: int | None = None) -> None:
        self.path = Path(path)
        check_output_path(self.path)
        self.format = self.path.suffix.lower()
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
        except OSError as exc:
            raise InstructEmbedError(f"cannot write to {self.path.parent}: {exc.strerror or exc}") from None
        os.close(fd)
        self._tmp = Path(tmp)
        self._rows = 0
        self._dim: int | None = dimension
        self._with_text = with_text
        self._parquet = None
        self._file = open(self._tmp, "wb")

    def write(self, ids: list[str], texts: list[str], embeddings: np.ndarray) -> None:
        embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        self._dim = embeddings.shape[1]
        if self.format == ".npy":
            self._file.write(embeddings.tobytes())  # raw rows now; the header goes in at commit
        elif self.format == ".jsonl":
            for rid, text, vector in zip(ids, texts, embeddings):
                line = {"id": rid, "text": text, "embedding": [round(float(x), 7) for x in vector]}
                if not self._with_text:
                    del line["text"]
                self._file.write((json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8"))
        else:
            self._write_parquet(self._table(ids, texts, embeddings))
        self._rows += len(ids)

    def _table(self, ids: list[str], texts: list[str], embeddings: np.ndarray):
        import pyarrow as pa

        columns = {"id": pa.array(ids, pa.string())}
        if self._with_text:
            columns["text"] = pa.array(texts, pa.string())
        flat = pa.array(embeddings.reshape(-1), pa.float32())
        columns["embedding"] = pa.FixedSizeListArray.from_arrays(flat, self._dim)
        return pa.table(columns)

    def _write_parquet(self, table) -> None:
        import pyarrow.parquet as pq

        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._file, table.schema)
        self._parquet.write_table(table)

    def commit(self) -> Path:
        if self.format == ".parquet" and self._parquet is None:
            if self._dim is None:
                raise InstructEmbedError("no rows to write")
            self._write_parquet(self._table([], [], np.zeros((0, self._dim), np.float32)))  # the schema alone
        if self._parquet is not None:
            self._parquet.close()
        self._file.close()
        if self.format == ".npy":
            final = self._tmp.with_suffix(".npy.part")
            with open(final, "wb") as out:
                np.lib.format.write_array_header_1_0(
                    out, {"descr": "<f4", "fortran_order": False, "shape": (self._rows, self._dim or 0)}
                )
                with open(self._tmp, "rb") as raw:
                    shutil.copyfileobj(raw, out, 1 << 20)
            self._tmp.unlink()
            self._tmp = final
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._parquet is not None:
            try:
                self._parquet.close()
            except Exception:
                pass
        self._file.close()
        self._tmp.unlink(missing_ok=True)
        self._tmp.with_suffix(".npy.part").unlink(missing_ok=True)  # commit's .npy copy, if it had begun

    def __enter__(self) -> "EmbeddingWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def open_writer(path: str | Path) -> EmbeddingWriter:
    return EmbeddingWriter(path)
