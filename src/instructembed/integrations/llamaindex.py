"""LlamaIndex embedding with separate query and text instructions (extra: `pip install llama-index-core`)."""

from __future__ import annotations

from typing import Any

from instructembed.errors import InstructEmbedError
from instructembed.integrations.source import DEFAULT_DOCUMENT_INSTRUCTION, DEFAULT_QUERY_INSTRUCTION, EmbeddingSource

try:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import Field, PrivateAttr
except ImportError:  # optional extra
    _MISSING = True
else:
    _MISSING = False

if _MISSING:

    class InstructEmbedding:  # type: ignore[no-redef]
        """Placeholder that explains the missing extra."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise InstructEmbedError("InstructEmbedding needs LlamaIndex: pip install llama-index-core")

else:

    class InstructEmbedding(BaseEmbedding):
        """Queries and texts (nodes) embedded under their own instructions, in-process or via `instructembed serve`.

        Example:
            >>> from llama_index.core import Settings
            >>> Settings.embed_model = InstructEmbedding(base_url="http://127.0.0.1:8080",
            ...     query_instruction="Represent the question for retrieving supporting documents:",
            ...     text_instruction="Represent the document for retrieval:")
        """

        query_instruction: str = Field(default=DEFAULT_QUERY_INSTRUCTION, description="Instruction for queries.")
        text_instruction: str = Field(default=DEFAULT_DOCUMENT_INSTRUCTION, description="Instruction for documents.")
        _source: EmbeddingSource = PrivateAttr()

        def __init__(
            self, model: Any = None, *, base_url: str | None = None, api_key: str | None = None,
            normalize: bool = True, **kwargs: Any,
        ) -> None:
            source = EmbeddingSource(model, base_url=base_url, api_key=api_key, normalize=normalize,
                                     batch_size=kwargs.get("embed_batch_size", 32))
            kwargs.setdefault("model_name", source.name)
            super().__init__(**kwargs)
            self._source = source

        @classmethod
        def class_name(cls) -> str:
            return "InstructEmbedding"

        def embed(self, texts: list[str], instruction: str | None) -> list[list[float]]:
            """Any instruction, for callers that need more than the query/text pair."""
            return self._source.embed(texts, instruction).tolist()

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._source.embed([query], self.query_instruction)[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return (await self._source.aembed([query], self.query_instruction))[0].tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._source.embed([text], self.text_instruction)[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._source.embed(texts, self.text_instruction).tolist()

        async def _aget_text_embedding(self, text: str) -> list[float]:
            return (await self._source.aembed([text], self.text_instruction))[0].tolist()

        async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return (await self._source.aembed(texts, self.text_instruction)).tolist()
