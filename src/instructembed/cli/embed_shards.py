"""`instructembed embed` on shards: a folder, glob or `.parquet`/`.jsonl` file into a folder of parquet
shards, resumable, in this process or (`--engine ray`) on a Ray cluster."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from instructembed.errors import InstructEmbedError

ENGINES = ("local", "ray")


def is_shard_job(input: Path, output: Path, engine: str) -> bool:
    """Shards in, a folder out: `--engine ray`, a folder or glob as input, or a `.parquet`/`.jsonl`
    file written to a folder (an `-o` without a file suffix)."""
    from instructembed.embedfiles.writers import WRITE_FORMATS
    from instructembed.scale.shards import SHARD_FORMATS, is_glob

    if engine not in ENGINES:
        raise InstructEmbedError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "ray" or is_glob(input) or input.is_dir():
        return True
    return input.suffix.lower() in SHARD_FORMATS and output.suffix.lower() not in WRITE_FORMATS


def run_shard_job(
    input: Path, output: Path, *, engine: str, model: Optional[str], instruction: Optional[str], instruction_field: Optional[str],
    text_field: str, id_field: str, keep_text: bool, batch_size: int, chunk_size: int, max_seq_length: Optional[int],
    normalize: bool, skip_empty: bool, device: Optional[str], backend: str, dtype: Optional[str], progress: bool,
    address: Optional[str], workers: Optional[int], threads_per_worker: int, gpus_per_worker: float,
) -> None:
    from instructembed.embedfiles.writers import WRITE_FORMATS
    from instructembed.scale.shards import SHARD_FORMATS, is_glob

    if output.suffix.lower() in WRITE_FORMATS:
        raise InstructEmbedError(f"shards are written to a folder of parquet files: give -o a folder, not {output}")
    if not (is_glob(input) or input.is_dir() or input.suffix.lower() in SHARD_FORMATS):
        raise InstructEmbedError(f"the shard engines read .parquet or .jsonl shards, not {input.suffix or input}")
    if skip_empty:
        raise InstructEmbedError("--skip-empty is for single files; shards must hold no empty texts")
    if engine == "local":
        given = [name for name, value in (("--address", address), ("--workers", workers)) if value is not None]
        given += ["--gpus-per-worker"] * (gpus_per_worker != 0) + ["--threads-per-worker"] * (threads_per_worker != 1)
        if given:
            raise InstructEmbedError(f"{given[0]} is an option of --engine ray")
    started = time.perf_counter()
    if engine == "ray":
        from instructembed.scale import embed_shards_ray

        if device is not None:
            raise InstructEmbedError("--device is chosen per worker with --engine ray: use --gpus-per-worker")
        report = embed_shards_ray(
            input, output, model=model, address=address, workers=workers, threads_per_worker=threads_per_worker,
            gpus_per_worker=gpus_per_worker, instruction=instruction, instruction_column=instruction_field,
            text_column=text_field, id_column=id_field, keep_text=keep_text, batch_size=batch_size, chunk_size=chunk_size,
            normalize=normalize, max_seq_length=max_seq_length, backend=backend, dtype=dtype, show_progress_bar=progress,
        )
    else:
        from instructembed.cli.model_options import load_encoder
        from instructembed.scale import embed_shards, find_shards

        find_shards(input)  # a bad input fails before the model loads
        encoder = load_encoder(model, device=device, backend=backend, dtype=dtype, max_seq_length=max_seq_length)
        report = embed_shards(
            encoder, input, output, instruction=instruction, instruction_column=instruction_field, text_column=text_field,
            id_column=id_field, keep_text=keep_text, batch_size=batch_size, chunk_size=chunk_size, normalize=normalize,
            backend=backend, show_progress_bar=progress,
        )
    seconds = time.perf_counter() - started
    skipped = f", {report.skipped} already complete" if report.skipped else ""
    typer.echo(
        f"embedded {report.rows} texts in {report.embedded} of {report.shards} shards{skipped} in {seconds:.1f}s -> {report.output}",
        err=True,
    )
