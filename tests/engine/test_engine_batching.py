"""Mixed instructions in one batch, and independence from batch composition."""

from __future__ import annotations

import numpy as np
import pytest

from instructembed import Instructor

INSTRUCTIONS = [
    "Represent the Science title for retrieval:",
    "Represent the review for classifying sentiment:",
    "Represent the Wikipedia question for retrieving supporting documents:",
]


@pytest.fixture(scope="module")
def rows() -> list[list[str]]:
    words = "the cat sat on a mat while quantum computers sing about yam plants and movies".split()
    rng = np.random.default_rng(0)
    out = []
    for i in range(45):
        n = int(rng.integers(1, 40))
        out.append([INSTRUCTIONS[i % 3], " ".join(rng.choice(words, size=n))])
    return out


def test_mixed_batch_equals_each_instruction_group_alone(default_model, rows):
    mixed = default_model.encode(rows, batch_size=16)
    for instruction in INSTRUCTIONS:
        idx = [i for i, r in enumerate(rows) if r[0] == instruction]
        alone = default_model.encode([rows[i][1] for i in idx], instruction=instruction, batch_size=16)
        assert np.abs(mixed[idx] - alone).max() < 1e-5


def test_embedding_does_not_depend_on_batch_mates(default_model, rows):
    by_size = {bs: default_model.encode(rows, batch_size=bs) for bs in (1, 7, 32)}
    assert np.abs(by_size[1] - by_size[7]).max() < 1e-5
    assert np.abs(by_size[1] - by_size[32]).max() < 1e-5


def test_t5_batch_invariance(tiny_t5_path, rows):
    model = Instructor(tiny_t5_path, device="cpu")
    one, many = model.encode(rows, batch_size=1), model.encode(rows, batch_size=32)
    assert np.abs(one - many).max() < 1e-5


def test_input_forms_agree(default_model):
    instruction, text = INSTRUCTIONS[0], "3D ActionSLAM"
    as_pair = default_model.encode([[instruction, text]])
    as_dict = default_model.encode([{"instruction": instruction, "text": text}])
    as_kw = default_model.encode([text], instruction=instruction)
    padded = default_model.encode([["  " + instruction + "  ", "\n" + text + " "]])  # both parts stripped
    single = default_model.encode(text, instruction=instruction)
    for other in (as_dict, as_kw, padded):
        assert np.abs(as_pair - other).max() < 1e-6
    assert single.shape == (384,) and np.abs(single - as_pair[0]).max() < 1e-6


def test_output_types(default_model):
    import torch

    tensor = default_model.encode(["a", "b"], convert_to_tensor=True)
    assert isinstance(tensor, torch.Tensor) and tensor.shape == (2, 384)
    normed = default_model.encode(["a long sentence"], normalize_embeddings=True)
    assert abs(float(np.linalg.norm(normed[0])) - 1) < 1e-5
    tokens = default_model.encode(["two words"], output_value="token_embeddings")
    assert tokens[0].shape[1] == 384 and tokens[0].shape[0] == len(default_model.tokenizer("two words")["input_ids"])
    assert default_model.encode([]).shape == (0, 384)
