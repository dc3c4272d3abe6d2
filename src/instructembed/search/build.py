"""Build an `Index` from a file of texts (embedded here) or from a folder of shards written by
`instructembed embed` (their vectors are used as they are, after their checksums are verified)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from instructembed.errors import InstructEmbedError
from instructembed.scale.identity import ModelIdentity
from instructembed.scale.manifest import MANIFEST_FILE, read_settings
from instructembed.search.index import Index

Chunk = tuple[np.ndarray, list[str], list[str | None] | None]


def is_shard_folder(corpus: str | Path) -> bool:
    return Path(corpus).is_dir() and (Path(corpus) / MANIFEST_FILE).is_file()


def build_index(
    corpus: str | Path,
    *,
    model: Any = None,
    instruction: str | None = None,
    text_field: str = "text",
    id_field: str | None = "id",
    kind: str = "flat",
    batch_size: int = 32,
    chunk_size: int = 4096,
    show_progress_bar: bool = True,
) -> Index:
    """An index over `corpus`: a `.txt`/`.jsonl`/`.csv`/`.parquet` file embedded with `model` under
    `instruction`, or a shard folder (its own model and instruction; `model`/`instruction`, when given,
    must match them)."""
    if is_shard_folder(corpus):
        settings, shards = read_settings(corpus)
        if instruction is not None and settings.instruction_column is None and instruction != settings.instruction:
            raise InstructEmbedError(
                f"{corpus} was embedded with instruction {settings.instruction!r}, not {instruction!r}: "
                "leave --instruction out or embed the corpus again"
            )
        if model is not None:
            settings.model.check_same(ModelIdentity.of(model), str(corpus))
        total = sum(int(entry.get("rows", 0)) for entry in shards.values())
        index = Index.create(settings.model, instruction=settings.instruction, kind=kind, expected_rows=total)
        chunks = _shard_chunks(Path(corpus), shards, settings.model.dimension)
    else:
        if model is None:
            raise InstructEmbedError("a file of texts needs a model to embed it")
        from instructembed.embedfiles.readers import count_rows

        total = count_rows(corpus) or 0
        index = Index.create(model, instruction=instruction, kind=kind, expected_rows=total)
        chunks = _embedded_chunks(model, corpus, instruction, text_field, id_field, batch_size, chunk_size)
    with tqdm(total=total, desc="Indexing", unit="row", disable=not show_progress_bar, dynamic_ncols=True) as bar:
        for vectors, ids, texts in _training_sized(chunks, index.training_rows):
            index.add(vectors, ids, texts)
            bar.update(len(ids))
    if not len(index):
        raise InstructEmbedError(f"{corpus} has no rows to index")
    return index


def _embedded_chunks(model: Any, corpus: str | Path, instruction: str | None, text_field: str, id_field: str | None, batch_size: int, chunk_size: int) -> Iterator[Chunk]:
    from instructembed.embedfiles.readers import read_rows

    rows = read_rows(corpus, text_field, instruction, None, id_field)
    while chunk := list(islice(rows, chunk_size)):
        vectors = model.encode([[r.instruction, r.text] for r in chunk], batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
        yield np.asarray(vectors), [r.id for r in chunk], [r.text for r in chunk]


def _shard_chunks(folder: Path, shards: dict[str, dict], dimension: int) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    from instructembed.engine.default_model import sha256_of

    for name, entry in sorted(shards.items()):
        path = folder / name
        if not path.is_file() or sha256_of(path) != entry.get("sha256"):
            raise InstructEmbedError(f"{path} is missing or fails its checksum: run the embed job again to redo it")
        file = pq.ParquetFile(path)
        has_text = "text" in file.schema_arrow.names
        for batch in file.iter_batches(batch_size=8192, columns=["id", "embedding"] + (["text"] if has_text else [])):
            flat = batch.column("embedding").flatten().to_numpy(zero_copy_only=False)
            vectors = np.asarray(flat, dtype=np.float32).reshape(-1, dimension)
            texts = batch.column("text").to_pylist() if has_text else None
            yield vectors, batch.column("id").to_pylist(), texts


def _training_sized(chunks: Iterator[Chunk], first: int) -> Iterator[Chunk]:
    """Chunks as they come, except that the first is grown to `first` rows (what an IVF index trains on)."""
    pending: list[Chunk] = []
    rows = 0
    for chunk in chunks:
        if rows >= first and not pending:
            yield chunk
            continue
        pending.append(chunk)
        rows += len(chunk[1])
        if rows >= first:
            yield _joined(pending)
            pending = []
    if pending:
        yield _joined(pending)


def _joined(chunks: list[Chunk]) -> Chunk:
    texts: list[str | None] | None = None
    if any(c[2] is not None for c in chunks):
        texts = [t for c in chunks for t in (c[2] if c[2] is not None else [None] * len(c[1]))]
    return np.concatenate([c[0] for c in chunks]), [i for c in chunks for i in c[1]], texts
