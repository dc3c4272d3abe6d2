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


class EmbeddingWriter:
    """Collects chunks into a temporary file beside the target; `commit()` renames it into place.

    Used as a context manager: leaving the block with an error removes the temporary file, so a
    failed run never leaves a partial output behind.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.format = self.path.suffix.lower()
        if self.format not in WRITE_FORMATS:
            raise InstructEmbedError(
                f"unknown output format {self.format or '(none)'!r} for {self.path}: use one of {', '.join(WRITE_FORMATS)}"
            )
        if not self.path.parent.exists():
            raise InstructEmbedError(f"output folder does not exist: {self.path.parent}")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._rows = 0
        self._dim: int | None = None
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
                self._file.write((json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8"))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.table(
                {
                    "id": pa.array(ids, pa.string()),
                    "text": pa.array(texts, pa.string()),
                    "embedding": pa.FixedSizeListArray.from_arrays(pa.array(embeddings.reshape(-1)), self._dim),
                }
            )
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._file, table.schema)
            self._parquet.write_table(table)
        self._rows += len(ids)

    def commit(self) -> Path:
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
        elif self.format == ".parquet" and self._parquet is None:
            raise InstructEmbedError("no rows to write")
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

    def __enter__(self) -> "EmbeddingWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def open_writer(path: str | Path) -> EmbeddingWriter:
    return EmbeddingWriter(path)
