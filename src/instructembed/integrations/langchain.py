"""LangChain `Embeddings` with separate query and document instructions (extra: `pip install langchain-core`)."""

from __future__ import annotations

from typing import Any

from instructembed.errors import InstructEmbedError
from instructembed.integrations.source import DEFAULT_DOCUMENT_INSTRUCTION, DEFAULT_QUERY_INSTRUCTION, EmbeddingSource

try:
    from langchain_core.embeddings import Embeddings
except ImportError:  # optional extra: the class still imports, and explains itself when built
    Embeddings = object  # type: ignore[assignment,misc]
    _MISSING = True
else:
    _MISSING = False


class InstructEmbeddings(Embeddings):
    """Queries and documents embedded under their own instructions, in-process or through `instructembed serve`.

    Args:
        model: an `Instructor`/`OnnxInstructor`, a checkpoint folder, or None for the default model.
        base_url: a running server instead (e.g. "http://127.0.0.1:8080"); `api_key` if it wants one.
        query_instruction / document_instruction: INSTRUCTOR instructions; each call may override them.

    Example:
        >>> emb = InstructEmbeddings(query_instruction="Represent the science question for retrieving papers:",
        ...                          document_instruction="Represent the science paper for retrieval:")
        >>> emb.embed_query("what is ActionSLAM?")[:3]
    """

    def __init__(
        self, model: Any = None, *, base_url: str | None = None, api_key: str | None = None,
        query_instruction: str = DEFAULT_QUERY_INSTRUCTION, document_instruction: str = DEFAULT_DOCUMENT_INSTRUCTION,
        normalize: bool = True, batch_size: int = 32,
    ) -> None:
        if _MISSING:
            raise InstructEmbedError("InstructEmbeddings needs LangChain: pip install langchain-core")
        self.source = EmbeddingSource(model, base_url=base_url, api_key=api_key, normalize=normalize, batch_size=batch_size)
        self.query_instruction = query_instruction
        self.document_instruction = document_instruction

    def embed_documents(self, texts: list[str], instruction: str | None = None) -> list[list[float]]:
        return self.source.embed(texts, _pick(instruction, self.document_instruction)).tolist()

    def embed_query(self, text: str, instruction: str | None = None) -> list[float]:
        return self.source.embed([text], _pick(instruction, self.query_instruction))[0].tolist()

    async def aembed_documents(self, texts: list[str], instruction: str | None = None) -> list[list[float]]:
        return (await self.source.aembed(texts, _pick(instruction, self.document_instruction))).tolist()

    async def aembed_query(self, text: str, instruction: str | None = None) -> list[float]:
        return (await self.source.aembed([text], _pick(instruction, self.query_instruction)))[0].tolist()


def _pick(override: str | None, default: str) -> str:
    return default if override is None else override
