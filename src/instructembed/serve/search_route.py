"""`POST /search` (when the server is started with an index): embed the queries, search the index."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from starlette.concurrency import run_in_threadpool

from instructembed.serve.schemas import InputItem, Usage

MAX_K = 1000


class SearchRequest(BaseModel):
    """`query`: one or more queries (strings or `{instruction, text}`); `instruction` applies to plain strings."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"query": "what do yams store?", "instruction": "Represent the question for retrieving documents:", "k": 5}]},
    )
    query: InputItem | list[InputItem]
    instruction: str | None = None
    k: StrictInt = Field(default=10, ge=1, le=MAX_K)  # cut to the index's size


class SearchHit(BaseModel):
    id: str
    score: float
    text: str | None = None


class SearchResponse(BaseModel):
    object: str = "list"
    results: list[list[SearchHit]]  # one list per query, best first
    model: str
    usage: Usage


def add_search_route(app: FastAPI, service: Any, index: Any, model_name: str, dependencies: list) -> None:
    """Register `/search` on `app`, sharing the embedding service (its limits and batching) and auth."""

    @app.post("/search", response_model=SearchResponse, dependencies=dependencies)
    async def search(body: SearchRequest) -> JSONResponse:
        """The `k` documents nearest each query (cosine), from the index the server was started with."""
        pairs = service.pairs(body.query, body.instruction, "query")
        vectors, tokens, _ = await service.embed(pairs, "query")
        found = await run_in_threadpool(index.search, vectors, body.k)
        results = [[{"id": h.id, "score": h.score, "text": h.text} for h in hits] for hits in found]
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse({"object": "list", "results": results, "model": model_name, "usage": usage})
