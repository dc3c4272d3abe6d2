"""`instructembed embed` and `instructembed similarity`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from instructembed.cli.model_options import Backend, Dtype, check_model_options, load_encoder
from instructembed.errors import InstructEmbedError


def _check_formats(input: Path, output: Path) -> None:
    from instructembed.embedfiles.readers import READ_FORMATS
    from instructembed.embedfiles.writers import check_output_path

    if input.suffix.lower() not in READ_FORMATS:
        raise InstructEmbedError(f"unknown input format {input.suffix or '(none)'!r}: use one of {', '.join(READ_FORMATS)}")
    if not input.is_file():
        raise InstructEmbedError(f"input file not found: {input}")
    check_output_path(output)  # not a folder, a known format, in a folder that exists


def embed(
    input: Annotated[Path, typer.Argument(help="Texts: .txt (one a line), .jsonl, .csv or .parquet.", show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Embeddings: .npy, .parquet (id, text, embedding) or .jsonl.", show_default=False)],
    instruction: Annotated[Optional[str], typer.Option(help="One instruction for every row, e.g. 'Represent the Science title:'.")] = None,
    instruction_field: Annotated[Optional[str], typer.Option(help="Column holding each row's own instruction.")] = None,
    text_field: Annotated[str, typer.Option(help="Column holding the text (.jsonl/.csv/.parquet).")] = "text",
    id_field: Annotated[str, typer.Option(help="Column holding the row id (row number when absent).")] = "id",
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Checkpoint folder or hub id; default: the embedded model.")] = None,
    batch_size: Annotated[int, typer.Option(help="Texts per forward pass.")] = 32,
    chunk_size: Annotated[int, typer.Option(help="Rows read, embedded and written at a time (memory stays flat).")] = 4096,
    max_seq_length: Annotated[Optional[int], typer.Option(help="Token limit; longer texts are truncated and counted.")] = None,
    normalize: Annotated[bool, typer.Option(help="Unit-length embeddings; --no-normalize writes the raw pooled/Dense output.")] = True,
    skip_empty: Annotated[bool, typer.Option(help="Skip empty rows instead of failing on them.")] = False,
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, ... (default: CUDA when available).")] = None,
    backend: Backend = "torch",
    dtype: Dtype = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    engine: Annotated[str, typer.Option(help="Shards: local (this process) or ray (a Ray cluster); see docs/scale.md.")] = "local",
    address: Annotated[Optional[str], typer.Option(help="Ray cluster address (`ray start --head` prints it); default: a local cluster.")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Ray actors, each holding one model (default: one per CPU, or per --gpus-per-worker).")] = None,
    threads_per_worker: Annotated[int, typer.Option(help="CPU threads (and Ray CPUs) per Ray actor.")] = 1,
    gpus_per_worker: Annotated[float, typer.Option(help="GPUs per Ray actor (0: CPU actors).")] = 0,
    keep_text: Annotated[bool, typer.Option(help="Keep the text column in output shards.")] = True,
) -> None:
    """Embed a file of texts, each with an instruction; or a folder, glob or file of .parquet/.jsonl
    shards into a folder of parquet shards (resumable: a rerun skips completed shards).

    Examples:

      instructembed embed titles.txt -o titles.npy --instruction "Represent the Science title:"

      instructembed embed docs.jsonl -o docs.parquet --text-field body --instruction "Represent the document for retrieval:"

      instructembed embed mixed.csv -o mixed.jsonl --instruction-field instruction

      instructembed embed docs.jsonl -o docs.npy --backend onnx-int8 --instruction "Represent the document for retrieval:"

      instructembed embed docs.jsonl -o docs.npy --dtype bfloat16 --instruction "Represent the document for retrieval:"

      instructembed embed 'corpus/*.parquet' -o vectors/ --engine ray --workers 4 --instruction "Represent the document for retrieval:"
    """
    from instructembed.embedfiles import embed_file

    if instruction is not None and instruction_field is not None:
        raise InstructEmbedError("give --instruction or --instruction-field, not both")
    check_model_options(backend, dtype)
    from instructembed.cli.embed_shards import is_shard_job, run_shard_job

    if is_shard_job(input, output, engine):
        return run_shard_job(
            input, output, engine=engine, model=model, instruction=instruction, instruction_field=instruction_field,
            text_field=text_field, id_field=id_field, keep_text=keep_text, batch_size=batch_size, chunk_size=chunk_size,
            max_seq_length=max_seq_length, normalize=normalize, skip_empty=skip_empty, device=device, backend=backend,
            dtype=dtype, progress=progress, address=address, workers=workers, threads_per_worker=threads_per_worker,
            gpus_per_worker=gpus_per_worker,
        )
    _check_formats(input, output)  # fail fast, before the model loads
    started = time.perf_counter()
    encoder = load_encoder(model, device=device, backend=backend, dtype=dtype, max_seq_length=max_seq_length)
    report = embed_file(
        encoder, input, output,
        instruction=instruction, instruction_field=instruction_field, text_field=text_field, id_field=id_field,
        skip_empty=skip_empty, batch_size=batch_size, chunk_size=chunk_size, normalize=normalize,
        show_progress_bar=progress,
    )
    seconds = time.perf_counter() - started
    note = f", {report.truncated} truncated to {encoder.max_seq_length} tokens" if report.truncated else ""
    typer.echo(f"embedded {report.rows} texts ({report.tokens} tokens{note}) in {seconds:.1f}s -> {report.output}", err=True)


def similarity(
    texts: Annotated[list[str], typer.Argument(help="Two or more texts.", show_default=False)],
    instruction: Annotated[Optional[str], typer.Option(help="Instruction for every text.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Checkpoint folder or hub id.")] = None,
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, ...")] = None,
) -> None:
    """Cosine similarity between texts, under an instruction.

    Examples:

      instructembed similarity "A cat sits on the mat" "A dog lies on the rug"

      instructembed similarity "great movie!" "terrible film" "the plot was fine" --instruction "Represent the review for classifying sentiment:"
    """
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    if len(texts) < 2:
        raise InstructEmbedError("give at least two texts to compare")
    encoder = load_encoder(model, device=device)
    vectors = encoder.encode(texts, instruction=instruction, normalize_embeddings=True)
    scores = vectors @ vectors.T
    table = Table(title=f"cosine similarity{f' under {instruction!r}' if instruction else ''}")
    table.add_column("")
    for j in range(len(texts)):
        table.add_column(f"[{j}]", justify="right")
    for i, text in enumerate(texts):
        label = f"[{i}] {text[:40]}{'…' if len(text) > 40 else ''}"
        table.add_row(label, *[f"{scores[i, j]:.3f}" for j in range(len(texts))])
    Console().print(table)
    if len(texts) == 2:
        typer.echo(f"{float(np.clip(scores[0, 1], -1, 1)):.4f}")


def register(app: typer.Typer) -> None:
    app.command("embed")(embed)
    app.command("similarity")(similarity)
