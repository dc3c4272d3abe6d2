"""A small HTTP client for a running `instructembed serve`: texts + one instruction in, vectors out."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from instructembed.errors import InstructEmbedError


class EmbeddingClient:
    """Calls `POST /v1/embeddings` with an `instruction`; sync and async.

    Example:
        >>> client = EmbeddingClient("http://127.0.0.1:8080", api_key="secret")
        >>> client.embed(["3D ActionSLAM"], instruction="Represent the Science title:").shape
        (1, 384)
    """

    def __init__(self, base_url: str, api_key: str | None = None, model: str | None = None, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeout = timeout

    def _body(self, texts: Sequence[Any], instruction: str | None) -> dict:
        body: dict[str, Any] = {"input": list(texts), "encoding_format": "base64"}
        if instruction:
            body["instruction"] = instruction
        if self.model:
            body["model"] = self.model
        return body

    def _decode(self, response: httpx.Response) -> np.ndarray:
        if response.status_code != 200:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise InstructEmbedError(f"embedding server answered {response.status_code}: {message}")
        data = sorted(response.json()["data"], key=lambda d: d["index"])
        return np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in data]).astype(np.float32)

    def embed(self, texts: Sequence[Any], instruction: str | None = None) -> np.ndarray:
        """(n, d) embeddings of `texts` (strings or `{"instruction", "text"}` dicts)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        try:
            response = httpx.post(f"{self.base_url}/v1/embeddings", json=self._body(texts, instruction),
                                  headers=self.headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise InstructEmbedError(f"cannot reach the embedding server at {self.base_url}: {exc}") from None
        return self._decode(response)

    async def aembed(self, texts: Sequence[Any], instruction: str | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(f"{self.base_url}/v1/embeddings", json=self._body(texts, instruction), headers=self.headers)
        except httpx.HTTPError as exc:
            raise InstructEmbedError(f"cannot reach the embedding server at {self.base_url}: {exc}") from None
        return self._decode(response)
