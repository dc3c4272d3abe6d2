"""An evaluation task is data plus metadata: a folder with a `meta.json` and its rows (MTEB-style layout)."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instructembed.errors import InstructEmbedError
from instructembed.shared_data import data_dir

# type -> (files per split, required keys of a row and their types)
ROW_SCHEMAS: dict[str, dict[str, tuple[type, ...]]] = {
    "STS": {"sentence1": (str,), "sentence2": (str,), "score": (int, float)},
    "Classification": {"text": (str,), "label": (str, int)},
    "Clustering": {"sentences": (list,), "labels": (list,)},
    "PairClassification": {"sentence1": (str,), "sentence2": (str,), "label": (int,)},
    "Reranking": {"query": (str,), "positive": (list,), "negative": (list,)},
    "Retrieval": {},  # BEIR layout, validated in `load_retrieval`
    "Summarization": {"text": (str,), "human_summaries": (list,), "machine_summaries": (list,), "relevance": (list,)},
    "Billboard": {"references": (list,), "candidate": (str,), "human_score": (int, float)},
    "PromptRetrieval": {"input": (str,), "output": (str,)},
    "Steering": {"text": (str,), "labels": (dict,)},
}
TASK_TYPES = tuple(ROW_SCHEMAS)
NESTED_GROUPS = ("billboard", "prompt_retrieval")  # folders of tasks, named "<group>/<name>"


@dataclass(frozen=True)
class Task:
    """One evaluation task: its folder, type, splits and main score, read from `meta.json`."""

    name: str
    type: str
    path: Path
    main_score: str
    eval_splits: tuple[str, ...] = ("test",)
    mteb_name: str | None = None
    same_as_mteb: bool = False
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def split(self) -> str:
        """The split scored: "test" where the task has it, else its first eval split."""
        return "test" if "test" in self.eval_splits else self.eval_splits[0]

    def rows(self, split: str | None = None) -> list[dict[str, Any]]:
        """The rows of a split (JSON Lines), each checked against the type's schema."""
        split = split or self.split
        return read_rows(self, self.path / f"{split}.jsonl")


@dataclass(frozen=True)
class RetrievalData:
    """A BEIR-layout retrieval split: corpus texts (title + ' ' + text, stripped), queries and graded qrels."""

    corpus: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _fail(task: str, message: str) -> InstructEmbedError:
    return InstructEmbedError(f"task {task}: {message}")


