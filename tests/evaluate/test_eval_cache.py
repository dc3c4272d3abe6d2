"""The embedding cache: hits give the same vectors, a different model never reuses another's vectors."""

from __future__ import annotations

import copy

import numpy as np
import torch

from instructembed.evaluate import EmbeddingCache, evaluate_task, load_task, model_fingerprint
from instructembed.evaluate.text_encoder import TextEncoder


def test_cache_hit_returns_the_same_vectors_without_encoding(model, tmp_path):
    cache = EmbeddingCache(tmp_path / "c")
    first = TextEncoder(model, cache)
    vectors = first.encode(["alpha", "beta", "alpha"], "Represent the word: ")
    assert first.encoded == 2 and first.reused == 1  # duplicate text encoded once
    again = TextEncoder(model, EmbeddingCache(tmp_path / "c"))  # fresh process view: read from disk
    assert np.array_equal(again.encode(["beta", "alpha"], "Represent the word: "), vectors[[1, 0]])
    assert again.encoded == 0
    other_instruction = again.encode(["alpha"], "Represent the name: ")
    assert again.encoded == 1 and not np.allclose(other_instruction[0], vectors[0])
    assert not list((tmp_path / "c").rglob("*.tmp"))


def test_a_changed_model_gets_its_own_cache_entries(model, tmp_path):
    changed = copy.deepcopy(model)
    with torch.no_grad():
        next(changed.parameters()).add_(0.01)
    assert model_fingerprint(model) != model_fingerprint(changed)
    assert model_fingerprint(model) == model_fingerprint(copy.deepcopy(model))
    before = model_fingerprint(changed)
    with torch.no_grad():  # an in-place update of the same object (as an optimizer step) is noticed
        next(changed.parameters()).add_(0.01)
    assert model_fingerprint(changed) != before
    cache = EmbeddingCache(tmp_path / "c")
    a = TextEncoder(model, cache).encode(["gamma ray burst"], None)
    encoder = TextEncoder(changed, cache)
    b = encoder.encode(["gamma ray burst"], None)
    assert encoder.encoded == 1 and not np.array_equal(a, b)
    assert np.allclose(b, changed.encode(["gamma ray burst"]), atol=1e-6)


def test_cached_task_run_scores_the_same(model, sts_task, tmp_path):
    task = load_task(sts_task)
    cold = evaluate_task(model, task, cache=tmp_path / "c")
    warm = evaluate_task(model, task, cache=tmp_path / "c")
    assert cold.texts_encoded > 0 and warm.texts_encoded == 0
    assert warm.main_score == cold.main_score
