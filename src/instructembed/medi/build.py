"""Build a MEDI-style training file from Super-NI tasks and pair datasets.

Per task: read it (bad rows counted and dropped), decide its kind from the data, embed its texts without
instructions (cached), mine positive and hard negative per anchor, cap and deduplicate, attach the task's
instructions. Tasks are split into train and dev by task; a task that cannot be used is skipped with its
reason in the report, never crashing the build.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from instructembed.errors import InstructEmbedError
from instructembed.atomic_file import write_text_atomic
from instructembed.medi import contrast, dev_retrieval
from instructembed.medi.derive import derive_pair_instruction, derive_sni_instruction
from instructembed.medi.embedding_cache import DEFAULT_CACHE_DIR, CachedEmbedder
from instructembed.medi.instruction_file import REVIEWED_FILE, resolve_instructions
from instructembed.medi.mining import (NONE, decide_kind, mine_classification, mine_pair_negatives, mine_text_output,
                                       normalize_label, positional_labels)
from instructembed.medi.records import Record, make_record, write_records
from instructembed.medi.sources import SourceError, load_pair_dataset, load_sni_task


@dataclass
class BuildConfig:
    """Everything that decides the output; the same config and inputs give the same bytes."""

    output: Path
    sni_dir: Path | None = None
    pairs_dir: Path | None = None
    max_per_task: int = 3000  # cap for every task (pair datasets in practice)
    sni_max_per_task: int = 100  # cap for a Super-NI text-output task
    classification_max_per_task: int = 50  # cap for a Super-NI classification task (label-mined pairs are noisier)
    embedder: str | None = "all-MiniLM-L6-v2"  # the base that mined the shipped MEDI; None = whatever Instructor() loads
    seed: int = 0
    dev_tasks_fraction: float = 0.1
    max_chars: int = 6000
    max_labels: int = 20
    keep_positional_labels: bool = False
    neg_margin: float | None = 0.95
    instructions: Path | None = None
    reviewed_instructions: Path | None = REVIEWED_FILE
    cache_dir: Path = DEFAULT_CACHE_DIR
    max_seq_length: int = 128
    batch_size: int = 64
    show_progress: bool = True
    sni_records: bool = True  # ordinary records from the Super-NI tasks (False: they feed only the contrast pools)
    contrast: bool = True  # instruction-contrast records (medi.contrast) and the dev steering sets
    contrast_max_per_cell: int = 250  # texts per (source, label) cell of a two-label pool
    contrast_pair_cap: int = 2000  # premises of snli_contradiction turned into entailed-vs-contradicting groups
    contrast_dev_fraction: float = 0.05  # contrast groups held out into the dev file
    dev_steering_per_cell: int = 100  # texts per (source, label) cell of a dev steering set
    contrast_pools: str | None = None  # comma list of training pools ("all", names or properties); None: the default two
    property_contrast: bool = False  # property-vs-similarity groups from contrast.PROPERTY_TASKS (22 properties)
    property_max_per_label: int = 120  # texts per label of a property task

    @property
    def dev_output(self) -> Path:
        return self.output.with_name(f"{self.output.stem}.dev{self.output.suffix or '.jsonl'}")

    @property
    def steering_dir(self) -> Path:
        """Dev steering task folders (and their instructions file), built from held-out train-side sources."""
        return self.output.with_name(f"{self.output.stem}.steering")

    @property
    def retrieval_dir(self) -> Path:
        """Dev retrieval task folders (and their instructions file), one per held-out pair dataset."""
        return self.output.with_name(f"{self.output.stem}.retrieval")

    @property
    def report_stem(self) -> Path:
        return self.output.with_name(f"{self.output.stem}.report")


@dataclass
class TaskReport:
    task_id: str
    source: str  # "sni" or "pairs"
    split: str  # "train" or "dev"
    kind: str = ""  # "classification", "text-output", "pairs" or "" when skipped before deciding
    instances: int = 0
    distinct_outputs: int | None = None
    records: int = 0
    given_negatives: int = 0
    mined_negatives: int = 0
    mean_cos_pos: float | None = None
    mean_cos_neg: float | None = None
    query_instruction: str = ""
    doc_instruction: str = ""
    instruction_source: str = ""
    skipped_task: str | None = None
    skipped: Counter = field(default_factory=Counter)

    @property
    def hard_negative_share(self) -> float:
        return (self.given_negatives + self.mined_negatives) / self.records if self.records else 0.0


def _shown(path: Path) -> str:
    """A path as the report shows it: relative to the working directory when possible (no machine paths)."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _rng(seed: int, *parts: str) -> random.Random:
    digest = hashlib.sha256(":".join([str(seed), *parts]).encode("utf-8")).hexdigest()
    return random.Random(int(digest[:16], 16))