def read_jsonl(task_name: str, file: Path) -> list[dict[str, Any]]:
    if not file.is_file():
        raise _fail(task_name, f"missing file {file}")
    rows = []
    with open(file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _fail(task_name, f"{file.name} line {number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise _fail(task_name, f"{file.name} line {number}: expected a JSON object")
            rows.append(row)
    return rows


def read_rows(task: Task, file: Path) -> list[dict[str, Any]]:
    rows = read_jsonl(task.name, file)
    schema = ROW_SCHEMAS[task.type]
    for number, row in enumerate(rows, 1):
        for key, types in schema.items():
            if key not in row:
                raise _fail(task.name, f"{file.name} row {number}: missing {key!r}")
            if not isinstance(row[key], types) or isinstance(row[key], bool):
                raise _fail(task.name, f"{file.name} row {number}: {key!r} has type {type(row[key]).__name__}")
    if not rows:
        raise _fail(task.name, f"{file.name} has no rows")
    return rows


def load_retrieval(task: Task, split: str | None = None) -> RetrievalData:
    """Corpus, queries and qrels of a BEIR-layout task folder."""
    split = split or task.split
    corpus = {}
    for number, row in enumerate(read_jsonl(task.name, task.path / "corpus.jsonl"), 1):
        if "_id" not in row or not isinstance(row.get("text"), str):
            raise _fail(task.name, f"corpus.jsonl row {number}: needs '_id' and 'text'")
        corpus[str(row["_id"])] = (str(row.get("title") or "") + " " + row["text"]).strip()
    queries = {}
    for number, row in enumerate(read_jsonl(task.name, task.path / "queries.jsonl"), 1):
        if "_id" not in row or not isinstance(row.get("text"), str):
            raise _fail(task.name, f"queries.jsonl row {number}: needs '_id' and 'text'")
        queries[str(row["_id"])] = row["text"]
    qrels_file = task.path / "qrels" / f"{split}.tsv"
    if not qrels_file.is_file():
        raise _fail(task.name, f"missing file {qrels_file}")
    qrels: dict[str, dict[str, int]] = {}
    with open(qrels_file, encoding="utf-8", newline="") as handle:
        for number, fields in enumerate(csv.reader(handle, delimiter="\t"), 1):
            if number == 1 and fields and fields[0] == "query-id":
                continue
            if not fields:
                continue
            try:
                query_id, doc_id, score = fields[0], fields[1], int(float(fields[2]))
            except (IndexError, ValueError):
                raise _fail(task.name, f"qrels/{split}.tsv line {number}: expected 'query-id corpus-id score'") from None
            qrels.setdefault(query_id, {})[doc_id] = score
    qrels = {q: docs for q, docs in qrels.items() if q in queries}
    if not qrels:
        raise _fail(task.name, f"qrels/{split}.tsv names none of the queries")
    return RetrievalData(corpus, queries, qrels)


def subsample(rows: list[Any], max_rows: int | None, seed: int = 0) -> list[Any]:
    """At most `max_rows` rows, a seeded sample kept in file order (all rows when `max_rows` is None)."""
    if max_rows is None or len(rows) <= max_rows:
        return rows
    keep = sorted(random.Random(seed).sample(range(len(rows)), max_rows))
    return [rows[i] for i in keep]


def load_task(name_or_path: str | Path, root: str | Path | None = None) -> Task:
    """A task from its folder, or by name among the folders under `root` (default: the shared `eval/` data).

    Example:
        >>> task = load_task("STSBenchmark")          # doctest: +SKIP
        >>> task = load_task("path/to/MyTask")         # doctest: +SKIP
    """
    path = Path(name_or_path)
    if (path / "meta.json").is_file():
        return _task_from_folder(path)
    if path.is_dir() and (path.is_absolute() or "/" in str(name_or_path)):  # a folder, not a task name
        raise _fail(str(name_or_path), f"{path} has no meta.json (a task folder needs one: see docs/evaluation.md)")
    for folder in task_folders(root):
        if _folder_task_name(folder) == str(name_or_path) or folder.name == str(name_or_path):
            return _task_from_folder(folder)
    raise InstructEmbedError(f"task {name_or_path}: no such task folder (looked under {_root(root)})")


def discover_tasks(root: str | Path | None = None) -> list[Task]:
    """Every task under `root` (default: the shared `eval/` data), sorted by type then name."""
    tasks = [_task_from_folder(folder) for folder in task_folders(root)]
    return sorted(tasks, key=lambda t: (TASK_TYPES.index(t.type), t.name))


def task_folders(root: str | Path | None = None) -> list[Path]:
    """Folders holding a `meta.json`: `root/*/` and `root/<group>/*/` for the nested groups."""
    base = _root(root)
    if not base.is_dir():
        raise InstructEmbedError(f"no evaluation data folder at {base} (set INSTRUCTEMBED_DATA_DIR)")
    folders = []
    for child in sorted(base.iterdir()):
        if (child / "meta.json").is_file():
            folders.append(child)
        elif child.is_dir():
            folders.extend(sorted(g for g in child.iterdir() if (g / "meta.json").is_file()))
    return folders


def _root(root: str | Path | None) -> Path:
    return Path(root) if root is not None else data_dir() / "eval"


def _folder_task_name(folder: Path, meta: dict[str, Any] | None = None) -> str:
    name = (meta or {}).get("name") or folder.name
    return f"{folder.parent.name}/{name}" if folder.parent.name in NESTED_GROUPS else name


def _task_from_folder(folder: Path) -> Task:
    label = _folder_task_name(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise _fail(label, f"cannot read {folder / 'meta.json'}: {exc}") from None
    if not isinstance(meta, dict):
        raise _fail(label, "meta.json must hold a JSON object")
    for key in ("name", "main_score", "mteb_name"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise _fail(label, f"meta.json: {key!r} must be a string, got {type(meta[key]).__name__}")
    name = _folder_task_name(folder, meta)
    task_type = meta.get("type")
    if task_type not in ROW_SCHEMAS:
        raise _fail(name, f"unknown type {task_type!r} (known: {', '.join(TASK_TYPES)})")
    splits = meta.get("eval_splits") or ["test"]
    if not isinstance(splits, list) or not all(isinstance(split, str) and split for split in splits):
        raise _fail(name, f"meta.json: 'eval_splits' must be a list of split names, got {splits!r}")
    return Task(
        name=name,
        type=task_type,
        path=folder,
        main_score=meta.get("main_score") or DEFAULT_MAIN_SCORES[task_type],
        eval_splits=tuple(splits),
        mteb_name=meta.get("mteb_name"),
        same_as_mteb=bool(meta.get("same_as_mteb")),
        meta=meta,
    )


DEFAULT_MAIN_SCORES = {
    "STS": "cosine_spearman",
    "Classification": "accuracy",
    "Clustering": "v_measure",
    "PairClassification": "max_ap",
    "Reranking": "map",
    "Retrieval": "ndcg_at_10",
    "Summarization": "cosine_spearman",
    "Billboard": "pearson",
    "PromptRetrieval": "label_agreement@k",
    "Steering": "steer",
}
