"""The single-process engine for a folder of shards: one output shard per input shard, resumable."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from instructembed.embedfiles.readers import read_rows
from instructembed.errors import InstructEmbedError
from instructembed.scale.identity import ModelIdentity
from instructembed.scale.manifest import EmbedSettings
from instructembed.scale.plan import ShardReport, commit_shard, plan_shards, row_id, shard_writer, write_empty_shard


def embed_settings(
    identity: ModelIdentity,
    *,
    backend: str = "torch",
    max_seq_length: int | None = None,
    normalize: bool = True,
    instruction: str | None = None,
    instruction_column: str | None = None,
    text_column: str = "text",
    id_column: str | None = "id",
    keep_text: bool = True,
) -> EmbedSettings:
    columns = ("id", "text", "embedding") if keep_text else ("id", "embedding")
    return EmbedSettings(identity, backend, max_seq_length, normalize, instruction, instruction_column, text_column, id_column, columns)


def embed_shards(
    model: Any,
    inputs: str | Path,
    output: str | Path,
    *,
    instruction: str | None = None,
    instruction_column: str | None = None,
    text_column: str = "text",
    id_column: str | None = "id",
    keep_text: bool = True,
    batch_size: int = 32,
    chunk_size: int = 4096,
    normalize: bool = True,
    backend: str = "torch",
    show_progress_bar: bool = True,
) -> ShardReport:
    """Embed every `.parquet`/`.jsonl` shard of `inputs` (a file, folder or glob) into `output`/<shard>.parquet.

    A rerun skips shards already complete and verified; each output shard appears only once complete;
    a folder made with another model or instruction is refused.

    Example:
        >>> embed_shards(Instructor(), "corpus/", "vectors/", instruction="Represent the document for retrieval:")
    """
    if chunk_size < 1:
        raise InstructEmbedError(f"chunk size must be >= 1, got {chunk_size}")
    settings = embed_settings(
        ModelIdentity.of(model), backend=backend, max_seq_length=int(model.max_seq_length), normalize=normalize,
        instruction=instruction, instruction_column=instruction_column, text_column=text_column, id_column=id_column,
        keep_text=keep_text,
    )
    plan = plan_shards(inputs, output, settings)
    report = plan.report()
    with plan.manifest as manifest, tqdm(
        total=plan.rows, desc="Embedding", unit="text", disable=not show_progress_bar, dynamic_ncols=True
    ) as bar:
        for shard, info in plan.pending:
            if info.rows == 0:
                write_empty_shard(manifest, shard)
                report.embedded += 1
                continue
            id_field = id_column if info.has_id else None
            rows = read_rows(shard.path, text_column, instruction, instruction_column, id_field)
            done = 0
            with shard_writer(manifest, shard) as writer:
                while chunk := list(islice(rows, chunk_size)):
                    pairs = [[row.instruction, row.text] for row in chunk]
                    vectors = model.encode(pairs, batch_size=batch_size, normalize_embeddings=normalize, show_progress_bar=False)
                    ids = [row.id if info.has_id else row_id(shard, info, None, done + i) for i, row in enumerate(chunk)]
                    writer.write(ids, [row.text for row in chunk], vectors)
                    stats = model.last_encode_stats
                    report.tokens += stats.tokens
                    report.truncated += stats.truncated
                    done += len(chunk)
                    bar.update(len(chunk))
                commit_shard(manifest, shard, writer, done)
            report.embedded += 1
            report.rows += done
    return report
