"""Where framework adapters get vectors from: a model in this process, or a running server."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from instructembed.errors import InstructEmbedError

DEFAULT_QUERY_INSTRUCTION = "Represent the question for retrieving supporting documents:"
DEFAULT_DOCUMENT_INSTRUCTION = "Represent the document for retrieval:"


class EmbeddingSource:
    """`embed(texts, instruction)` through a local model (`Instructor`, `OnnxInstructor`, a folder) or a server URL."""

    def __init__(
        self, model: Any = None, *, base_url: str | None = None, api_key: str | None = None,
        normalize: bool = True, batch_size: int = 32,
    ) -> None:
        if model is not None and base_url is not None:
            raise InstructEmbedError("give a model or a base_url, not both")
        self.normalize, self.batch_size = normalize, batch_size
        self.client = None
        self.model = None
        if base_url is not None:
            from instructembed.serve.client import EmbeddingClient

            self.client = EmbeddingClient(base_url, api_key=api_key)
        elif model is None or isinstance(model, str) or hasattr(model, "__fspath__"):
            from instructembed.engine import Instructor

            self.model = Instructor(model)
        elif hasattr(model, "encode"):
            self.model = model
        else:
            raise InstructEmbedError(f"model must be an Instructor, a checkpoint path or None, got {type(model).__name__}")

    @property
    def name(self) -> str:
        if self.client is not None:
            return self.client.base_url
        return str(getattr(self.model, "model_name_or_path", type(self.model).__name__))

    def _finish(self, vectors: np.ndarray) -> np.ndarray:
        if self.normalize and len(vectors):
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def embed(self, texts: Sequence[str], instruction: str | None) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if self.client is not None:
            return self._finish(self.client.embed(texts, instruction))
        return self._finish(np.asarray(self.model.encode(texts, instruction=instruction or None, batch_size=self.batch_size)))

    async def aembed(self, texts: Sequence[str], instruction: str | None) -> np.ndarray:
        if self.client is not None:
            return self._finish(await self.client.aembed(list(texts), instruction))
        return await asyncio.to_thread(self.embed, texts, instruction)
