"""Pooling covers text tokens only, per row, with the instruction boundary measured as INSTRUCTOR does."""

from __future__ import annotations

import torch

from instructembed.engine.pooling import Pooling
from tiny_checkpoints import t5_tokenizer


def test_instruction_positions_are_left_out_of_the_mean():
    tokens = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    attention = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    pooling_mask = torch.tensor([[0, 0, 1, 1, 1], [0, 1, 1, 0, 0]])
    tokens[0, :2] = 1e6  # instruction positions: any value must not leak into the mean
    tokens[1, 0] = 1e6
    tokens[1, 3:] = -1e6  # padding
    out = Pooling(3)({"token_embeddings": tokens, "attention_mask": attention, "pooling_mask": pooling_mask})
    expected = torch.stack([tokens[0, 2:5].mean(0), tokens[1, 1:3].mean(0)])
    assert torch.allclose(out["sentence_embedding"], expected)


def test_pooling_mask_is_per_row_in_a_mixed_batch(default_model):
    short, long = "Represent the title:", "Represent the Wikipedia question for retrieving supporting documents:"
    features = default_model.tokenize([[short, "a yam plant"], [long, "a yam plant"], ["", "a yam plant"]])
    tok = default_model.tokenizer
    n_short = len(tok(short)["input_ids"]) - 1  # [CLS] + instruction, not [SEP]
    n_long = len(tok(long)["input_ids"]) - 1
    mask, attention = features["pooling_mask"], features["attention_mask"]
    assert mask[0, :n_short].sum() == 0 and mask[0, n_short] == 1
    assert mask[1, :n_long].sum() == 0 and mask[1, n_long] == 1
    assert torch.equal(mask[2], attention[2])  # no instruction: every token counts, [CLS] included
    assert torch.equal(mask.sum(1), attention.sum(1) - torch.tensor([n_short, n_long, 0]))


def test_t5_boundary_drops_only_the_trailing_eos(tiny_t5_path):
    from instructembed import Instructor

    model = Instructor(tiny_t5_path, device="cpu")
    instruction = "Represent the Science title for retrieval:"
    ids = t5_tokenizer()(instruction)["input_ids"]
    assert ids[-1] == model.tokenizer.eos_token_id
    features = model.tokenize([[instruction, "Quantum computers"]])
    assert int(features["pooling_mask"][0, : len(ids) - 1].sum()) == 0
    assert int(features["pooling_mask"][0, len(ids) - 1]) == 1
    assert int(features["input_ids"][0, int(features["attention_mask"][0].sum()) - 1]) == model.tokenizer.eos_token_id
