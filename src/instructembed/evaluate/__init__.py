"""Evaluation: MTEB's seven task types, Billboard and prompt retrieval on local task folders, plus the
paper's instruction analyses.

Example:
    >>> from instructembed import Instructor
    >>> from instructembed.evaluate import discover_tasks, evaluate_task, load_task
    >>> result = evaluate_task(Instructor(), load_task("STSBenchmark"), max_rows=200)  # doctest: +SKIP
    >>> result.main_score, result.metrics["cosine_pearson"]                              # doctest: +SKIP
"""

from instructembed.engine.fingerprint import model_fingerprint
from instructembed.evaluate.embedding_cache import EmbeddingCache
from instructembed.evaluate.instructions import InstructionSet, TaskInstructions
from instructembed.evaluate.result import TaskResult, load_results
from instructembed.evaluate.runner import SuiteRun, evaluate_task, run_suite
from instructembed.evaluate.task import TASK_TYPES, Task, discover_tasks, load_task

__all__ = [
    "TASK_TYPES",
    "EmbeddingCache",
    "InstructionSet",
    "SuiteRun",
    "Task",
    "TaskInstructions",
    "TaskResult",
    "discover_tasks",
    "evaluate_task",
    "load_results",
    "load_task",
    "model_fingerprint",
    "run_suite",
]
