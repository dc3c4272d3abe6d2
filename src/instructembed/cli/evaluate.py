"""`instructembed evaluate`, `instructembed compare` and `instructembed analyze`."""

from __future__ import annotations

import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from instructembed.cli.model_options import Backend, Dtype, load_encoder
from instructembed.errors import InstructEmbedError

analyze_app = typer.Typer(
    help="The paper's instruction analyses: robustness, complexity, t-SNE, steering.\n\n"
    "Example: instructembed analyze tsne --task TweetSentimentExtractionClassification -o results/tsne.png",
    no_args_is_help=True,
)


def _load_model(spec: Optional[str], device: Optional[str], backend: str = "torch", threads: Optional[int] = None,
                dtype: Optional[str] = None):
    """The model, or one line and exit code 2 (through InstructEmbedError) when it cannot be loaded."""
    try:
        return load_encoder(None if spec in (None, "default") else spec, device=device, backend=backend, dtype=dtype,
                            threads=threads)
    except InstructEmbedError as exc:
        raise InstructEmbedError(f"cannot load model {spec or 'default'}: {exc}") from None
    except Exception as exc:  # any loader failure is the user's input problem here
        raise InstructEmbedError(f"cannot load model {spec or 'default'}: {type(exc).__name__}: {exc}") from None


def _instructions(no_instruction: bool, instructions: Optional[Path]):
    from instructembed.evaluate import InstructionSet

    if no_instruction and instructions is not None:
        raise InstructEmbedError("use either --no-instruction or --instructions FILE, not both")
    if no_instruction:
        return InstructionSet.none()
    if instructions is not None:
        return InstructionSet.from_file(instructions)
    return InstructionSet.default()


def _select_tasks(tasks: Optional[list[str]], types: Optional[list[str]], data: Optional[Path]) -> tuple[list, dict[str, str]]:
    """Task names/folders to run, and the unreadable ones (name -> one-line error), left out so the others still run."""
    from instructembed.evaluate.task import TASK_TYPES, load_task, task_folders

    if types:
        unknown = [t for t in types if t not in TASK_TYPES]
        if unknown:
            raise InstructEmbedError(f"unknown type(s) {', '.join(unknown)} (known: {', '.join(TASK_TYPES)})")
    chosen: list = []
    unreadable: dict[str, str] = {}
    for item in tasks or task_folders(data):
        try:
            chosen.append(load_task(item, data) if tasks else load_task(item))
        except InstructEmbedError as exc:
            unreadable[str(item)] = str(exc)
    if types:
        chosen = [t for t in chosen if t.type in types]
    order = list(TASK_TYPES)
    return (sorted(chosen, key=lambda t: (order.index(t.type), t.name)) if not tasks else chosen), unreadable


