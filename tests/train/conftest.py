"""Fixtures for trainer tests: a tiny random BERT (MiniLM's tokenizer) and a small mixed-task MEDI file."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertModel

from instructembed.engine.default_model import base_model_path
from instructembed.engine.instructor import Instructor
from instructembed.engine.pooling import Pooling
from instructembed.engine.transformer import Transformer

WORDS = (
    "apple river mountain guitar planet engine coffee winter garden doctor market window ocean pencil "
    "forest camera bridge violin rocket summer island teacher castle letter thunder silver desert tiger "
    "harbor candle meadow piano garden rabbit glacier lantern canyon falcon orchard pepper saddle temple"
).split()


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run far faster on one thread, and two threads crawl when the cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide random BERT saved in sentence-transformers layout (loads in well under a second)."""
    folder = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = AutoTokenizer.from_pretrained(str(base_model_path()))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128,
    )
    model = Instructor(modules=[Transformer(BertModel(config), tokenizer, max_seq_length=64), Pooling(32)], device="cpu")
    model.save(folder)
    return folder


def write_triples(path: Path, tasks: dict[str, int], seed: int = 0, document_words: int = 4) -> Path:
    """Triples whose positive shares the query's words and whose negative does not: learnable by a tiny model.
    `document_words` > 4 makes the positives and negatives that long (the query's words, then others)."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        for task, count in tasks.items():
            for _ in range(count):
                words = rng.sample(WORDS, 4)
                other = rng.sample([w for w in WORDS if w not in words], 4)
                row = {
                    "query": [f"Represent the {task} query for retrieval: ", " ".join(words)],
                    "pos": [f"Represent the {task} document: ", " ".join(rng.sample(words, 4) + filler(rng, document_words - 4))],
                    "neg": [f"Represent the {task} document: ", " ".join(other + filler(rng, document_words - 4))],
                    "task_id": task,
                }
                f.write(json.dumps(row) + "\n")
    return path


def filler(rng: random.Random, count: int) -> list[str]:
    return [rng.choice(WORDS) for _ in range(count)]


@pytest.fixture(scope="session")
def long_medi_files(tmp_path_factory) -> tuple[Path, Path]:
    """As `medi_files`, with 40-word documents in one task (longer than the tests' 16-token training window)."""
    folder = tmp_path_factory.mktemp("long_medi")
    short = write_triples(folder / "short.jsonl", {"alpha": 70, "beta": 45}, seed=1)
    long = write_triples(folder / "long.jsonl", {"gamma": 40}, seed=3, document_words=40)
    train = folder / "medi.jsonl"
    train.write_text(short.read_text() + long.read_text())
    dev = write_triples(folder / "medi.dev.jsonl", {"alpha": 16, "beta": 16}, seed=2)
    return train, dev


@pytest.fixture(scope="session")
def medi_files(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("medi")
    train = write_triples(folder / "medi.jsonl", {"alpha": 70, "beta": 45, "gamma": 21}, seed=1)
    dev = write_triples(folder / "medi.dev.jsonl", {"alpha": 16, "beta": 16}, seed=2)
    return train, dev
