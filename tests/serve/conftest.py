"""One real uvicorn server per session (default model, API key set), started on a free port."""

from __future__ import annotations

import pytest

API_KEY = "test-key"


@pytest.fixture(scope="session")
def server(default_model):
    from instructembed.serve import BackgroundServer, ServerSettings, create_app

    settings = ServerSettings(
        model_name="minilm", api_key=API_KEY, max_inputs=100, max_chars=2000, max_body_bytes=100_000, max_queue_rows=1000,
    )
    app = create_app(default_model, settings)
    with BackgroundServer(app) as running:
        running.app = app
        yield running


@pytest.fixture(scope="session")
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="session")
def openai_client(server):
    import openai

    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0)
