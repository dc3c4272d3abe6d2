"""`instructembed index build`: a FAISS index from a file of texts or a folder of embedding shards."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from instructembed.cli.model_options import Backend, Dtype, check_model_options, load_encoder
from instructembed.errors import InstructEmbedError

index_app = typer.Typer(name="index", help="Build vector indexes to search with `instructembed search`.", no_args_is_help=True)

KIND_NAMES = ("flat", "hnsw", "ivf")


@index_app.command("build")
def build(
    corpus: Annotated[Path, typer.Argument(help="Texts (.txt/.jsonl/.csv/.parquet) to embed, or a folder of shards from `instructembed embed` (used as they are).", show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Index folder to write (atomically).", show_default=False)],
    instruction: Annotated[Optional[str], typer.Option(help="The corpus instruction, e.g. 'Represent the document for retrieval:' (shards: must match theirs).")] = None,
    text_field: Annotated[str, typer.Option(help="Column holding the text (.jsonl/.csv/.parquet).")] = "text",
    id_field: Annotated[str, typer.Option(help="Column holding the row id (row number when absent).")] = "id",
    kind: Annotated[str, typer.Option(help="flat (exact), hnsw (fast, approximate) or ivf (compact, approximate).")] = "flat",
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model to embed with; default: the embedded model (shards: their own).")] = None,
    batch_size: Annotated[int, typer.Option(help="Texts per forward pass.")] = 32,
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, ... (default: CUDA when available).")] = None,
    backend: Backend = "torch",
    dtype: Dtype = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Build a search index: ids, text snippets, the corpus instruction, the model's name and checksum.

    Examples:

      instructembed index build corpus.jsonl -o corpus.index --instruction "Represent the document for retrieval:" --kind hnsw

      instructembed index build vectors/ -o corpus.index     # shards written by `instructembed embed`: no re-embedding
    """
    from instructembed.search import build_index, is_shard_folder

    check_model_options(backend, dtype)
    if kind not in KIND_NAMES:
        raise InstructEmbedError(f"--kind must be one of {', '.join(KIND_NAMES)}, got {kind!r}")
    if output.exists() and not output.is_dir():
        raise InstructEmbedError(f"output {output} is a file; an index is a folder")
    if not output.parent.is_dir():
        raise InstructEmbedError(f"output folder does not exist: {output.parent}")
    shards = is_shard_folder(corpus)
    if not shards and not corpus.is_file():
        raise InstructEmbedError(f"corpus not found: {corpus} (a file of texts, or a folder written by `instructembed embed`)")
    started = time.perf_counter()
    encoder = None
    if model is not None or not shards:
        encoder = load_encoder(model, device=device, backend=backend, dtype=dtype)
    index = build_index(
        corpus, model=encoder, instruction=instruction, text_field=text_field, id_field=id_field, kind=kind,
        batch_size=batch_size, show_progress_bar=progress,
    )
    index.save(output)
    typer.echo(f"indexed {len(index)} rows ({index.factory}, {index.model.name}) in {time.perf_counter() - started:.1f}s -> {output}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(index_app)
