"""`instructembed search`: query an index built by `instructembed index build`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from instructembed.cli.model_options import BACKEND_HELP, DTYPE_HELP, check_model_options, load_encoder
from instructembed.errors import InstructEmbedError


def _snippet(text: Optional[str], width: int = 80) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def search(
    index: Annotated[Path, typer.Argument(help="Index folder from `instructembed index build`.", show_default=False)],
    query: Annotated[Optional[str], typer.Argument(help="One query (or use --queries FILE).", show_default=False)] = None,
    instruction: Annotated[Optional[str], typer.Option(help="Query instruction, e.g. 'Represent the question for retrieving documents:'.")] = None,
    k: Annotated[int, typer.Option("-k", "--top-k", help="Results per query (cut to the index's size).")] = 10,
    queries: Annotated[Optional[Path], typer.Option("--queries", help="Queries: .txt (one a line), .jsonl, .csv or .parquet; needs -o.", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Results as .jsonl: one line per query (id, query, hits).", show_default=False)] = None,
    query_field: Annotated[str, typer.Option(help="Column holding the query text (--queries).")] = "text",
    id_field: Annotated[str, typer.Option(help="Column holding the query id (--queries; row number when absent).")] = "id",
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model for the queries; default: the index's. Another model is refused.")] = None,
    batch_size: Annotated[int, typer.Option(help="Queries per forward pass.")] = 32,
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, ... (default: CUDA when available).")] = None,
    backend: Annotated[Optional[str], typer.Option(help=BACKEND_HELP + " Default: the index's.", show_default=False)] = None,
    dtype: Annotated[Optional[str], typer.Option(help=DTYPE_HELP + " Default: the index's.", show_default=False)] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar (--queries).")] = True,
) -> None:
    """Search an index with a query (a table of id, score, text) or a file of queries (-o results.jsonl).

    Examples:

      instructembed search corpus.index "what do yams store?" --instruction "Represent the question for retrieving documents:"

      instructembed search corpus.index --queries questions.jsonl -o results.jsonl -k 20 --instruction "Represent the question for retrieving documents:"
    """
    from instructembed.search import Index

    if (query is None) == (queries is None):
        raise InstructEmbedError("give one query or --queries FILE, not both" if query is not None else "give a query or --queries FILE")
    if queries is not None:
        if output is None or output.suffix.lower() != ".jsonl":
            raise InstructEmbedError("--queries needs -o RESULTS.jsonl")
        if not output.parent.is_dir():
            raise InstructEmbedError(f"output folder does not exist: {output.parent}")
        if not queries.is_file():
            raise InstructEmbedError(f"queries file not found: {queries}")
    elif output is not None:
        raise InstructEmbedError("-o is for --queries; one query prints a table")
    if isinstance(k, bool) or k < 1:
        raise InstructEmbedError(f"-k must be at least 1, got {k}")
    check_model_options(backend or "torch", dtype)
    loaded = Index.load(index)
    backend = backend or loaded.model.backend  # the index's, unless asked otherwise (then checked below)
    dtype = dtype or (loaded.model.dtype if backend == "torch" else None)
    check_model_options(backend, dtype)
    encoder = load_encoder(model if model is not None else loaded.model.name, device=device, backend=backend, dtype=dtype)
    loaded.check_model(encoder)  # before any query runs
    if query is not None:
        _print_table(loaded, query, loaded.search_texts(encoder, [query], instruction=instruction, k=k, batch_size=batch_size)[0], k)
        return
    count = _search_file(loaded, encoder, queries, output, instruction, k, query_field, id_field, batch_size, progress)
    typer.echo(f"searched {count} queries (k={k}) -> {output}", err=True)


def _print_table(index, query: str, hits: list, k: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    note = f" (the index holds {len(index)})" if k > len(index) else ""
    table = Table(title=f"top {len(hits)} for {_snippet(query, 60)!r}{note}")
    rank_width, id_width = len(str(len(hits))), min(max([len(hit.id) for hit in hits] + [2]), 40)
    text_width = max(20, console.width - rank_width - id_width - 6 - 13)  # 13: borders and padding of 4 columns
    table.add_column("#", justify="right", no_wrap=True, min_width=rank_width)
    table.add_column("id", no_wrap=True, min_width=id_width, max_width=id_width, overflow="ellipsis")
    table.add_column("score", justify="right", no_wrap=True, min_width=6)
    table.add_column("text", no_wrap=True, overflow="ellipsis", max_width=text_width)  # one line per hit
    for rank, hit in enumerate(hits, start=1):
        table.add_row(str(rank), hit.id, f"{hit.score:.4f}", _snippet(hit.text, text_width))
    console.print(table)


def _search_file(index, encoder, queries: Path, output: Path, instruction, k: int, query_field: str, id_field: str, batch_size: int, progress: bool) -> int:
    from itertools import islice

    from tqdm.auto import tqdm

    from instructembed.embedfiles.readers import count_rows, read_rows
    from instructembed.atomic_file import write_text_atomic

    rows = read_rows(queries, query_field, instruction, None, id_field)
    lines: list[str] = []
    with tqdm(total=count_rows(queries), desc="Searching", unit="query", disable=not progress, dynamic_ncols=True) as bar:
        while chunk := list(islice(rows, 1024)):
            hits = index.search_texts(encoder, [r.text for r in chunk], instruction=instruction, k=k, batch_size=batch_size)
            for row, found in zip(chunk, hits):
                record = {"id": row.id, "query": row.text, "hits": [{"id": h.id, "score": round(h.score, 6), "text": h.text} for h in found]}
                lines.append(json.dumps(record, ensure_ascii=False))
            bar.update(len(chunk))
    if not lines:
        raise InstructEmbedError(f"{queries} has no queries")
    write_text_atomic(output, "\n".join(lines) + "\n")
    return len(lines)


def register(app: typer.Typer) -> None:
    app.command("search")(search)