def evaluate(
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Checkpoint folder, packaged name (all-MiniLM-L6-v2, instructembed-mini) or hub id; default: the embedded default model.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Results folder: one JSON per task plus report.md.")] = Path("results/run"),
    tasks: Annotated[Optional[list[str]], typer.Option("--tasks", "-t", help="Task names or task folders (repeat); default: every shared task.")] = None,
    types: Annotated[Optional[list[str]], typer.Option("--types", help="Only these types (repeat), e.g. STS, Retrieval.")] = None,
    no_instruction: Annotated[bool, typer.Option("--no-instruction", help="Embed every text without an instruction.")] = False,
    instructions: Annotated[Optional[Path], typer.Option("--instructions", help="Instructions JSON ({task: str | {query, corpus}}); default: the paper's set.")] = None,
    data: Annotated[Optional[Path], typer.Option(help="Folder of task folders (default: the shared eval data).")] = None,
    max_rows: Annotated[Optional[int], typer.Option(help="Quick run: at most this many scored rows per task.")] = None,
    batch_size: Annotated[int, typer.Option(help="Texts per forward pass.")] = 32,
    cache_dir: Annotated[Path, typer.Option(help="Embedding cache folder.")] = Path(".cache/instructembed/embeddings"),
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the embedding cache.")] = False,
    resume: Annotated[bool, typer.Option(help="Skip tasks whose result for this model is already in the folder.")] = True,
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, ... (default: CUDA when available).")] = None,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for torch or onnxruntime (1 is fastest on a busy, shared CPU).")] = None,
    backend: Backend = "torch",
    dtype: Dtype = None,
) -> None:
    """Score a model on evaluation tasks as MTEB does; write one JSON per task and a markdown report.

    Exit code 0: every task scored; 2: a task folder, its meta.json or its rows are unreadable or invalid
    (each named in one line on stderr; the other tasks still run); 1: a task failed unexpectedly.

    Examples:

      instructembed evaluate -o results/minilm                                   # every shared task, paper's instructions

      instructembed evaluate --model runs/ckpt --types STS --types Retrieval -o results/ckpt

      instructembed evaluate --tasks STSBenchmark --tasks SciFact --no-instruction -o results/plain

      instructembed evaluate --tasks path/to/MyTask --instructions my_instructions.json -o results/mine

      instructembed evaluate --types STS --backend onnx-int8 -o results/minilm-int8

      instructembed evaluate --types Retrieval --dtype bfloat16 -o results/minilm-bf16
    """
    import sys

    from instructembed.evaluate import EmbeddingCache, run_suite
    from instructembed.evaluate.report import render_report
    from instructembed.atomic_file import write_text_atomic
    from instructembed.evaluate.runner import write_run_info

    from instructembed.cli.model_options import check_model_options

    log = lambda m: typer.echo(m, err=True)  # noqa: E731
    check_model_options(backend, dtype)
    instruction_set = _instructions(no_instruction, instructions)
    selected, unreadable = _select_tasks(tasks, types, data)
    if not selected and len(unreadable) == 1:  # the one task asked for is unreadable: its error is the answer
        raise InstructEmbedError(next(iter(unreadable.values())))
    for message in unreadable.values():
        log(f"error: {message}")
    if not selected:
        raise InstructEmbedError("no task to run (check --tasks / --types / --data)")
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))
    loaded = _load_model(model, device, backend, threads, dtype)
    cache = None if no_cache else EmbeddingCache(cache_dir)
    started = time.perf_counter()
    run = run_suite(loaded, selected, instruction_set, output, cache, max_rows=max_rows, batch_size=batch_size,
                    resume=resume, show_progress=sys.stderr.isatty(), log=log)
    info = {
        "model": model or "default",
        "backend": backend + (f", {dtype}" if dtype else ""),
        "instructions": instruction_set.source,
        "tasks": f"{len(run.results)} scored, {len(run.failures) + len(unreadable)} failed",
        "wall time (s)": f"{time.perf_counter() - started:.0f}",
        "date (UTC)": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {_cpu_count()} CPU cores, {_torch_threads()} torch threads, device {getattr(loaded, 'device', 'cpu')}",
    }
    if max_rows is not None:
        info["max rows per task"] = max_rows
    write_run_info(Path(output), info)
    report = render_report(run.results, f"Evaluation of {model or 'default'}", info, unreadable | run.failures)
    write_text_atomic(Path(output) / "report.md", report)
    typer.echo(report)
    if run.crashed:  # an unexpected failure inside a task: a bug to report
        raise typer.Exit(1)
    if run.failures or unreadable:  # bad task data (folder, meta.json, rows): the user's to fix
        raise typer.Exit(2)


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def compare(
    first: Annotated[Path, typer.Argument(help="Results folder A.", show_default=False)],
    second: Annotated[Path, typer.Argument(help="Results folder B.", show_default=False)],
) -> None:
    """Print two results folders side by side with B - A deltas, by task and by type.

    Example:

      instructembed compare results/minilm-noinstr results/minilm
    """
    from instructembed.evaluate import load_results
    from instructembed.evaluate.report import render_comparison

    typer.echo(render_comparison(load_results(first), load_results(second), first.name, second.name))


@analyze_app.command("robustness")
def analyze_robustness(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for robustness.md / .json.")] = Path("results/analyses"),
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Checkpoint folder; default: the embedded model.")] = None,
    tasks: Annotated[Optional[list[str]], typer.Option("--tasks", "-t", help="Tasks (repeat); default: all with paraphrases.")] = None,
    paraphrases: Annotated[Optional[Path], typer.Option(help="Paraphrases JSON (default: the shipped, reviewed file).")] = None,
    max_rows: Annotated[Optional[int], typer.Option(help="At most this many scored rows per task.")] = None,
) -> None:
    """Score each task under five paraphrases of its instruction; report the best-worst gap.

    Example:

      instructembed analyze robustness --tasks STSBenchmark --tasks SciFact -o results/analyses
    """
    from instructembed.evaluate import EmbeddingCache, load_task
    from instructembed.evaluate.analyses import load_paraphrases, render_robustness, robustness
    from instructembed.atomic_file import write_text_atomic

    variants = load_paraphrases(paraphrases)
    chosen = [load_task(t) for t in (tasks or [n for n in variants])]
    rows = robustness(_load_model(model, None), chosen, variants, EmbeddingCache(), max_rows, log=lambda m: typer.echo(m, err=True))
    write_text_atomic(output / "robustness.json", json.dumps(rows, indent=1) + "\n")
    table = "# Robustness to instruction paraphrases\n\n" + render_robustness(rows)
    write_text_atomic(output / "robustness.md", table)
    typer.echo(table)


