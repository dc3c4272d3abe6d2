"""long_anchor: inputs that training truncates are held near the base at the length they are read at inference."""

import pytest
import torch
from transformers import AutoTokenizer

from instructembed.engine.batching import PairTokenizer
from instructembed.engine.default_model import base_model_path
from instructembed.engine.instructor import Instructor
from instructembed.errors import InstructEmbedError
from instructembed.train import train
from instructembed.train.data import Triple, read_triples
from instructembed.train.long_anchor import LongAnchor

from test_base_anchor import trained_model
from test_trainer import tiny_config

LONG = "river " * 30


def pool_of(triples, limit=16, length=64) -> LongAnchor:
    tokenizer = PairTokenizer(AutoTokenizer.from_pretrained(str(base_model_path())), limit)
    return LongAnchor(triples, tokenizer, length=length, rows=2, seed=7)


def test_the_pool_holds_the_truncated_inputs_of_ordinary_triples_only():
    short = ("Represent the doc: ", "a short text")
    long_pos = ("Represent the doc: ", LONG.strip())
    long_query = ("Represent the question: ", "why " + LONG.strip())
    triples = [
        Triple(short, long_pos, short, task_id="a"),
        Triple(long_query, short, long_pos, task_id="a"),  # the same long positive again: pooled once
        Triple(short, ("Represent the doc: ", "tiger " * 30), short, task_id="c", group="c/1"),  # contrast: never
        # one token a letter, plus [CLS] and [SEP]: 17 tokens, over the 16-token window by one; 16, which fits
        Triple(short, ("", "a b c d e f g h i j k l m n o"), ("", "a b c d e f g h i j k l m n"), task_id="a"),
    ]
    anchor = pool_of(triples)
    assert sorted(anchor.pool) == sorted([long_pos, long_query, ("", "a b c d e f g h i j k l m n o")])
    first = anchor.features_at(3)
    assert first["input_ids"].shape[0] == 2 and first["input_ids"].shape[1] > 16  # read past the training window
    again = pool_of(triples).features_at(3)  # a pure function of (seed, step): what --resume relies on
    assert all(torch.equal(first[k], again[k]) for k in first)


def test_nothing_to_anchor_is_a_clear_error(tiny_base, medi_files, tmp_path):
    with pytest.raises(InstructEmbedError, match="no ordinary training input is longer than max_seq_length=32"):
        train(tiny_config(tiny_base, medi_files, tmp_path / "run", max_steps=2, long_anchor=1.0, long_anchor_length=64),
              show_progress=False)
    with pytest.raises(InstructEmbedError, match="long_anchor_length=4096 is more than the model reads .512 tokens."):
        pool_of([Triple(("", LONG), ("", "a"), ("", "b"), task_id="a")], length=4096)
    with pytest.raises(InstructEmbedError, match="long_anchor_length .32. must be > max_seq_length .32."):
        tiny_config(tiny_base, medi_files, tmp_path, long_anchor=1.0, long_anchor_length=32)


def test_long_anchor_keeps_long_documents_near_the_base(tiny_base, long_medi_files, tmp_path):
    documents = [t.pos for t in read_triples(long_medi_files[0]) if t.task_id == "gamma"][:24]
    base = Instructor(str(tiny_base), device="cpu")
    base.max_seq_length = 64
    start = base.encode(documents, normalize_embeddings=True)
    drift = {}
    for weight in (0.0, 20.0):
        out = tmp_path / f"long-{weight}"
        train(tiny_config(tiny_base, long_medi_files, out, max_steps=20, max_seq_length=16, long_anchor=weight,
                          long_anchor_length=64), show_progress=False)
        tuned = trained_model(tiny_base, out)
        tuned.max_seq_length = 64
        drift[weight] = float(1 - (tuned.encode(documents, normalize_embeddings=True) * start).sum(1).mean())
    assert drift[0.0] > 0.01  # training at 16 tokens moved the whole documents
    assert drift[20.0] < 0.5 * drift[0.0]
