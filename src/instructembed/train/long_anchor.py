"""Anchoring long documents to the untuned base, at the length they are read at inference.

Training reads every input at `max_seq_length` (64 tokens in the CPU recipe), so nothing past it is trained,
and nothing past it is held in place either: `base_anchor` compares truncated inputs. Held-out long-document
retrieval is where every steering run lost most. With `long_anchor = w`, each step also embeds
`long_anchor_rows` inputs of the ordinary triples that training truncates, whole up to `long_anchor_length`
tokens, with the model and with the frozen base, and adds `w * mean(1 - cos)` between them. The rows of step
*s* are a pure function of `(seed, s)`, so `--resume` stays exact. Contrast records are never in the pool.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch
from torch import Tensor, nn

from instructembed.engine.batching import PairTokenizer
from instructembed.errors import InstructEmbedError
from instructembed.train.data import SIDES, Triple, to_device
from instructembed.train.losses import anchor_loss, embed


class LongAnchor:
    """The truncated inputs of the ordinary triples, and the anchor term over a few of them per step."""

    def __init__(self, triples: list[Triple], tokenizer: PairTokenizer, length: int, rows: int, seed: int,
                 pad_to_multiple_of: int = 0) -> None:
        most = getattr(tokenizer.tokenizer, "model_max_length", length)
        if length > most:
            raise InstructEmbedError(f"long_anchor_length={length} is more than the model reads ({most} tokens)")
        self.tokenizer = PairTokenizer(tokenizer.tokenizer, length, tokenizer.do_lower_case)
        self.rows, self.seed, self.pad = rows, seed, pad_to_multiple_of or None
        limit = tokenizer.max_seq_length
        # a token other than [CLS] and [SEP] holds at least one character: shorter inputs always fit
        candidates = sorted({getattr(t, s) for t in triples if t.group is None for s in SIDES
                             if len(getattr(t, s)[0]) + len(getattr(t, s)[1]) + 2 > limit})
        counted = tokenizer.tokenizer([i + t for i, t in candidates], truncation=True, max_length=limit + 1,
                                      verbose=False)["input_ids"]
        self.pool = [pair for pair, ids in zip(candidates, counted, strict=True) if len(ids) > limit]
        if not self.pool:
            raise InstructEmbedError(f"long_anchor: no ordinary training input is longer than max_seq_length={limit} "
                                     "tokens, so there is nothing to anchor; set long_anchor = 0")

    def features_at(self, step: int) -> dict[str, Tensor]:
        """The tokenized inputs anchored at `step` (a pure function of the seed and the step)."""
        rng = random.Random(self.seed * 1_000_033 + step)
        pairs = rng.sample(self.pool, min(self.rows, len(self.pool)))
        tokenized = self.tokenizer.tokenize(pairs)
        return self.tokenizer.collate(tokenized.input_ids, tokenized.instruction_lengths, self.pad)

    def backward(self, step: int, model: nn.Module, reference: nn.Module, weight: float, device: torch.device,
                 autocast: Callable[[], AbstractContextManager] = nullcontext) -> Tensor:
        """Accumulate the gradient of `weight * mean(1 - cos(model, base))` over this step's rows; the detached term."""
        features = to_device([self.features_at(step)], device)[0]
        with torch.no_grad(), autocast():
            target = embed(reference, features)
        with autocast():
            loss = weight * anchor_loss([embed(model, features)], [target])
        loss.backward()
        return loss.detach()
