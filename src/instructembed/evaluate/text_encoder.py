"""Turns (instruction, text) rows into vectors through any encoder, de-duplicating and caching on the way.

An encoder is any object with `encode(inputs, batch_size=..., ...) -> np.ndarray` where inputs are
`[[instruction, text], ...]` pairs (`Instructor`) or plain strings (used when there is no instruction,
so a plain sentence-transformers model works too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from instructembed.engine.fingerprint import model_fingerprint
from instructembed.evaluate.embedding_cache import EmbeddingCache

CHUNK = 1024  # texts per encode call: bounds memory and lets the progress bar move


class TextEncoder:
    """Embeds texts for one task run; `progress` is the task's bar (None: no bar)."""

    def __init__(
        self,
        model: Any,
        cache: EmbeddingCache | None = None,
        batch_size: int = 32,
        model_id: str | None = None,
    ) -> None:
        self.model = model
        self.cache = cache
        self.batch_size = batch_size
        self.model_id = model_id if model_id is not None else (model_fingerprint(model) if cache is not None else None)
        self.progress: tqdm | None = None
        self.encoded = 0  # texts sent to the model (cache misses)
        self.reused = 0  # texts served by the cache or de-duplication

    def encode(self, texts: Sequence[str], instruction: str | None | Sequence[str | None] = None) -> np.ndarray:
        """(n, d) float32 vectors of `texts`, each under `instruction` (one for all, or one per text)."""
        texts = list(texts)
        if isinstance(instruction, str) or instruction is None:
            per_text = [instruction or None] * len(texts)
        else:
            per_text = [i or None for i in instruction]
        out: list[np.ndarray | None] = [None] * len(texts)
        groups: dict[str | None, list[int]] = {}
        for i, instr in enumerate(per_text):
            groups.setdefault(instr, []).append(i)
        for instr, rows in groups.items():
            unique = list(dict.fromkeys(texts[i] for i in rows))
            vectors = self._encode_unique(unique, instr)
            lookup = dict(zip(unique, vectors))
            self.reused += len(rows) - len(unique)
            for i in rows:
                out[i] = lookup[texts[i]]
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack(out).astype(np.float32, copy=False)

    def _encode_unique(self, texts: list[str], instruction: str | None) -> list[np.ndarray]:
        cached = (
            self.cache.get(self.model_id, instruction, texts)
            if self.cache is not None and self.model_id is not None
            else [None] * len(texts)
        )
        missing = [i for i, v in enumerate(cached) if v is None]
        self.reused += len(texts) - len(missing)
        if self.progress is not None:
            self.progress.total = (self.progress.total or 0) + len(missing)
            self.progress.refresh()
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start : start + CHUNK]
            batch = [texts[i] for i in chunk]
            inputs = [[instruction, t] for t in batch] if instruction else batch
            vectors = np.asarray(self.model.encode(inputs, batch_size=self.batch_size, show_progress_bar=False))
            vectors = vectors.astype(np.float32, copy=False)
            if self.cache is not None and self.model_id is not None:
                self.cache.put(self.model_id, instruction, batch, vectors)
            for i, vector in zip(chunk, vectors):
                cached[i] = vector
            self.encoded += len(chunk)
            if self.progress is not None:
                self.progress.update(len(chunk))
        return cached  # type: ignore[return-value]

    def token_count(self, text: str, limit: int | None = None) -> int | None:
        """Tokens of a text under the model's tokenizer (special tokens included), counted up to
        `limit + 1` when a limit is given; None for a model without a tokenizer."""
        tokenizer = getattr(self.model, "tokenizer", None)
        if tokenizer is None:
            return None
        if limit is None:
            return len(tokenizer(text)["input_ids"])
        return len(tokenizer(text, truncation=True, max_length=limit + 1)["input_ids"])
