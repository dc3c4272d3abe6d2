"""The HTTP server: OpenAI-compatible `/v1/embeddings`, TEI-style `/embed`, `/similarity`, health and metrics."""

from __future__ import annotations

import base64
import functools
import hmac
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from instructembed.engine.batching import TokenizedPairs
from instructembed.engine.inputs import Pair, to_pairs
from instructembed.errors import InstructEmbedError
from instructembed.serve.batcher import BatchForward, DynamicBatcher, QueueFull
from instructembed.serve.disconnect import CancelOnDisconnect
from instructembed.serve.memory import ReleaseMemoryWhenIdle
from instructembed.serve.metrics import ServerMetrics
from instructembed.serve.schemas import (
    EmbeddingRequest,
    EmbeddingResponse,
    EmbedRequest,
    ErrorResponse,
    InputItem,
    ModelList,
    SimilarityRequest,
    SimilarityResponse,
)
from instructembed.serve.settings import ServerSettings

# A request within both limits tokenizes on the event loop; a larger one off it, in parts within them,
# so a small request never waits behind a whole big one for the tokenizer, and a cancelled one stops
# between parts.
_INLINE_TOKENIZE_ROWS = 64
_INLINE_TOKENIZE_CHARS = 100_000


class ApiError(Exception):
    """An error answered as `{"error": {message, type, code}}` with an HTTP status."""

    def __init__(self, status: int, message: str, code: str, kind: str = "invalid_request_error", headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.kind, self.headers = status, message, code, kind, headers


def torch_batch_forward(model: Any) -> BatchForward:
    """Run padded token rows through a torch `Instructor` (its pooling mask leaves instructions out)."""
    import torch

    def forward(input_ids: list[list[int]], instruction_lengths: list[int]) -> np.ndarray:
        features = model.pair_tokenizer.collate(input_ids, instruction_lengths)
        features = {k: v.to(model.device) for k, v in features.items()}
        with torch.inference_mode():
            return model.forward(features)["sentence_embedding"].float().cpu().numpy()

    return forward


def batch_forward_for(model: Any) -> BatchForward:
    """The batch function of any model with a `pair_tokenizer`: ONNX models bring their own."""
    if hasattr(model, "embed_token_rows"):
        return model.embed_token_rows
    return torch_batch_forward(model)


class EmbeddingService:
    """Validates, tokenizes and queues inputs; shared by every route."""

    def __init__(self, model: Any, settings: ServerSettings, metrics: ServerMetrics) -> None:
        self.model, self.settings, self.metrics = model, settings, metrics
        self.dimension = int(model.get_sentence_embedding_dimension())
        # a torch model runs without its final Normalize, so `normalize: false` can be honoured; `embed`
        # applies it per request (an ONNX graph has it inside: its output is final)
        self.raw = getattr(model, "graph", None) is None and hasattr(model, "forward_features")
        self.normalizes = bool(getattr(model, "ends_in_normalize", True))
        forward = functools.partial(model.embed_token_rows, normalize=False) if self.raw else batch_forward_for(model)
        self.batcher = DynamicBatcher(forward, settings.max_batch_tokens, settings.max_queue_rows, metrics)
        self._tokenizer_lock = threading.Lock()  # HF fast tokenizers must not be entered by two threads at once

    def pairs(self, inputs: InputItem | Sequence[InputItem], instruction: str | None, field: str) -> list[Pair]:
        items = inputs if isinstance(inputs, list) else [inputs]
        if not items:
            raise ApiError(422, f"{field}: must hold at least one input", "invalid_input")
        if len(items) > self.settings.max_inputs:
            raise ApiError(413, f"{field}: {len(items)} inputs, more than the limit of {self.settings.max_inputs}", "too_many_inputs")
        raw = [item if isinstance(item, str) else item.model_dump() for item in items]
        try:
            pairs, _ = to_pairs(raw, instruction)
        except InstructEmbedError as exc:
            raise ApiError(422, f"{field}: {exc}", "invalid_input") from None
        for i, (instr, text) in enumerate(pairs):
            if len(instr) + len(text) > self.settings.max_chars:
                raise ApiError(
                    413, f"{field}[{i}]: {len(instr) + len(text)} characters, more than the limit of {self.settings.max_chars}",
                    "input_too_long",
                )
        return pairs

    def _tokenize(self, pairs: list[Pair], first_index: int = 0) -> TokenizedPairs:
        with self._tokenizer_lock:
            return self.model.pair_tokenizer.tokenize(pairs, first_index)

    async def _tokenize_in_parts(self, pairs: list[Pair]) -> TokenizedPairs:
        parts, begin, chars = [], 0, 0
        for end, (instruction, text) in enumerate(pairs, 1):
            chars += len(instruction) + len(text)
            if end == len(pairs) or end - begin == _INLINE_TOKENIZE_ROWS or chars >= _INLINE_TOKENIZE_CHARS:
                parts.append((begin, end))
                begin, chars = end, 0
        if len(parts) == 1:
            return self._tokenize(pairs)
        whole = TokenizedPairs([], [], 0)
        for begin, end in parts:
            part = await run_in_threadpool(self._tokenize, pairs[begin:end], begin)
            whole.input_ids += part.input_ids
            whole.instruction_lengths += part.instruction_lengths
            whole.truncated += part.truncated
        return whole

    async def embed(self, pairs: list[Pair], field: str, normalize: bool | None = None) -> tuple[np.ndarray, int, int]:
        """(rows, dim) embeddings, real token count, truncated row count. The embeddings are as the model
        gives them (`normalize=None`), unit length (`True`) or the raw output before a final Normalize (`False`)."""
        if normalize is False and self.normalizes and not self.raw:
            raise ApiError(
                422, "normalize: this model's ONNX graph ends in Normalize, so raw vectors are not available "
                "(send normalize=true, or serve the model with --backend torch)", "normalize_unsupported",
            )
        try:
            tokenized = await self._tokenize_in_parts(pairs)
        except InstructEmbedError as exc:
            raise ApiError(422, f"{field}: {exc}", "invalid_input") from None
        try:
            vectors = await self.batcher.embed(tokenized.input_ids, tokenized.instruction_lengths)
        except QueueFull:
            raise ApiError(
                503, "the server is busy: too many inputs are waiting; retry shortly", "queue_full",
                kind="server_overloaded", headers={"Retry-After": str(self.settings.retry_after_s)},
            ) from None
        if normalize or normalize is None and self.raw and self.normalizes:
            vectors = _normalized(vectors)
        tokens = sum(len(row) for row in tokenized.input_ids)
        self.metrics.inputs.inc(len(pairs))
        self.metrics.tokens.inc(tokens)
        self.metrics.truncated.inc(tokenized.truncated)
        return vectors, tokens, tokenized.truncated


def _normalized(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _error_response(status: int, message: str, code: str | None, kind: str, headers: dict | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _field_path(loc: Sequence[Any]) -> str:
    """`("body", "input", "list[...]", 0, "InstructedText", "text")` -> `input[0].text` (union tags dropped)."""
    parts = [str(p) for p in loc if p != "body" and not _is_union_tag(p)]
    path = ""
    for part in parts:
        path += f"[{part}]" if part.isdigit() else (f".{part}" if path else part)
    return path or "body"


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part in ("str", "int", "float") or "[" in part or part[:1].isupper())


def _validation_message(errors: Sequence[dict]) -> str:
    """One line naming the field: the deepest error wins (it is the one about the member the client meant)."""
    if not errors:
        return "body: invalid request body"
    first = max(errors, key=lambda e: len([p for p in e.get("loc", ()) if not _is_union_tag(p)]))
    if first.get("type") == "json_invalid":
        return f"body: invalid JSON ({first.get('ctx', {}).get('error', first.get('msg'))})"
    return f"{_field_path(first.get('loc', ()))}: {first.get('msg')}"


class BodyLimit:
    """ASGI middleware: 413 as soon as a request body passes `limit` bytes, counted while it is read,
    so a chunked body (no Content-Length) is held to the same limit; the app gets the body replayed."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
        if length.isdigit() and int(length) > self.limit:
            return await self._too_large(f"request body of {length} bytes exceeds the limit of {self.limit}")(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                return await self._too_large(f"request body exceeds the limit of {self.limit} bytes")(scope, receive, send)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        pending = [whole if message["type"] == "http.request" else message]

        async def replay() -> dict:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _too_large(message: str) -> JSONResponse:
        return _error_response(413, message, "body_too_large", "invalid_request_error")


def create_app(model: Any, settings: ServerSettings | None = None, index: Any = None) -> FastAPI:
    """A FastAPI app serving `model` (a torch `Instructor` or an ONNX one) with dynamic batching;
    with an `instructembed.search.Index` (made by the same model, checked) it also serves `/search`.

    Example:
        >>> import uvicorn
        >>> uvicorn.run(create_app(Instructor(), ServerSettings(api_key="secret")), port=8080)
    """
    settings = settings or ServerSettings()
    if index is not None:
        index.check_model(model)  # an index of another model's vectors is refused before serving
    metrics = ServerMetrics()
    service = EmbeddingService(model, settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.batcher.start()
        try:
            yield
        finally:
            service.batcher.stop()

    app = FastAPI(
        title="instructembed",
        summary="Instruction-aware text embeddings, OpenAI-compatible.",
        lifespan=lifespan,
        responses={
            401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 413: {"model": ErrorResponse},
            422: {"model": ErrorResponse}, 503: {"model": ErrorResponse},
        },
    )
    app.state.service = service
    app.state.metrics = metrics

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # added first, so `observe` counts its 413s

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable) -> Response:
        started = time.perf_counter()
        route = request.url.path
        try:
            response = await call_next(request)
        except Exception:  # a failing request never takes the server down
            response = _error_response(500, "internal error while embedding", "internal_error", "server_error")
        if route in _KNOWN_ROUTES:
            metrics.requests.labels(route, str(response.status_code)).inc()
            metrics.latency.labels(route).observe(time.perf_counter() - started)
        return response

    def client_left(scope: dict) -> None:  # counted as nginx does: 499, client closed the request
        if scope["path"] in _KNOWN_ROUTES:
            metrics.requests.labels(scope["path"], "499").inc()

    app.add_middleware(CancelOnDisconnect, on_disconnect=client_left)  # outside `observe`: it cancels everything inside
    app.add_middleware(ReleaseMemoryWhenIdle)  # outermost: it sees every request, cancelled ones too

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc.status, exc.message, exc.code, exc.kind, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error_response(422, _validation_message(exc.errors()), "invalid_request_body", "invalid_request_error")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's answer to a body it cannot decode (not UTF-8): a malformed body, as bad JSON is
            return _error_response(422, "body: cannot be decoded (send UTF-8 encoded JSON)", "invalid_request_body", "invalid_request_error")
        return _error_response(exc.status_code, str(exc.detail), None, "invalid_request_error", getattr(exc, "headers", None))

    async def authorize(request: Request) -> None:
        if settings.api_key is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), settings.api_key.encode()):
            raise ApiError(401, "missing or invalid API key: send 'Authorization: Bearer KEY'", "invalid_api_key",
                           headers={"WWW-Authenticate": "Bearer"})

    guarded = [Depends(authorize)]
    source = str(getattr(model, "model_name_or_path", "") or "")
    # what a client may put in `model`: the id /v1/models lists, or the name or path the model was loaded by
    served_names = {settings.model_name, source, source.rstrip("/").rsplit("/", 1)[-1]} - {""}

    @app.post("/v1/embeddings", response_model=EmbeddingResponse, dependencies=guarded)
    async def embeddings(body: EmbeddingRequest) -> JSONResponse:
        """OpenAI-compatible embeddings; `instruction` (or per-input `{"instruction", "text"}`) is the INSTRUCTOR part."""
        if body.model is not None and body.model not in served_names:
            raise ApiError(
                404, f"model: {body.model!r} is not served here; this server serves {settings.model_name!r} (see /v1/models)",
                "model_not_found",
            )
        if body.dimensions is not None and body.dimensions > service.dimension:
            raise ApiError(422, f"dimensions: {body.dimensions} exceeds the model's {service.dimension}", "invalid_dimensions")
        pairs = service.pairs(body.input, body.instruction, "input")
        vectors, tokens, _ = await service.embed(pairs, "input")
        if body.dimensions is not None:
            vectors = _normalized(vectors[:, : body.dimensions])
        if body.encoding_format == "base64":
            encoded: list[Any] = [base64.b64encode(v.astype("<f4").tobytes()).decode("ascii") for v in vectors]
        else:
            encoded = vectors.tolist()
        data = [{"object": "embedding", "embedding": e, "index": i} for i, e in enumerate(encoded)]
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse({"object": "list", "data": data, "model": settings.model_name, "usage": usage})

    @app.post("/embed", response_model=list[list[float]], dependencies=guarded)
    async def embed(body: EmbedRequest) -> JSONResponse:
        """TEI-style: a bare list of vectors, unit length unless `normalize` is false (then the raw pooled/Dense output)."""
        pairs = service.pairs(body.inputs, body.instruction, "inputs")
        vectors, _, truncated = await service.embed(pairs, "inputs", normalize=body.normalize)
        if truncated and not body.truncate:
            raise ApiError(
                413, f"inputs: {truncated} input(s) exceed max_seq_length={model.max_seq_length} tokens "
                "(send truncate=true to cut them)", "input_too_long",
            )
        return JSONResponse(vectors.tolist())

    @app.post("/similarity", response_model=SimilarityResponse, dependencies=guarded)
    async def similarity(body: SimilarityRequest) -> JSONResponse:
        """Cosine similarity of each `[a, b]` pair; either side may carry its own instruction."""
        flat = [side for pair in body.pairs for side in pair]
        pairs = service.pairs(flat, body.instruction, "pairs")
        vectors, tokens, _ = await service.embed(pairs, "pairs")
        unit = _normalized(vectors)
        scores = np.sum(unit[0::2] * unit[1::2], axis=1)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse({"object": "list", "scores": scores.tolist(), "model": settings.model_name, "usage": usage})

    if index is not None:
        from instructembed.serve.search_route import add_search_route

        add_search_route(app, service, index, settings.model_name, guarded)

    @app.get("/v1/models", response_model=ModelList, dependencies=guarded)
    async def models() -> dict:
        card = {"id": settings.model_name, "object": "model", "created": 0, "owned_by": "instructembed",
                "dimensions": service.dimension, "max_seq_length": int(model.max_seq_length)}
        return {"object": "list", "data": [card]}

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "model": settings.model_name, "queued_rows": service.batcher.queued_rows}

    @app.get("/metrics", dependencies=guarded, response_class=PlainTextResponse)
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    return app


_KNOWN_ROUTES = {"/v1/embeddings", "/embed", "/similarity", "/search", "/v1/models", "/health", "/metrics"}
