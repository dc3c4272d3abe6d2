"""Serve instruction embeddings over HTTP (OpenAI-compatible) with dynamic batching."""

from instructembed.serve.app import create_app
from instructembed.serve.background import BackgroundServer
from instructembed.serve.client import EmbeddingClient
from instructembed.serve.settings import ServerSettings

__all__ = ["BackgroundServer", "EmbeddingClient", "ServerSettings", "create_app"]
