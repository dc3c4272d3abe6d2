"""Fuzzing the HTTP surface (issue 10): schemathesis drives a real server from the server's own OpenAPI schema.

Valid and invalid bodies for every route (fixed seed, bounded), over real HTTP on a free port. Every
answer must be no 5xx; every error body must be the documented `{"error": {message, type, code}}`
with a one-line message; documented responses must match their schemas. Afterwards the server still
answers `/health` and a normal request, and its own metrics count no 5xx. A tiny random BERT keeps
each forward pass cheap; small limits keep each request small.
"""

from __future__ import annotations

from collections import Counter

import httpx
import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from instructembed import Instructor

SEEN: Counter = Counter()  # (method path, status) -> answers, over the whole fuzz run


@pytest.fixture(scope="module")
def fuzz_server(tiny_bert_path):
    from instructembed.serve import BackgroundServer, ServerSettings, create_app

    model = Instructor(tiny_bert_path, device="cpu")
    limits = ServerSettings(model_name="tiny", max_inputs=16, max_chars=500, max_body_bytes=20_000, max_queue_rows=256)
    with BackgroundServer(create_app(model, limits)) as running:
        running.model = model
        yield running


def error_body_is_documented(ctx, response, case) -> None:
    """Every answer >= 400 is `{"error": {"message", "type", "code"}}`, the message one line naming the problem."""
    SEEN[(f"{case.method} {case.path}", response.status_code)] += 1
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "code"}, error
    assert isinstance(error["message"], str) and error["message"] and "\n" not in error["message"], error
    assert isinstance(error["type"], str) and (error["code"] is None or isinstance(error["code"], str)), error


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_the_openapi_schema_fuzzed(fuzz_server, mode):
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")  # the server's own schema

    @settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(case=schema.as_strategy(generation_mode=mode))
    def call(case) -> None:
        case.call_and_validate(
            checks=[not_a_server_error, error_body_is_documented, status_code_conformance, response_schema_conformance],
            timeout=60,
        )

    call()


def test_the_server_still_answers_after_the_fuzzing(fuzz_server):
    assert sum(SEEN.values()) >= 200, SEEN  # a few hundred cases ran (this test runs after the fuzzing in this module)
    routes = {route for route, _ in SEEN}
    assert {"POST /v1/embeddings", "POST /embed", "POST /similarity", "GET /health"} <= routes, routes
    assert not [key for key in SEEN if key[1] >= 500], SEEN
    statuses = {status for _, status in SEEN}
    assert 200 in statuses and 422 in statuses, SEEN  # both valid and invalid bodies were sent
    assert httpx.get(f"{fuzz_server.url}/health").json()["status"] == "ok"
    response = httpx.post(f"{fuzz_server.url}/v1/embeddings", json={"input": ["still fine"], "instruction": "Represent:"})
    assert response.status_code == 200
    got = np.array(response.json()["data"][0]["embedding"], dtype=np.float32)
    assert np.abs(got - fuzz_server.model.encode(["still fine"], instruction="Represent:")[0]).max() < 1e-5
    metrics = httpx.get(f"{fuzz_server.url}/metrics").text
    assert 'status="5' not in metrics, [line for line in metrics.splitlines() if 'status="5' in line]