@analyze_app.command("complexity")
def analyze_complexity(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for complexity.md / .json.")] = Path("results/analyses"),
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Checkpoint folder; default: the embedded model.")] = None,
    tasks: Annotated[Optional[list[str]], typer.Option("--tasks", "-t", help="Tasks (repeat); default: every shared task.")] = None,
    instructions: Annotated[Optional[Path], typer.Option(help="Full instructions JSON (default: the paper's set).")] = None,
    max_rows: Annotated[Optional[int], typer.Option(help="At most this many scored rows per task.")] = None,
) -> None:
    """Score each task with no instruction, a dataset tag, a short and the full instruction.

    Example:

      instructembed analyze complexity --tasks STS12 --tasks Banking77Classification
    """
    from instructembed.evaluate import EmbeddingCache, discover_tasks, load_task
    from instructembed.evaluate.analyses import complexity, render_complexity
    from instructembed.atomic_file import write_text_atomic

    chosen = [load_task(t) for t in tasks] if tasks else discover_tasks()
    rows = complexity(_load_model(model, None), chosen, _instructions(False, instructions), EmbeddingCache(), max_rows,
                      log=lambda m: typer.echo(m, err=True))
    write_text_atomic(output / "complexity.json", json.dumps(rows, indent=1) + "\n")
    table = "# Instruction complexity\n\n" + render_complexity(rows)
    write_text_atomic(output / "complexity.md", table)
    typer.echo(table)


@analyze_app.command("tsne")
def analyze_tsne(
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG file to write.")] = Path("results/tsne.png"),
    task: Annotated[str, typer.Option("--task", help="A Classification task.")] = "TweetSentimentExtractionClassification",
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Checkpoint folder; default: the embedded model.")] = None,
    instruction: Annotated[Optional[str], typer.Option(help="Instruction to compare against none (default: the paper's).")] = None,
    max_rows: Annotated[int, typer.Option(help="Test texts to plot.")] = 1000,
) -> None:
    """Save a t-SNE picture of a classification task's embeddings without and with its instruction.

    Example:

      instructembed analyze tsne --task TweetSentimentExtractionClassification -o results/tsne.png
    """
    from instructembed.evaluate import EmbeddingCache, InstructionSet, load_task
    from instructembed.evaluate.analyses import tsne_picture

    chosen = load_task(task)
    text = instruction or InstructionSet.default().for_task(chosen.name, chosen.mteb_name).query
    path = tsne_picture(_load_model(model, None), chosen, text, output, EmbeddingCache(), max_rows)
    typer.echo(f"wrote {path}")


@analyze_app.command("steering")
def analyze_steering(
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG file to write.")] = Path("results/steering.png"),
    task: Annotated[str, typer.Option("--task", help="A Steering task (name or folder).")] = "SourceSentimentSteering",
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Checkpoint folder or packaged name; default: the embedded model.")] = None,
    instructions: Annotated[Optional[Path], typer.Option(help="Instructions JSON with {task: {property: instruction}} (default: the shared steering set).")] = None,
    max_rows: Annotated[int, typer.Option(help="Texts to plot.")] = 600,
) -> None:
    """Save the t-SNE of a Steering task's texts without instruction and under each property's instruction.

    Example:

      instructembed analyze steering --task SourceSentimentSteering -o results/steering.png
    """
    from instructembed.evaluate import EmbeddingCache, load_task
    from instructembed.evaluate.analyses import steering_picture

    chosen = load_task(task)
    per_task = _instructions(False, instructions).for_task(chosen.name, chosen.mteb_name)
    path = steering_picture(_load_model(model, None), chosen, per_task, output, EmbeddingCache(), max_rows)
    typer.echo(f"wrote {path}")


@analyze_app.command("reproduction")
def analyze_reproduction(
    results: Annotated[Path, typer.Argument(help="Results folder of a no-instruction run.", show_default=False)],
    reference: Annotated[Optional[Path], typer.Option(help="Published scores JSON (default: the shared all-MiniLM-L6-v2 file).")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Markdown file to write.")] = None,
    notes: Annotated[Optional[Path], typer.Option(help="JSON {task: explanation} appended under the table.")] = None,
) -> None:
    """Table of our scores against published MTEB scores, with deltas and the tolerance verdict.

    Example:

      instructembed analyze reproduction results/all-MiniLM-L6-v2-noinstr -o results/reproduction.md
    """
    from instructembed.evaluate import load_results
    from instructembed.evaluate.reproduction import load_reference, render_reproduction, reproduction_rows
    from instructembed.atomic_file import write_text_atomic
    from instructembed.shared_data import reference_dir

    ref = load_reference(reference or reference_dir() / "all-MiniLM-L6-v2.mteb.json")
    explanations = json.loads(notes.read_text(encoding="utf-8")) if notes else None
    table = render_reproduction(reproduction_rows(load_results(results), ref), ref.get("model", "model"), explanations)
    if output:
        write_text_atomic(output, table)
    typer.echo(table)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
    app.command("compare")(compare)
    app.add_typer(analyze_app, name="analyze")
