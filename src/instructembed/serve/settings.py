"""What one server instance allows: batching budget, queue bound and per-request limits."""

from __future__ import annotations

from dataclasses import dataclass

from instructembed.errors import InstructEmbedError


@dataclass
class ServerSettings:
    """Limits of a server; every field is also a `instructembed serve` option."""

    model_name: str = "default"  # the id reported by /v1/models and in responses
    api_key: str | None = None  # when set, every route but /health needs `Authorization: Bearer KEY`
    max_batch_tokens: int = 8192  # padded tokens (rows x longest row) per forward pass
    max_queue_rows: int = 4096  # rows waiting for the model; beyond it requests get 503 + Retry-After
    max_inputs: int = 2048  # inputs per request (413 beyond)
    max_chars: int = 50_000  # characters per input, instruction included (413 beyond)
    max_body_bytes: int = 16 * 1024 * 1024  # request body size (413 beyond)
    retry_after_s: int = 1  # the Retry-After hint sent with 503

    def __post_init__(self) -> None:
        for name in ("max_batch_tokens", "max_queue_rows", "max_inputs", "max_chars", "max_body_bytes", "retry_after_s"):
            if getattr(self, name) < 1:
                raise InstructEmbedError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_inputs > self.max_queue_rows:
            raise InstructEmbedError(
                f"max_inputs ({self.max_inputs}) must not exceed max_queue_rows ({self.max_queue_rows}): "
                "such a request could never be queued"
            )
