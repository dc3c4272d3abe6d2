"""Issue 10 row 10: `normalize_embeddings=False` returns the raw pooled (or Dense) output, not unit vectors.

The packaged checkpoints end in a Normalize module; `False` skips it, `None` (the default) keeps the
checkpoint's chain, `True` makes any output unit length. Checked against sentence-transformers run
on the same folder with its Normalize module taken out.
"""

from __future__ import annotations

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from instructembed import Instructor
from instructembed.engine.default_model import base_model_path

TEXTS = ["3D ActionSLAM: wearable person tracking", "Where is the food stored in a yam plant?", "short"]
INSTRUCTION = "Represent the Science title for retrieval:"


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("fixture", ["default_model", "base_model"])
def test_false_gives_raw_vectors_in_the_normalized_direction(request, fixture):
    model = request.getfixturevalue(fixture)
    assert model.ends_in_normalize
    raw = model.encode(TEXTS, instruction=INSTRUCTION, normalize_embeddings=False)
    default = model.encode(TEXTS, instruction=INSTRUCTION)
    norms = np.linalg.norm(raw, axis=1)
    assert np.abs(norms - 1).min() > 1e-2, norms  # not unit length
    assert np.abs(np.linalg.norm(default, axis=1) - 1).max() < 1e-5
    assert np.abs(unit(raw) - default).max() < 1e-5  # the same direction
    assert np.abs(model.encode(TEXTS, instruction=INSTRUCTION, normalize_embeddings=True) - default).max() < 1e-6


def test_raw_vectors_equal_sentence_transformers_without_its_normalize_module(base_model):
    st = SentenceTransformer(str(base_model_path()), device="cpu")
    assert type(st[-1]).__name__ == "Normalize"
    pooled_only = SentenceTransformer(modules=list(st)[:-1], device="cpu")
    theirs = pooled_only.encode(TEXTS, normalize_embeddings=False)
    ours = base_model.encode(TEXTS, normalize_embeddings=False)
    assert np.abs(ours - theirs).max() < 1e-5


def test_a_dense_head_gives_its_raw_output(tiny_t5_path):
    model = Instructor(tiny_t5_path, device="cpu")  # T5 -> Pooling -> Dense(32->16) -> Normalize
    rows = [[INSTRUCTION, t] for t in TEXTS]
    raw = model.encode(rows, normalize_embeddings=False)
    assert raw.shape == (3, 16)
    assert np.abs(np.linalg.norm(raw, axis=1) - 1).max() > 1e-2  # random weights: some row may be near 1 by chance
    assert np.abs(unit(raw) - model.encode(rows)).max() < 1e-5
    features = {k: v for k, v in model.tokenize(rows).items()}
    dense_out = model[2](model[1](model[0](features)))["sentence_embedding"].detach().numpy()  # the chain by hand
    assert np.abs(raw - dense_out).max() < 1e-5


def test_a_model_without_normalize_is_normalized_only_when_asked(tiny_bert_path):
    from instructembed.engine.normalize import Normalize

    source = Instructor(tiny_bert_path, device="cpu")
    plain = Instructor(modules=[m for m in source if not isinstance(m, Normalize)], device="cpu")
    assert not plain.ends_in_normalize
    raw = plain.encode(TEXTS)
    assert np.abs(plain.encode(TEXTS, normalize_embeddings=False) - raw).max() == 0
    assert np.abs(plain.encode(TEXTS, normalize_embeddings=True) - unit(raw)).max() < 1e-6
