"""`instructembed serve`: the OpenAI-compatible embedding server."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from instructembed.cli.model_options import Backend, Dtype, check_model_options, load_encoder
from instructembed.errors import InstructEmbedError


def serve(
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Checkpoint folder, hub id, or (with --backend onnx) an export folder; default: the embedded model.")] = None,
    host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 for all).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    api_key: Annotated[Optional[str], typer.Option(envvar="INSTRUCTEMBED_API_KEY", help="Require 'Authorization: Bearer KEY' (also from INSTRUCTEMBED_API_KEY).", show_default=False)] = None,
    backend: Backend = "torch",
    dtype: Dtype = None,
    model_name: Annotated[Optional[str], typer.Option(help="Model id reported to clients (default: the folder name).")] = None,
    max_batch_tokens: Annotated[int, typer.Option(help="Padded tokens per forward pass (the dynamic-batching budget).")] = 8192,
    max_queue_rows: Annotated[int, typer.Option(help="Inputs allowed to wait; beyond it requests get 503 + Retry-After.")] = 4096,
    max_inputs: Annotated[int, typer.Option(help="Inputs per request (413 beyond).")] = 2048,
    max_chars: Annotated[int, typer.Option(help="Characters per input, instruction included (413 beyond).")] = 50_000,
    max_seq_length: Annotated[Optional[int], typer.Option(help="Token limit; longer inputs are truncated.")] = None,
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, ... (default: CUDA when available).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    index: Annotated[Optional[str], typer.Option(help="Also serve POST /search over this index (from `instructembed index build`, same model).", show_default=False)] = None,
) -> None:
    """Serve embeddings over HTTP: OpenAI-compatible /v1/embeddings with per-input instructions.

    Examples:

      instructembed serve --port 8080

      INSTRUCTEMBED_API_KEY=secret instructembed serve -m hkunlp/instructor-large --host 0.0.0.0

      instructembed serve --backend onnx-int8                       # the default model, exported once and cached

      instructembed serve -m runs/minilm-onnx --backend onnx

      instructembed serve --dtype bfloat16                          # ~3x float32 on a CPU with AMX

      instructembed serve --index corpus.index                      # adds POST /search

    Then:

      curl -s localhost:8080/v1/embeddings -H 'Content-Type: application/json' \\
        -d '{"input": ["3D ActionSLAM"], "instruction": "Represent the Science title:"}'
    """
    import uvicorn

    from instructembed.serve import ServerSettings, create_app

    if not 1 <= port <= 65535:
        raise InstructEmbedError(f"--port must be between 1 and 65535, got {port}")
    check_model_options(backend, dtype)
    settings = ServerSettings(
        model_name=model_name or (model.rstrip("/").rsplit("/", 1)[-1] if model else "default"),
        api_key=api_key or None, max_batch_tokens=max_batch_tokens, max_queue_rows=max_queue_rows,
        max_inputs=max_inputs, max_chars=max_chars,
    )  # validated before the model loads
    loaded_index = None
    if index is not None:
        from instructembed.search import Index

        loaded_index = Index.load(index)
    encoder = load_encoder(model, device=device, backend=backend, dtype=dtype, max_seq_length=max_seq_length)
    if loaded_index is not None:
        loaded_index.check_model(encoder)  # another model's index: a one-line error, no server
    typer.echo(
        f"serving {settings.model_name} ({encoder.get_sentence_embedding_dimension()}-d, {backend}{f', {dtype}' if dtype else ''}) on http://{host}:{port}"
        + (" (API key required)" if settings.api_key else "")
        + (f", /search over {len(loaded_index)} rows" if loaded_index is not None else ""),
        err=True,
    )
    uvicorn.run(create_app(encoder, settings, index=loaded_index), host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    app.command()(serve)
