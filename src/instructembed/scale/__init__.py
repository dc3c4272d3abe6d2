"""Embed big corpora: folders of `.parquet`/`.jsonl` shards, one output shard per input shard, resumable,
in this process (`embed_shards`) or on a Ray cluster (`embed_shards_ray`, `embed_dataset`; `instructembed[ray]`).

Example:
    >>> from instructembed.scale import embed_shards_ray
    >>> embed_shards_ray("corpus/*.parquet", "vectors/", instruction="Represent the document for retrieval:", workers=4)
"""

from instructembed.scale.identity import ModelIdentity, weights_checksum
from instructembed.scale.local_engine import embed_shards
from instructembed.scale.manifest import MANIFEST_FILE, EmbedSettings, ShardManifest, read_settings
from instructembed.scale.plan import ShardReport
from instructembed.scale.ray_engine import embed_dataset, embed_shards_ray
from instructembed.scale.shards import InputShard, find_shards

__all__ = [
    "MANIFEST_FILE",
    "EmbedSettings",
    "InputShard",
    "ModelIdentity",
    "ShardManifest",
    "ShardReport",
    "embed_dataset",
    "embed_shards",
    "embed_shards_ray",
    "find_shards",
    "read_settings",
    "weights_checksum",
]
