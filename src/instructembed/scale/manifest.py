"""`manifest.json` of an output folder of embedding shards: how its vectors were made and which shards
are complete. A rerun skips the shards it verifies and refuses settings that would mix two kinds of vector."""

from __future__ import annotations

import fcntl
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from instructembed.engine.default_model import sha256_of
from instructembed.errors import InstructEmbedError
from instructembed.atomic_file import write_text_atomic
from instructembed.scale.identity import ModelIdentity
from instructembed.scale.shards import InputShard

MANIFEST_FILE = "manifest.json"
FORMAT = "instructembed-shards/1"
_LOCK_FILE = ".lock"


@dataclass(frozen=True)
class EmbedSettings:
    """Everything that decides the vectors of a folder: a rerun must match it to add shards."""

    model: ModelIdentity
    backend: str = "torch"
    max_seq_length: int | None = None
    normalize: bool = True
    instruction: str | None = None
    instruction_column: str | None = None
    text_column: str = "text"
    id_column: str | None = "id"
    columns: tuple[str, ...] = ("id", "text", "embedding")

    def __post_init__(self) -> None:
        if self.instruction is not None and self.instruction_column is not None:
            raise InstructEmbedError("give an instruction or an instruction column, not both")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"] = self.model.to_json()
        data["columns"] = list(self.columns)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> EmbedSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["model"] = ModelIdentity.from_json(data.get("model"), where)
        known["columns"] = tuple(known.get("columns", ()))
        return cls(**known)


@dataclass
class ShardManifest:
    """The manifest of `folder`; `open` holds the folder's lock until `close` (one job at a time)."""

    folder: Path
    settings: EmbedSettings
    shards: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: Any = None

    @classmethod
    def open(cls, folder: str | Path, settings: EmbedSettings) -> ShardManifest:
        """Create `folder` or reopen it; an InstructEmbedError if it holds vectors made another way."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise InstructEmbedError(f"output {folder} is a file; give a folder for the shards")
        if not folder.parent.is_dir():
            raise InstructEmbedError(f"output folder's parent does not exist: {folder.parent}")
        folder.mkdir(exist_ok=True)
        manifest = cls(folder, settings, _lock=_lock(folder))
        try:
            manifest._load_existing()
        except BaseException:
            manifest.close()
            raise
        for stale in [*folder.glob(".*.part"), *folder.glob(f".{MANIFEST_FILE}.*.tmp")]:
            stale.unlink(missing_ok=True)  # half-written files of a job that was killed
        return manifest

    def _load_existing(self) -> None:
        path = self.folder / MANIFEST_FILE
        if not path.exists():
            others = [p.name for p in self.folder.iterdir() if not p.name.startswith(".")]
            if others:
                raise InstructEmbedError(
                    f"output folder {self.folder} is not empty and has no {MANIFEST_FILE}: give a new or empty folder"
                )
            self.save()
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            old = EmbedSettings.from_json(data["settings"], str(self.folder))
            shards = dict(data["shards"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InstructEmbedError(f"cannot read {path}: {exc}") from None
        _check_compatible(old, self.settings, self.folder)
        self.shards = shards

    def output_path(self, shard: InputShard) -> Path:
        return self.folder / shard.name

    def is_complete(self, shard: InputShard) -> bool:
        """True when the shard's output exists, passes its checksum and was made from this very input."""
        entry = self.shards.get(shard.name)
        output = self.output_path(shard)
        if entry is None or not output.is_file():
            return False
        stat = shard.path.stat()
        if entry.get("input") != str(shard.path) or entry.get("input_bytes") != stat.st_size or entry.get("input_mtime_ns") != stat.st_mtime_ns:
            return False
        return sha256_of(output) == entry.get("sha256")

    def record(self, shard: InputShard, rows: int) -> None:
        """Note a shard whose output was just renamed into place (the manifest is rewritten atomically)."""
        stat = shard.path.stat()
        self.shards[shard.name] = {
            "input": str(shard.path), "input_bytes": stat.st_size, "input_mtime_ns": stat.st_mtime_ns,
            "rows": rows, "sha256": sha256_of(self.output_path(shard)),
        }
        self.save()

    def save(self) -> None:
        data = {"format": FORMAT, "settings": self.settings.to_json(), "shards": dict(sorted(self.shards.items()))}
        write_text_atomic(self.folder / MANIFEST_FILE, json.dumps(data, indent=1, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def __enter__(self) -> ShardManifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_settings(folder: str | Path) -> tuple[EmbedSettings, dict[str, dict[str, Any]]]:
    """The settings and complete shards of a folder written by `embed_shards` (for building an index)."""
    path = Path(folder) / MANIFEST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}")
        return EmbedSettings.from_json(data["settings"], str(folder)), dict(data["shards"])
    except FileNotFoundError:
        raise InstructEmbedError(f"{folder} has no {MANIFEST_FILE}: not a folder written by `instructembed embed`") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InstructEmbedError(f"cannot read {path}: {exc}") from None


def _lock(folder: Path):
    handle = open(folder / _LOCK_FILE, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise InstructEmbedError(f"another job is writing to {folder} (its lock is held): wait for it or stop it") from None
    return handle


def _check_compatible(old: EmbedSettings, new: EmbedSettings, folder: Path) -> None:
    """Refuse to add vectors made another way than those already in `folder`."""
    old.model.check_same(new.model, str(folder))
    for name in ("instruction", "instruction_column", "text_column", "id_column", "normalize", "max_seq_length", "backend", "columns"):
        before, now = getattr(old, name), getattr(new, name)
        if before != now:
            raise InstructEmbedError(
                f"{folder} holds embeddings made with {name} {before!r}, not {now!r}: "
                f"embed into a new folder (or remove {folder} to start over)"
            )
