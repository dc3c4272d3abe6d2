"""On-disk embedding cache keyed by (model identity, instruction, text): npy shards named by sha256.

Layout: `<root>/<model fingerprint>/<sha256(instruction)[:32]>/<shard>.keys.npy` (n x 32 bytes, the sha256 of
each text) beside `<shard>.vectors.npy` (n x d float32). Each encode call that misses adds one shard, written to
a temporary file and renamed, so a killed run never leaves a half-written shard behind.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

DEFAULT_CACHE_DIR = Path(".cache") / "instructembed" / "embeddings"


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """Vectors of (instruction, text) pairs for one model, read from and appended to shards on disk."""

    def __init__(self, root: str | Path = DEFAULT_CACHE_DIR) -> None:
        self.root = Path(root)
        self._loaded: dict[Path, dict[bytes, np.ndarray]] = {}

    def _folder(self, model_id: str, instruction: str | None) -> Path:
        tag = hashlib.sha256(("\x00none" if instruction is None else instruction).encode("utf-8")).hexdigest()[:32]
        return self.root / model_id / tag

    def _index(self, folder: Path) -> dict[bytes, np.ndarray]:
        if folder not in self._loaded:
            index: dict[bytes, np.ndarray] = {}
            if folder.is_dir():
                for keys_file in sorted(folder.glob("*.keys.npy")):
                    vectors_file = keys_file.with_name(keys_file.name.replace(".keys.npy", ".vectors.npy"))
                    if not vectors_file.is_file():
                        continue
                    keys = np.load(keys_file)
                    vectors = np.load(vectors_file)
                    if len(keys) != len(vectors):
                        continue
                    for key, vector in zip(keys, vectors):
                        index[key.tobytes()] = vector
            self._loaded[folder] = index
        return self._loaded[folder]

    def get(self, model_id: str, instruction: str | None, texts: list[str]) -> list[np.ndarray | None]:
        """The cached vector of each text, or None where it is not cached."""
        index = self._index(self._folder(model_id, instruction))
        return [index.get(text_key(t)) for t in texts]

    def put(self, model_id: str, instruction: str | None, texts: list[str], vectors: np.ndarray) -> None:
        """Store vectors as one new shard (atomic: temp files then rename)."""
        if not texts:
            return
        folder = self._folder(model_id, instruction)
        folder.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(text_key(t) for t in texts), dtype=np.uint8).reshape(len(texts), 32)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        shard = hashlib.sha256(keys.tobytes()).hexdigest()[:24]
        # vectors first: a shard counts only once its keys file exists
        for suffix, array in ((".vectors.npy", vectors), (".keys.npy", keys)):
            handle, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                np.save(out, array)
            os.replace(tmp, folder / f"{shard}{suffix}")
        index = self._index(folder)
        for key, vector in zip(keys, vectors):
            index[key.tobytes()] = vector
