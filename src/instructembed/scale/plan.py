"""What a shard job has to do: open (or resume) the output folder, skip verified shards, check the rest."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from instructembed.embedfiles.writers import EmbeddingWriter
from instructembed.errors import InstructEmbedError
from instructembed.scale.manifest import EmbedSettings, ShardManifest
from instructembed.scale.shards import InputShard, ShardInfo, find_shards, inspect_shard


@dataclass
class ShardReport:
    """`shards` in the input; `skipped` were complete already; `embedded` shards and `rows` were done now."""

    output: Path
    shards: int = 0
    skipped: int = 0
    embedded: int = 0
    rows: int = 0
    tokens: int = 0
    truncated: int = 0


@dataclass
class ShardPlan:
    manifest: ShardManifest
    shards: list[InputShard]
    pending: list[tuple[InputShard, ShardInfo]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(info.rows for _, info in self.pending)

    def report(self) -> ShardReport:
        return ShardReport(self.manifest.folder, len(self.shards), len(self.shards) - len(self.pending))


def plan_shards(inputs: str | Path, output: str | Path, settings: EmbedSettings) -> ShardPlan:
    """Find the input shards, open `output` (holding its lock) and check every shard still to do, so a
    bad shard fails the job before any model runs. The caller closes `plan.manifest`."""
    shards = find_shards(inputs)
    target = Path(output).resolve()
    if any(shard.path.parent == target for shard in shards):
        raise InstructEmbedError(f"output folder {output} holds input shards: write the embeddings to another folder")
    created = not target.exists()
    manifest = ShardManifest.open(output, settings)
    try:
        plan = ShardPlan(manifest, shards)
        for shard in shards:
            if not manifest.is_complete(shard):
                info = inspect_shard(shard, settings.text_column, settings.instruction_column, settings.id_column)
                plan.pending.append((shard, info))
    except BaseException:
        manifest.close()
        if created:  # a job refused while checking leaves no folder behind
            shutil.rmtree(target, ignore_errors=True)
        raise
    return plan


def shard_writer(manifest: ShardManifest, shard: InputShard) -> EmbeddingWriter:
    """A writer to the shard's temporary file; `commit_shard` renames it into place and records it."""
    with_text = "text" in manifest.settings.columns
    return EmbeddingWriter(manifest.output_path(shard), with_text=with_text, dimension=manifest.settings.model.dimension)


def commit_shard(manifest: ShardManifest, shard: InputShard, writer: EmbeddingWriter, rows: int) -> None:
    writer.commit()
    manifest.record(shard, rows)


def row_id(shard: InputShard, info: ShardInfo, value: object, row: int) -> str:
    """The id column's value; without one, `<shard>:<row>` so ids stay distinct across shards."""
    if not info.has_id:
        return f"{shard.stem}:{row}"
    return str(row) if value is None else str(value)


def write_empty_shard(manifest: ShardManifest, shard: InputShard) -> None:
    """An empty input shard gets an empty output shard (same schema), so the output mirrors the input."""
    with shard_writer(manifest, shard) as writer:
        commit_shard(manifest, shard, writer, 0)
