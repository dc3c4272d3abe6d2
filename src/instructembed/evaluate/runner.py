"""Run tasks on a model: one task (`evaluate_task`) or a suite written to a results folder, checkpointed per task."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from instructembed.engine.fingerprint import model_fingerprint
from instructembed.errors import InstructEmbedError
from instructembed.evaluate.billboard import evaluate_billboard
from instructembed.evaluate.classification import evaluate_classification
from instructembed.evaluate.clustering import evaluate_clustering
from instructembed.evaluate.embedding_cache import DEFAULT_CACHE_DIR, EmbeddingCache
from instructembed.evaluate.instructions import InstructionSet, TaskInstructions, resolve_instructions
from instructembed.evaluate.pair_classification import evaluate_pair_classification
from instructembed.evaluate.prompt_retrieval import evaluate_prompt_retrieval
from instructembed.evaluate.reranking import evaluate_reranking
from instructembed.atomic_file import write_text_atomic
from instructembed.evaluate.result import TaskResult, result_file_name
from instructembed.evaluate.retrieval import evaluate_retrieval
from instructembed.evaluate.steering import evaluate_steering
from instructembed.evaluate.sts import evaluate_sts
from instructembed.evaluate.summarization import evaluate_summarization
from instructembed.evaluate.task import Task, load_task
from instructembed.evaluate.text_encoder import TextEncoder

Evaluator = Callable[[Task, TextEncoder, TaskInstructions, "int | None"], dict]

EVALUATORS: dict[str, Evaluator] = {
    "STS": evaluate_sts,
    "Classification": evaluate_classification,
    "Clustering": evaluate_clustering,
    "PairClassification": evaluate_pair_classification,
    "Reranking": evaluate_reranking,
    "Retrieval": evaluate_retrieval,
    "Summarization": evaluate_summarization,
    "Billboard": evaluate_billboard,
    "PromptRetrieval": evaluate_prompt_retrieval,
    "Steering": evaluate_steering,
}


def _task_instructions(task: Task, instructions: Any) -> TaskInstructions:
    if isinstance(instructions, TaskInstructions):
        return instructions
    if isinstance(instructions, dict) and instructions and set(instructions) <= {"query", "corpus"}:
        return TaskInstructions(instructions.get("query"), instructions.get("corpus"))
    if isinstance(instructions, dict) and task.type == "Steering" and set(instructions) == set(task.meta.get("properties") or ()):
        return TaskInstructions(properties=dict(instructions))
    return resolve_instructions(instructions).for_task(task.name, task.mteb_name)


def _cache(cache: EmbeddingCache | str | Path | bool | None) -> EmbeddingCache | None:
    if cache is None or cache is False:
        return None
    if cache is True:
        return EmbeddingCache(DEFAULT_CACHE_DIR)
    return cache if isinstance(cache, EmbeddingCache) else EmbeddingCache(cache)


def model_label(model: Any) -> str:
    return str(getattr(model, "model_name_or_path", None) or type(model).__name__)


def evaluate_task(
    model: Any,
    task: Task | str | Path,
    instructions: InstructionSet | TaskInstructions | dict | str | Path | None = None,
    cache: EmbeddingCache | str | Path | bool | None = None,
    *,
    max_rows: int | None = None,
    batch_size: int = 32,
    show_progress: bool = False,
    model_id: str | None = None,
) -> TaskResult:
    """Score `model` on one task as MTEB defines the task's type.

    Args:
        model: any object with `encode(inputs, batch_size=...) -> np.ndarray` (inputs: [instruction, text]
            pairs, or plain strings when there is no instruction), e.g. `Instructor`.
        task: a `Task`, a task name under the shared data, or a task folder.
        instructions: None (no instructions), an `InstructionSet`, a dict in the instructions-file format
            (task -> str | {"query", "corpus"} | {property: str}), {"query": ..., "corpus": ...} for this task
            ({property: instruction} for a Steering task), or a file path.
        cache: None (no cache), True (`.cache/instructembed/embeddings`), a folder, or an `EmbeddingCache`.
        max_rows: cap on scored rows (test rows, pairs, queries, texts per clustering set) for quick evals.

    Example:
        >>> from instructembed import Instructor
        >>> from instructembed.evaluate import evaluate_task
        >>> evaluate_task(Instructor(), "STSBenchmark", max_rows=200).main_score  # doctest: +SKIP
        84.1
    """
    task = task if isinstance(task, Task) else load_task(task)
    chosen = _task_instructions(task, instructions)
    store = _cache(cache)
    encoder = TextEncoder(model, store, batch_size, model_id if model_id is not None else (model_fingerprint(model) if store else None))
    bar = tqdm(desc=task.name, unit="text", total=0, disable=not show_progress, dynamic_ncols=True, leave=False)
    encoder.progress = bar
    start = time.perf_counter()
    try:
        metrics = EVALUATORS[task.type](task, encoder, chosen, max_rows)
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    if task.main_score not in metrics or metrics[task.main_score] is None:
        raise InstructEmbedError(f"task {task.name}: main score {task.main_score!r} was not computed for type {task.type}")
    return TaskResult(
        task=task.name,
        type=task.type,
        main_metric=task.main_score,
        main_score=round(float(metrics[task.main_score]) * 100, 4),
        metrics=metrics,
        model=model_label(model),
        instructions=chosen.to_json(),
        split=task.split,
        seconds=round(seconds, 2),
        texts_encoded=encoder.encoded,
        texts_reused=encoder.reused,
        mteb_name=task.mteb_name,
        same_as_mteb=task.same_as_mteb,
        max_rows=max_rows,
    )


@dataclass
class SuiteRun:
    """What a suite run did: results by task, failures (task -> one-line message), wall time.

    `crashed` names the failures that were not InstructEmbedError (bad data or bad input) but a bug."""

    results: dict[str, TaskResult] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    crashed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_suite(
    model: Any,
    tasks: Sequence[Task | str | Path],
    instructions: InstructionSet | None,
    out_dir: str | Path,
    cache: EmbeddingCache | str | Path | bool | None = True,
    *,
    max_rows: int | None = None,
    batch_size: int = 32,
    resume: bool = True,
    show_progress: bool = True,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> SuiteRun:
    """Evaluate tasks one by one, writing `<task>.json` after each (a rerun skips finished tasks).

    A task that fails (bad folder, bad row, ...) is reported by name and the others still run.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    instruction_set = instructions if instructions is not None else InstructionSet.none()
    store = _cache(cache)
    fingerprint = model_fingerprint(model)
    run = SuiteRun()
    started = time.perf_counter()
    for item in tasks:
        label = item.name if isinstance(item, Task) else str(item)
        try:
            task = item if isinstance(item, Task) else load_task(item)
            target = out / result_file_name(task.name)
            if resume and target.is_file():
                previous = TaskResult.load(target)
                same_instructions = previous.instructions == instruction_set.for_task(task.name, task.mteb_name).to_json()
                if previous.extra.get("model_fingerprint") == fingerprint and previous.max_rows == max_rows and same_instructions:
                    run.results[task.name] = previous
                    log(f"{task.name}: done already ({previous.main_score:.2f}), skipped")
                    continue
            result = evaluate_task(
                model, task, instruction_set, store, max_rows=max_rows, batch_size=batch_size,
                show_progress=show_progress, model_id=fingerprint,
            )
            result.extra.update(model_fingerprint=fingerprint, instructions_source=instruction_set.source)
            result.save(target)
            run.results[task.name] = result
            log(f"{task.name}: {result.main_metric} = {result.main_score:.2f} ({result.seconds:.0f}s)")
        except InstructEmbedError as exc:
            message = str(exc) if str(exc).startswith("task ") else f"task {label}: {exc}"
            run.failures[label] = message
            log(f"error: {message}")
        except Exception as exc:  # a bug or bad data deep in one task must not stop the others
            run.failures[label] = f"task {label}: {type(exc).__name__}: {exc}"
            run.crashed.append(label)
            log(f"error: task {label}: {type(exc).__name__}: {exc}")
    run.seconds = time.perf_counter() - started
    if run.failures:
        write_text_atomic(out / "failures.txt", "\n".join(run.failures.values()) + "\n")
    else:
        (out / "failures.txt").unlink(missing_ok=True)
    return run


def write_run_info(out_dir: Path, info: dict[str, Any]) -> None:
    write_text_atomic(out_dir / "run.json", json.dumps(info, indent=1) + "\n")
