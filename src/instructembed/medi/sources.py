"""Read the build's inputs: Super-NI task files and pair datasets, dropping bad rows with counted reasons.

A problem with one instance or row is counted in `skipped` and the rest is kept; a problem with the whole
file raises `SourceError`, which the build turns into a skipped task with that reason.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class SourceError(Exception):
    """A task or dataset that cannot be used at all; the message is the report's skip reason."""


@dataclass
class SniTask:
    """One Super-NI task: metadata and its usable instances (`inputs[i]` -> `outputs[i]`, first output)."""

    name: str
    definition: str
    categories: list[str]
    domains: list[str]
    inputs: list[str]
    outputs: list[str]
    skipped: Counter = field(default_factory=Counter)


@dataclass
class PairDataset:
    """One pair dataset: its meta.json and rows (query, positive, optional given hard negative)."""

    name: str
    meta: dict[str, Any]
    queries: list[str]
    positives: list[str]
    negatives: list[str | None]
    skipped: Counter = field(default_factory=Counter)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _string_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def load_sni_task(path: Path, max_chars: int) -> SniTask:
    """Parse a Super-NI task file; malformed instances, duplicate ids/inputs and over-long texts are skipped."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"malformed task file: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}") from None
    if not isinstance(data, dict):
        raise SourceError("malformed task file: top level is not a JSON object")
    instances = data.get("Instances")
    if not isinstance(instances, list):
        raise SourceError("malformed task file: no 'Instances' list")
    task = SniTask(
        name=path.stem,
        definition=" ".join(_string_list(data.get("Definition"))).strip(),
        categories=_string_list(data.get("Categories")),
        domains=[d.strip() for entry in _string_list(data.get("Domains")) for d in entry.split(",") if d.strip()],
        inputs=[],
        outputs=[],
    )
    seen_ids: set[str] = set()
    seen_inputs: set[str] = set()
    for instance in instances:
        if not isinstance(instance, dict):
            task.skipped["malformed instance"] += 1
            continue
        text = _text(instance.get("input"))
        outputs = [o.strip() for o in _string_list(instance.get("output")) if o.strip()]
        if text is None or not outputs:
            task.skipped["instance without input or output"] += 1
            continue
        instance_id = instance.get("id")
        if instance_id is not None:
            if str(instance_id) in seen_ids:
                task.skipped["duplicate instance id"] += 1
                continue
            seen_ids.add(str(instance_id))
        if len(text) > max_chars or len(outputs[0]) > max_chars:
            task.skipped[f"text over {max_chars} characters"] += 1
            continue
        key = " ".join(text.lower().split())
        if key in seen_inputs:
            task.skipped["duplicate input"] += 1
            continue
        seen_inputs.add(key)
        task.inputs.append(text)
        task.outputs.append(outputs[0])
    return task


def load_pair_dataset(folder: Path, max_chars: int) -> PairDataset:
    """Read `meta.json` + `train.jsonl`; bad lines, empty texts, duplicates and over-long texts are skipped."""
    meta_path, rows_path = folder / "meta.json", folder / "train.jsonl"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"unreadable meta.json: {type(exc).__name__}") from None
    if not isinstance(meta, dict):
        raise SourceError("malformed meta.json: not a JSON object")
    if not rows_path.is_file():
        raise SourceError("no train.jsonl")
    dataset = PairDataset(folder.name, meta, [], [], [])
    seen: set[tuple[str, str]] = set()
    with rows_path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                dataset.skipped["malformed line"] += 1
                continue
            query = _text(row.get("query")) if isinstance(row, dict) else None
            pos = _text(row.get("pos")) if isinstance(row, dict) else None
            if query is None or pos is None:
                dataset.skipped["row without query or pos"] += 1
                continue
            neg = _text(row.get("neg"))
            if any(len(t) > max_chars for t in (query, pos, neg or "")):
                dataset.skipped[f"text over {max_chars} characters"] += 1
                continue
            if pos == query:
                dataset.skipped["pos identical to query"] += 1
                continue
            if neg is not None and neg in (query, pos):
                neg = None
                dataset.skipped["given neg identical to query or pos (neg mined instead)"] += 1
            if (query, pos) in seen:
                dataset.skipped["duplicate pair"] += 1
                continue
            seen.add((query, pos))
            dataset.queries.append(query)
            dataset.positives.append(pos)
            dataset.negatives.append(neg)
    return dataset
