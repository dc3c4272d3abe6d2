"""Our embeddings equal sentence-transformers' with `include_prompt=False`, on real and T5 checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from instructembed import Instructor
from instructembed.engine.default_model import base_model_path

TEXTS = [
    "3D ActionSLAM: wearable person tracking in multi-floor environments",
    "Where is the food stored in a yam plant?",
    "short",
    "A great movie with a terrible ending, but the actors were fine and the music was memorable throughout.",
]
INSTRUCTIONS = ["Represent the Science title for retrieval:", "Represent the review for classifying sentiment:"]


def _st(path) -> SentenceTransformer:
    model = SentenceTransformer(str(path), device="cpu")
    model.set_pooling_include_prompt(False)
    return model


@pytest.mark.parametrize("instruction", INSTRUCTIONS)
def test_base_model_matches_sentence_transformers(base_model, instruction):
    ours = base_model.encode(TEXTS, instruction=instruction)
    theirs = _st(base_model_path()).encode(TEXTS, prompt=instruction)
    assert np.abs(ours - theirs).max() < 1e-5


def test_base_model_without_instruction_is_plain_sentence_transformers(base_model):
    ours = base_model.encode(TEXTS)
    theirs = SentenceTransformer(str(base_model_path()), device="cpu").encode(TEXTS)
    assert np.abs(ours - theirs).max() < 1e-5


@pytest.mark.parametrize("instruction", INSTRUCTIONS)
def test_tiny_t5_with_dense_matches_sentence_transformers(tiny_t5_path, instruction):
    model = Instructor(tiny_t5_path, device="cpu")
    assert model.get_sentence_embedding_dimension() == 16
    ours = model.encode([[instruction, t] for t in TEXTS])
    theirs = _st(tiny_t5_path).encode(TEXTS, prompt=instruction)
    assert ours.shape == theirs.shape == (len(TEXTS), 16)
    assert np.abs(ours - theirs).max() < 1e-5


def test_instruction_changes_the_embedding(default_model):
    a = default_model.encode(TEXTS[0], instruction=INSTRUCTIONS[0])
    b = default_model.encode(TEXTS[0], instruction=INSTRUCTIONS[1])
    c = default_model.encode(TEXTS[0])
    assert a.shape == (384,)
    assert np.abs(a - b).max() > 1e-3 and np.abs(a - c).max() > 1e-3
