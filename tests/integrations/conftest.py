"""A real server (with an API key) shared by the adapter tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def keyed_server(default_model):
    from instructembed.serve import BackgroundServer, ServerSettings, create_app

    with BackgroundServer(create_app(default_model, ServerSettings(api_key="k3y"))) as server:
        yield server
