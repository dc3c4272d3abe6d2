"""Turn (instruction, text) pairs into padded model inputs with a per-row pooling mask."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

from instructembed.engine.inputs import Pair
from instructembed.errors import InstructEmbedError


logger = logging.getLogger("instructembed.engine")


@dataclass
class EncodeStats:
    """What the last `encode` call did: rows, real (unpadded) tokens, and rows cut at max_seq_length."""

    rows: int = 0
    tokens: int = 0
    truncated: int = 0


@dataclass
class TokenizedPairs:
    """Unpadded token ids, each row's instruction length, and how many rows were truncated."""

    input_ids: list[list[int]]
    instruction_lengths: list[int]
    truncated: int


class PairTokenizer:
    """Tokenizes `instruction + text` (no separator) and measures each instruction once.

    An instruction's length is its own tokenization minus a trailing special token (BERT's [SEP],
    T5's </s>), so BERT's [CLS] counts as part of the instruction and is left out of pooling, exactly
    as INSTRUCTOR and sentence-transformers' `include_prompt=False` do. An empty instruction has
    length 0: the row is pooled over all its tokens, like a plain sentence-transformers encode.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_seq_length: int, do_lower_case: bool = False) -> None:
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.do_lower_case = do_lower_case
        self._instruction_lengths: dict[str, int] = {}
        self._special_ids = set(tokenizer.all_special_ids)
        self._with_token_type_ids = "token_type_ids" in tokenizer.model_input_names
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def instruction_length(self, instruction: str) -> int:
        if not instruction:
            return 0
        if instruction not in self._instruction_lengths:
            ids = self.tokenizer(instruction, add_special_tokens=True, verbose=False)["input_ids"]
            self._instruction_lengths[instruction] = len(ids) - (1 if ids and ids[-1] in self._special_ids else 0)
        return self._instruction_lengths[instruction]

    def tokenize(self, pairs: Sequence[Pair], first_index: int = 0) -> TokenizedPairs:
        """Token ids of each pair; an error names its row as `input {first_index + i}` (for pairs tokenized in parts)."""
        texts, instructions, bare = [], [], []
        for instruction, text in pairs:
            if self.do_lower_case:
                instruction, text = instruction.lower(), text.lower()
            instructions.append(instruction)
            texts.append(instruction + text)
            bare.append(text)
        limit = self.max_seq_length
        ids = self.tokenizer(texts, truncation=True, max_length=limit, verbose=False)["input_ids"]
        at_limit = [i for i, row in enumerate(ids) if len(row) >= limit]
        truncated = 0
        if at_limit:
            # one token past the limit tells a cut row from one that fits exactly, without building
            # every long text's full id list (a 2,048-row request of long texts: millions of ints)
            longer = self.tokenizer([texts[i] for i in at_limit], truncation=True, max_length=limit + 1, verbose=False)["input_ids"]
            truncated = sum(len(row) > limit for row in longer)
        lengths = [self.instruction_length(instruction) for instruction in instructions]
        for i, (row, n) in enumerate(zip(ids, lengths)):
            no_text = n >= len(row) - 1 if n else all(t in self._special_ids for t in row)
            if no_text and not self.tokenizer(bare[i], add_special_tokens=False, verbose=False)["input_ids"]:
                # text the tokenizer drops entirely is empty text, whatever `is_blank` let through
                raise InstructEmbedError(f"input {first_index + i}: text is empty (it has no tokens)")
            if no_text and n:
                raise InstructEmbedError(
                    f"input {first_index + i}: the instruction takes {n} of the {limit} tokens allowed (max_seq_length), "
                    "leaving no room for the text"
                )
        return TokenizedPairs(ids, lengths, truncated)

    def collate(
        self, input_ids: Sequence[list[int]], instruction_lengths: Sequence[int], pad_to_multiple_of: int | None = None
    ) -> dict[str, Tensor]:
        """Pad to the longest row (rounded up to `pad_to_multiple_of`) and build the pooling mask."""
        width = max(len(row) for row in input_ids)
        if pad_to_multiple_of:
            width = -(-width // pad_to_multiple_of) * pad_to_multiple_of
        ids = torch.full((len(input_ids), width), self.pad_token_id, dtype=torch.long)
        attention = torch.zeros((len(input_ids), width), dtype=torch.long)
        for i, row in enumerate(input_ids):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            attention[i, : len(row)] = 1
        positions = torch.arange(width).unsqueeze(0)  # (1, T)
        starts = torch.tensor(list(instruction_lengths), dtype=torch.long).unsqueeze(1)  # (B, 1)
        features = {
            "input_ids": ids,
            "attention_mask": attention,
            "pooling_mask": attention * (positions >= starts),
        }
        if self._with_token_type_ids:
            features["token_type_ids"] = torch.zeros_like(ids)
        return features


def encode_in_batches(
    pair_tokenizer: PairTokenizer,
    pairs: Sequence[Pair],
    batch_size: int,
    embed_rows: Callable[[list[list[int]], list[int]], Sequence[Any]],
    show_progress_bar: bool | None = None,
) -> tuple[list[Any], EncodeStats]:
    """Tokenize once, run length-sorted batches through `embed_rows(input_ids, instruction_lengths)`, and
    return its per-row outputs in input order, with the call's stats (every backend's encode loop)."""
    tokenized = pair_tokenizer.tokenize(pairs)
    ids, starts = tokenized.input_ids, tokenized.instruction_lengths
    stats = EncodeStats(len(pairs), sum(len(r) for r in ids), tokenized.truncated)
    if tokenized.truncated:
        logger.warning(
            "%d of %d texts were longer than max_seq_length=%d tokens and were truncated",
            tokenized.truncated, len(pairs), pair_tokenizer.max_seq_length,
        )
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    if show_progress_bar is None:
        show_progress_bar = sys.stderr.isatty() and len(order) > 10 * batch_size
    outputs: list[Any] = [None] * len(order)
    with tqdm(total=len(order), desc="Embedding", unit="text", disable=not show_progress_bar) as bar:
        for begin in range(0, len(order), batch_size):
            rows = order[begin : begin + batch_size]
            for i, out in zip(rows, embed_rows([ids[i] for i in rows], [starts[i] for i in rows])):
                outputs[i] = out
            bar.update(len(rows))
    return outputs, stats
