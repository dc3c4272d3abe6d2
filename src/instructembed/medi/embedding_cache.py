"""Instruction-free embeddings for mining, cached on disk by content hash.

One cache file per list of texts: `<cache_dir>/<sha256(embedder key, max length, texts)>.npy`, so a rebuild
over the same data with the same embedder loads every array instead of re-embedding, and a changed task
re-embeds only that task. Arrays are stored as float16 (mining compares cosines, which float16 keeps to
about 3 decimals) and L2-normalized.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from instructembed.errors import InstructEmbedError

DEFAULT_CACHE_DIR = Path(".cache") / "instructembed" / "medi"


class CachedEmbedder:
    """Embeds texts without instructions with an `Instructor`, loaded lazily on the first cache miss.

    Example:
        >>> embedder = CachedEmbedder(None, ".cache/instructembed/medi")
        >>> embedder.embed(["a sentence", "another one"]).shape
        (2, 384)
    """

    def __init__(self, model_name_or_path: str | None, cache_dir: str | Path = DEFAULT_CACHE_DIR,
                 max_seq_length: int = 128, batch_size: int = 64, device: str | None = None) -> None:
        self.model_name_or_path = model_name_or_path
        self.cache_dir = Path(cache_dir)
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self.hits = 0
        self.misses = 0
        self.embedded_texts = 0

    @property
    def key(self) -> str:
        """Identifies the embedder in the cache key: the model (path resolved) and the token limit."""
        name = self.model_name_or_path
        if name is not None and Path(name).exists():
            name = str(Path(name).resolve())
        if name is None:
            from instructembed.engine.default_model import default_model_name

            name = default_model_name()  # the default changes when a tuned model ships; the key must follow it
        return f"{name}|max_seq_length={self.max_seq_length}"

    @property
    def model(self):
        if self._model is None:
            from instructembed.engine import Instructor

            try:
                self._model = Instructor(self.model_name_or_path, device=self.device, max_seq_length=self.max_seq_length)
            except InstructEmbedError:
                raise
            except Exception as exc:  # noqa: BLE001 - any load failure is the user's embedder setting
                raise InstructEmbedError(f"cannot load the embedder {self.model_name_or_path!r}: "
                                         f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
        return self._model

    def cache_path(self, texts: list[str]) -> Path:
        digest = hashlib.sha256(self.key.encode("utf-8"))
        for text in texts:
            digest.update(b"\x00")
            digest.update(text.encode("utf-8"))
        return self.cache_dir / f"{digest.hexdigest()[:32]}.npy"

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), d) float32, L2-normalized; from the cache when these exact texts were embedded before."""
        path = self.cache_path(texts)
        if path.is_file():
            try:
                array = np.load(path)
                if array.shape[0] == len(texts):
                    self.hits += 1
                    return array.astype(np.float32)
            except (OSError, ValueError):
                pass  # a damaged cache file is recomputed
        self.misses += 1
        engine_logger = logging.getLogger("instructembed.engine.instructor")
        level = engine_logger.level
        engine_logger.setLevel(logging.ERROR)  # truncation at max_seq_length is intended here
        try:
            vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False)
        finally:
            engine_logger.setLevel(level)
        self.embedded_texts += len(texts)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".npy.tmp", dir=self.cache_dir)
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, vectors.astype(np.float16))
        os.replace(tmp, path)
        return vectors.astype(np.float16).astype(np.float32)