def choose_dev_tasks(task_ids: list[str], fraction: float, seed: int, group: str) -> set[str]:
    """round(fraction * n) tasks of a group (at least 1 when fraction > 0 and n >= 2), chosen by seed."""
    if fraction <= 0 or not task_ids:
        return set()
    count = round(fraction * len(task_ids))
    if len(task_ids) >= 2:
        count = min(max(count, 1), len(task_ids) - 1)
    order = sorted(task_ids)
    _rng(seed, "dev", group).shuffle(order)
    return set(order[:count])


def _select(anchors: list[int], cap: int, rng: random.Random,
            skipped: Counter, key_of) -> list[int]:
    """Shuffle anchors, drop duplicate records by `key_of`, keep the first `cap`, return them in index order."""
    order = list(anchors)
    rng.shuffle(order)
    kept, seen = [], set()
    for i in order:
        key = key_of(i)
        if key in seen:
            skipped["duplicate record"] += 1
            continue
        if len(kept) >= cap:
            skipped["over the per-task cap"] += 1
            continue
        seen.add(key)
        kept.append(i)
    return sorted(kept)


class MediBuilder:
    """Runs a build; `run()` writes the train file, the dev file and the report, and returns the report dict."""

    def __init__(self, config: BuildConfig) -> None:
        self.config = config
        if config.sni_dir is None and config.pairs_dir is None:
            raise InstructEmbedError("nothing to build: give --sni and/or --pairs")
        for name, folder in (("--sni", config.sni_dir), ("--pairs", config.pairs_dir)):
            if folder is not None and not Path(folder).is_dir():
                raise InstructEmbedError(f"{name} folder not found: {folder}")
        try:
            contrast.train_pools(config.contrast_pools)
        except ValueError as exc:
            raise InstructEmbedError(f"--contrast-pools: {exc}") from None
        if not 0 <= config.dev_tasks_fraction < 1:
            raise InstructEmbedError(f"--dev-tasks-fraction must be in [0, 1), got {config.dev_tasks_fraction}")
        if min(config.max_per_task, config.sni_max_per_task, config.classification_max_per_task) < 1:
            raise InstructEmbedError("per-task caps must be >= 1")
        self.instructions = resolve_instructions(config.instructions, config.reviewed_instructions)
        self.embedder = CachedEmbedder(config.embedder, config.cache_dir, max_seq_length=config.max_seq_length,
                                       batch_size=config.batch_size)
        self.embed_seconds = 0.0

    # --- inputs ------------------------------------------------------------------------------
    def sni_files(self) -> list[Path]:
        if self.config.sni_dir is None:
            return []
        return sorted(p for p in Path(self.config.sni_dir).glob("*.json") if not p.name.startswith("_") and p.name != "meta.json")

    def pair_folders(self) -> list[Path]:
        if self.config.pairs_dir is None:
            return []
        return sorted(p for p in Path(self.config.pairs_dir).iterdir() if p.is_dir() and not p.name.startswith((".", "_")))

    def _embed(self, texts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        vectors = self.embedder.embed(texts)
        self.embed_seconds += time.perf_counter() - start
        return vectors

    def _instruction(self, task_id: str, draft: dict) -> tuple[str, str, str]:
        entry = self.instructions.get(task_id)
        if entry is None:
            return draft["query"], draft["doc"], "derived (not in the instruction file)"
        source = entry.get("source") or ("reviewed" if entry.get("reviewed") else "instruction file")
        return entry["query"], entry["doc"], source

    # --- one Super-NI task -------------------------------------------------------------------
    def build_sni_task(self, path: Path, report: TaskReport) -> list[Record]:
        config = self.config
        task = load_sni_task(path, config.max_chars)
        report.skipped.update(task.skipped)
        report.instances = len(task.inputs)
        if len(task.inputs) < 2:
            raise SourceError(f"fewer than 2 usable instances ({len(task.inputs)})")
        kind, distinct = decide_kind(task.outputs, config.max_labels)
        report.kind, report.distinct_outputs = kind, distinct
        query_instr, doc_instr, source = self._instruction(task.name, derive_sni_instruction(task))
        report.query_instruction, report.doc_instruction, report.instruction_source = query_instr, doc_instr, source
        labels = [normalize_label(o) for o in task.outputs]
        if kind == "classification":
            if distinct < 2:
                raise SourceError("only one distinct output: no negative exists")
            if positional_labels(set(labels)) and not config.keep_positional_labels:
                raise SourceError(f"positional labels ({', '.join(sorted(set(labels)))}): same label, no shared meaning")
        x = self._embed(task.inputs)
        if kind == "classification":
            pos, neg = mine_classification(x, labels)
            cap = min(config.classification_max_per_task, config.max_per_task)
        else:
            pos, neg = mine_text_output(x, self._embed(task.outputs))
            cap = min(config.sni_max_per_task, config.max_per_task)
        anchors = []
        for i in range(len(task.inputs)):
            if pos[i] == NONE:
                report.skipped["no positive candidate (e.g. only instance of its label)"] += 1
            elif neg[i] == NONE:
                report.skipped["no negative candidate"] += 1
            else:
                anchors.append(i)
        skipped = Counter()
        kept = _select(anchors, cap, _rng(config.seed, task.name), skipped,
                       key_of=lambda i: frozenset((i, int(pos[i]))))
        report.skipped.update(skipped)
        report.mined_negatives = len(kept)
        if kept:
            idx = np.asarray(kept)
            report.mean_cos_pos = round(float(np.mean(np.sum(x[idx] * x[pos[idx]], axis=1))), 4)
            report.mean_cos_neg = round(float(np.mean(np.sum(x[idx] * x[neg[idx]], axis=1))), 4)
        inputs = task.inputs
        return [make_record(task.name, (query_instr, inputs[i]), (doc_instr, inputs[pos[i]]), (doc_instr, inputs[neg[i]]))
                for i in kept]

    # --- one pair dataset --------------------------------------------------------------------
    def build_pair_dataset(self, folder: Path, report: TaskReport) -> list[Record]:
        config = self.config
        data = load_pair_dataset(folder, config.max_chars)
        report.skipped.update(data.skipped)
        report.kind = "pairs"
        report.instances = len(data.queries)
        if len(data.queries) < 2:
            raise SourceError(f"fewer than 2 usable pairs ({len(data.queries)})")
        query_instr, doc_instr, source = self._instruction(data.name, derive_pair_instruction(data.meta))
        report.query_instruction, report.doc_instruction, report.instruction_source = query_instr, doc_instr, source
        cap = config.max_per_task
        skipped = Counter()
        kept = _select(list(range(len(data.queries))), cap, _rng(config.seed, data.name), skipped,
                       key_of=lambda i: (data.queries[i], data.positives[i]))
        report.skipped.update(skipped)
        given = {i for i in kept if data.negatives[i] is not None}
        report.given_negatives = len(given)
        mined = self._mine_pair_negatives(data) if len(given) < len(kept) else {}
        negatives = {i: data.negatives[i] for i in given}
        cos_pos, cos_neg = [], []
        for i in kept:
            if i in given:
                continue
            if i not in mined:
                report.skipped["no negative candidate"] += 1
                continue
            negatives[i], p, n = mined[i]
            cos_pos.append(p)
            cos_neg.append(n)
        report.mined_negatives = len(cos_neg)
        if cos_neg:
            report.mean_cos_pos = round(float(np.mean(cos_pos)), 4)
            report.mean_cos_neg = round(float(np.mean(cos_neg)), 4)
        return [make_record(data.name, (query_instr, data.queries[i]), (doc_instr, data.positives[i]),
                            (doc_instr, negatives[i]))
                for i in kept if i in negatives]

    def _mine_pair_negatives(self, data) -> dict[int, tuple[str, float, float]]:
        """For every row without a given negative (all of them, so the cache key does not depend on caps or
        seed): row -> (mined negative, cos(query, pos), cos(query, neg))."""
        rows = [i for i, neg in enumerate(data.negatives) if neg is None]
        docs = list(dict.fromkeys(data.positives))
        doc_index = {text: j for j, text in enumerate(docs)}
        positives_of: dict[str, set[int]] = {}
        for query, positive in zip(data.queries, data.positives):
            positives_of.setdefault(query, set()).add(doc_index[positive])
        excluded = []
        for i in rows:
            banned = set(positives_of[data.queries[i]])
            if data.queries[i] in doc_index:
                banned.add(doc_index[data.queries[i]])
            excluded.append(banned)
        d = self._embed(docs)
        q = self._embed([data.queries[i] for i in rows])
        pos_doc = np.asarray([doc_index[data.positives[i]] for i in rows])
        mined = mine_pair_negatives(q, d, pos_doc, excluded, self.config.neg_margin)
        return {i: (docs[j], float(q[row] @ d[pos_doc[row]]), float(q[row] @ d[j]))
                for row, (i, j) in enumerate(zip(rows, mined)) if j != NONE}

    # --- the whole build ---------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        config = self.config
        start = time.perf_counter()
        jobs = [("pairs", p.name, p) for p in self.pair_folders()]
        if config.sni_records:
            jobs += [("sni", p.stem, p) for p in self.sni_files()]
        if not jobs:
            raise InstructEmbedError("no tasks found in the given folders")
        dev = choose_dev_tasks([t for s, t, _ in jobs if s == "sni"], config.dev_tasks_fraction, config.seed, "sni")
        dev |= choose_dev_tasks([t for s, t, _ in jobs if s == "pairs"], config.dev_tasks_fraction, config.seed, "pairs")
        train_records: list[Record] = []
        dev_records: list[Record] = []
        reports: list[TaskReport] = []
        bar = tqdm(jobs, desc="MEDI build", unit="task", disable=not config.show_progress)
        for source, task_id, path in bar:
            bar.set_postfix_str(task_id[:40])
            report = TaskReport(task_id, source, "dev" if task_id in dev else "train")
            if config.contrast and task_id in contrast.DEV_TASKS:
                report.skipped_task = "held out: a source of a dev steering set"
                reports.append(report)
                continue
            try:
                build = self.build_sni_task if source == "sni" else self.build_pair_dataset
                records = build(path, report)
            except SourceError as exc:
                report.skipped_task, records = str(exc), []
            except InstructEmbedError:
                raise  # a user-fixable setup problem (e.g. the embedder cannot be loaded) stops the build
            except Exception as exc:  # noqa: BLE001 - one bad task must not end the build
                report.skipped_task, records = f"error: {type(exc).__name__}: {exc}", []
            report.records = len(records)
            reports.append(report)
            (dev_records if report.split == "dev" else train_records).extend(records)
        bar.close()
        contrast_report: dict[str, Any] = {}
        if config.contrast:
            contrast_train, contrast_dev, contrast_report = self.build_contrast()
            train_records.extend(contrast_train)
            dev_records.extend(contrast_dev)
        train_records.sort(key=lambda r: r["task_id"])  # stable: keeps each task's order
        dev_records.sort(key=lambda r: r["task_id"])
        write_records(train_records, config.output)
        write_records(dev_records, config.dev_output)
        dev_pairs = [t for s, t, _ in jobs if s == "pairs" and t in dev]
        retrieval_tasks = dev_retrieval.write_dev_retrieval(dev_records, dev_pairs, config.retrieval_dir)
        summary = {
            "output": str(config.output),
            "dev_output": str(config.dev_output),
            "train_records": len(train_records),
            "dev_records": len(dev_records),
            "tasks_used": sum(1 for r in reports if r.records),
            "tasks_skipped": sum(1 for r in reports if r.skipped_task),
            "dev_tasks": sorted(t for t in dev if any(r.task_id == t and r.records for r in reports)),
            "dev_retrieval": {"folder": _shown(config.retrieval_dir), "tasks": retrieval_tasks} if retrieval_tasks else {},
            "seconds": round(time.perf_counter() - start, 1),
            "embed_seconds": round(self.embed_seconds, 1),
            "contrast_records": sum(1 for r in train_records if r.get("kind") == contrast.KIND),
            "contrast_dev_records": sum(1 for r in dev_records if r.get("kind") == contrast.KIND),
            "texts_embedded": self.embedder.embedded_texts,
            "cache_hits": self.embedder.hits,
            "cache_misses": self.embedder.misses,
            "config": {k: (_shown(v) if isinstance(v, Path) else v) for k, v in asdict(config).items() if k != "show_progress"},
        }
        return {"summary": summary, "tasks": [self._task_dict(r) for r in reports], "contrast": contrast_report}

    # --- instruction-contrast records and dev steering sets ------------------------------------
    def build_contrast(self) -> tuple[list[Record], list[Record], dict[str, Any]]:
        """Contrast groups from the two-label pools and snli_contradiction (train / dev by group), and the
        dev steering task folders from the held-out sources."""
        config = self.config
        train: list[Record] = []
        dev: list[Record] = []
        pools: list[dict[str, Any]] = []
        groups: list[list[Record]] = []
        if config.sni_dir is not None:
            for pool in contrast.train_pools(config.contrast_pools):
                items, report = contrast.read_pool(pool, config.sni_dir, config.contrast_max_per_cell, config.seed)
                records = contrast.contrast_records(pool, items, self._embed([t.text for t in items]), config.seed) if items else []
                report.split, report.records, report.groups = "train", len(records), len(records) // 2
                pools.append(asdict(report))
                groups += [records[i:i + 2] for i in range(0, len(records), 2)]
        snli = Path(config.pairs_dir) / "snli_contradiction" if config.pairs_dir is not None else None
        if snli is not None and snli.is_dir():
            data = load_pair_dataset(snli, config.max_chars)
            rows = [i for i, n in enumerate(data.negatives) if n is not None]
            records = contrast.entailment_records([data.queries[i] for i in rows], [data.positives[i] for i in rows],
                                                  [data.negatives[i] for i in rows], config.seed, config.contrast_pair_cap)
            pools.append({"name": "snli_contradiction", "properties": ["entailed", "contradicting"], "split": "train",
                          "texts": len(rows), "groups": len(records) // 2, "records": len(records)})
            groups += [records[i:i + 2] for i in range(0, len(records), 2)]
        if config.property_contrast and config.sni_dir is not None:  # after the others: their dev split stays as it was
            for task in contrast.PROPERTY_TASKS:
                pool = contrast.property_pool(task)
                items, report = contrast.read_pool(pool, config.sni_dir, config.property_max_per_label, config.seed)
                records = contrast.property_records(task, items, self._embed([t.text for t in items]), config.seed) if items else []
                report.properties = (task.property, "similar content")
                report.split, report.records, report.groups = "train", len(records), len(records) // 2
                pools.append(asdict(report))
                groups += [records[i:i + 2] for i in range(0, len(records), 2)]
        rng = _rng(config.seed, "contrast-dev")
        for group in groups:
            (dev if rng.random() < config.contrast_dev_fraction else train).extend(group)
        steering: dict[str, Any] = {}
        if config.sni_dir is not None:
            instructions: dict[str, dict[str, str]] = {}
            for pool in contrast.DEV_STEERING:
                items, report = contrast.read_pool(pool, config.sni_dir, config.dev_steering_per_cell, config.seed)
                if len({t.labels["source"] for t in items}) < 2:
                    continue
                notes = (f"at most {config.dev_steering_per_cell} texts per (source, {pool.property}) cell, seeded sample "
                         f"(seed {config.seed}); texts of 20+ characters, whitespace collapsed, duplicates dropped")
                instructions[pool.name] = contrast.write_steering_task(config.steering_dir / pool.name, pool, items, notes)
                report.split = "dev steering"
                pools.append(asdict(report))
            if instructions:
                config.steering_dir.mkdir(parents=True, exist_ok=True)
                write_text_atomic(config.steering_dir / "steering_instructions.json", json.dumps(instructions, indent=1) + "\n")
                steering = {"folder": _shown(config.steering_dir), "tasks": sorted(instructions)}
        return train, dev, {"pools": pools, "dev_steering": steering,
                            "train_records": len(train), "dev_records": len(dev)}

    @staticmethod
    def _task_dict(report: TaskReport) -> dict[str, Any]:
        fields = {k: v for k, v in vars(report).items() if k != "skipped"}
        return {**fields, "skipped": dict(sorted(report.skipped.items())),
                "hard_negative_share": round(report.hard_negative_share, 4)}
