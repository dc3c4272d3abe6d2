"""Prometheus metrics of one server: requests, inputs, tokens, forward-pass sizes, latency."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

disable_created_metrics()  # `*_created` timestamps double the output and no dashboard reads them

_ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_TOKEN_BUCKETS = (64, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServerMetrics:
    """One registry per server, so several servers (or tests) in a process never share counts."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("instructembed_requests", "HTTP requests by route and status", ["route", "status"], registry=r)
        self.inputs = Counter("instructembed_inputs", "Texts embedded", registry=r)
        self.tokens = Counter("instructembed_tokens", "Real (unpadded) tokens embedded", registry=r)
        self.truncated = Counter("instructembed_truncated_inputs", "Texts cut at max_seq_length", registry=r)
        self.forward_passes = Counter("instructembed_forward_passes", "Model forward passes", registry=r)
        self.rejected = Counter("instructembed_queue_rejections", "Requests refused with 503: queue full", registry=r)
        self.cancelled = Counter(
            "instructembed_cancelled_requests", "Requests dropped because their client disconnected while they waited", registry=r,
        )
        self.dropped_rows = Counter(
            "instructembed_dropped_rows", "Queued rows taken out unembedded: their client disconnected", registry=r,
        )
        self.batch_rows = Histogram("instructembed_batch_rows", "Rows per forward pass", buckets=_ROW_BUCKETS, registry=r)
        self.batch_tokens = Histogram(
            "instructembed_batch_padded_tokens", "Padded tokens (rows x width) per forward pass",
            buckets=_TOKEN_BUCKETS, registry=r,
        )
        self.latency = Histogram(
            "instructembed_request_latency_seconds", "Request latency by route", ["route"],
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.forward_seconds = Histogram(
            "instructembed_forward_seconds", "Wall time of one forward pass", buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.queue_rows = Gauge("instructembed_queue_rows", "Rows waiting for a forward pass", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
