"""The fixed benchmark corpus: 2,000 mixed-length texts from the shared eval data, five instructions; SciFact
documents (the shared retrieval corpus) for accuracy checks; the row-wise cosine both are compared with."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from instructembed.shared_data import data_dir  # noqa: E402

# (task folder, file, field(s), instruction): short tweets to long abstracts.
SOURCES = [
    ("TweetSentimentExtractionClassification", "test.jsonl", "text", "Represent the Tweet for classifying sentiment:"),
    ("Banking77Classification", "test.jsonl", "text", "Represent the bank purpose for classifying:"),
    ("STSBenchmark", "test.jsonl", "sentence1", "Represent the sentence for retrieving duplicate sentences:"),
    ("SciFact", "corpus.jsonl", "text", "Represent the Scientific document for retrieval:"),
    ("TwitterURLCorpus", "test.jsonl", "sentence2", "Represent the Twitter post for retrieving duplicate posts:"),
]


def load_corpus(n: int = 2000, seed: int = 0) -> list[list[str]]:
    """`n` [instruction, text] pairs, n/5 from each source, shuffled; exits with a message if data is absent."""
    root = data_dir() / "eval"
    if not root.exists():
        sys.exit(f"benchmark skipped: shared data not found at {root} (set INSTRUCTEMBED_DATA_DIR)")
    rng = random.Random(seed)
    pairs: list[list[str]] = []
    for folder, file, field, instruction in SOURCES:
        with open(root / folder / file) as f:
            texts = [t for t in (json.loads(line)[field].strip() for line in f) if t]
        pairs += [[instruction, t] for t in rng.sample(sorted(set(texts)), n // len(SOURCES))]
    rng.shuffle(pairs)
    return pairs


def scifact_docs(n: int, seed: int = 0) -> list[list[str]]:
    """`n` SciFact documents (title + abstract) under the paper's SciFact corpus instruction."""
    from instructembed.evaluate import InstructionSet

    folder = data_dir() / "eval" / "SciFact"
    rows = [json.loads(line) for line in (folder / "corpus.jsonl").read_text().splitlines()]
    rng = random.Random(seed)
    rows = rng.sample(rows, min(n, len(rows)))
    instruction = InstructionSet.default().for_task("SciFact").corpus or ""
    return [[instruction, (r.get("title", "") + " " + r["text"]).strip()] for r in rows]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each row's cosine between `a` and `b`."""
    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
