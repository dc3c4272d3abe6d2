"""MEDI triples: read the JSON-lines file, strip instructions when asked, tokenize once up front."""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from instructembed.engine.batching import PairTokenizer
from instructembed.errors import InstructEmbedError

logger = logging.getLogger(__name__)

SIDES = ("query", "pos", "neg")
Pair = tuple[str, str]


@dataclass
class Triple:
    query: Pair
    pos: Pair
    neg: Pair
    task_id: str
    group: str | None = None  # contrast group (the same text under its instructions); None for ordinary records
    labels: tuple[str, str, str] | None = None  # a contrast record's asked-property labels of query, pos, neg


def read_triples(path: str | Path, instructions: bool = True) -> list[Triple]:
    """Records `{"query": [instr, text], "pos": [...], "neg": [...], "task_id": str}`, one a line.

    With `instructions=False` every instruction becomes "" (the no-instruction ablation), and instruction-
    contrast records (`"kind": "contrast"`) are left out: without their instructions they contradict each other.
    A contrast record's `group` names the records that must share a batch.
    A name ending in `.gz` is read gzip-compressed.
    Rows with an empty text are skipped (logged with a count).
    """
    file = Path(path)
    if not file.exists():
        raise InstructEmbedError(f"training data not found: {file}")
    triples, empty, contrast_dropped = [], 0, 0
    opener = gzip.open if file.suffix == ".gz" else open
    with opener(file, "rt", encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                pairs = [(str(row[s][0]).strip(), str(row[s][1]).strip()) for s in SIDES]
                task = str(row["task_id"])
            except (json.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
                raise InstructEmbedError(
                    f"{file}:{number}: expected {{\"query\": [instr, text], \"pos\": [...], \"neg\": [...], "
                    f"\"task_id\": str}} ({type(exc).__name__}: {exc})"
                ) from None
            if any(not text for _, text in pairs):
                empty += 1
                continue
            group, labels = None, None
            if row.get("kind") == "contrast":
                if not instructions:
                    contrast_dropped += 1
                    continue
                group = f"{task}/{row.get('group', number)}"
                labels = _labels(row.get("labels"), file, number)
            if not instructions:
                pairs = [("", text) for _, text in pairs]
            triples.append(Triple(*pairs, task_id=task, group=group, labels=labels))
    if empty:
        logger.warning("%s: skipped %d rows with an empty text", file, empty)
    if contrast_dropped:
        logger.info("%s: left out %d instruction-contrast records (instructions off)", file, contrast_dropped)
    if not triples:
        raise InstructEmbedError(f"{file} holds no training triples")
    return triples


def _labels(value: object, file: Path, number: int) -> tuple[str, str, str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 3 or not all(isinstance(v, str) for v in value):
        raise InstructEmbedError(f"{file}:{number}: 'labels' must be [query label, positive label, negative label], got {value!r}")
    return (value[0], value[1], value[2])


def drop_unfit(triples: list[Triple], tokenizer: PairTokenizer) -> list[Triple]:
    """Leave out triples with an instruction that fills the whole token window (no text left to pool)."""
    limit = tokenizer.max_seq_length
    kept = [
        t for t in triples
        if all(tokenizer.instruction_length(getattr(t, s)[0]) < limit - 1 for s in SIDES)
    ]
    if len(kept) < len(triples):
        logger.warning("skipped %d triples whose instruction fills max_seq_length=%d", len(triples) - len(kept), limit)
    return kept


def strip_instructions(triples: list[Triple]) -> list[Triple]:
    return [Triple(*(("", t.__dict__[s][1]) for s in SIDES), task_id=t.task_id, group=t.group, labels=t.labels) for t in triples]


class TokenizedTriples:
    """Token ids and instruction lengths of every (query, pos, neg), ready to collate into batches.

    `eager=False` tokenizes each batch's rows when collated instead of all rows up front: cheaper for
    a set only a few batches draw from (the instruction-free copy behind `plain_batch_fraction`).
    """

    def __init__(self, triples: list[Triple], tokenizer: PairTokenizer, eager: bool = True) -> None:
        self.tokenizer = tokenizer
        self.triples = triples
        self.task_ids = [t.task_id for t in triples]
        self.groups = [t.group for t in triples]
        self.labels = [t.labels for t in triples]
        self.sides: dict[str, tuple[list[list[int]], list[int]]] = {}
        self.truncated = 0
        if eager:
            for side in SIDES:
                tokenized = tokenizer.tokenize([getattr(t, side) for t in triples])
                self.sides[side] = (tokenized.input_ids, tokenized.instruction_lengths)
                self.truncated += tokenized.truncated

    def __len__(self) -> int:
        return len(self.task_ids)

    def collate(self, rows: list[int], pad_to_multiple_of: int = 0) -> list[dict[str, Tensor]]:
        """Padded model inputs for the query, positive and negative sides of `rows`."""
        batches = []
        for side in SIDES:
            if self.sides:
                ids, starts = self.sides[side]
                ids, starts = [ids[i] for i in rows], [starts[i] for i in rows]
            else:
                tokenized = self.tokenizer.tokenize([getattr(self.triples[i], side) for i in rows])
                ids, starts = tokenized.input_ids, tokenized.instruction_lengths
            batches.append(self.tokenizer.collate(ids, starts, pad_to_multiple_of or None))
        return batches


def to_device(batches: list[dict[str, Tensor]], device: torch.device) -> list[dict[str, Tensor]]:
    return [{k: v.to(device, non_blocking=True) for k, v in b.items()} for b in batches]
