"""Normalize what users pass to `encode` into (instruction, text) pairs, rejecting bad rows by index."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from instructembed.errors import InstructEmbedError

Pair = tuple[str, str]
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def to_pairs(inputs: Any, instruction: str | None = None) -> tuple[list[Pair], bool]:
    """Return `(pairs, single)`; `single` means one string was passed and a 1-D vector is wanted.

    Accepted rows: a string (text, no instruction unless `instruction` is given), an
    `[instruction, text]` pair, or a `{"instruction", "text"}` mapping. Both parts are stripped.
    Blank text (empty, whitespace or invisible characters only, see `is_blank`) is an error: it has
    no tokens to pool. `instruction` with `[instruction, text]` pairs is an error: say it once.
    """
    if instruction is not None and not isinstance(instruction, str):
        raise InstructEmbedError(f"instruction must be a string, got {type(instruction).__name__}")
    if instruction is not None and isinstance(inputs, (list, tuple)) and any(isinstance(item, (list, tuple)) for item in inputs):
        raise InstructEmbedError(
            "give either [instruction, text] pairs or plain texts with the instruction keyword, not both"
        )
    if isinstance(inputs, str):
        return [_row(inputs, 0, instruction)], True
    if isinstance(inputs, Mapping):
        return [_row(inputs, 0, instruction)], True
    if inputs is None or not isinstance(inputs, Sequence) and not hasattr(inputs, "__iter__"):
        raise InstructEmbedError(f"inputs must be a string or a list of rows, got {type(inputs).__name__}")
    return [_row(item, i, instruction) for i, item in enumerate(inputs)], False


def _row(item: Any, index: int, default_instruction: str | None) -> Pair:
    if isinstance(item, str):
        instruction, text = default_instruction or "", item
    elif isinstance(item, Mapping):
        if "text" not in item:
            raise InstructEmbedError(f"input {index}: a mapping needs a 'text' key (and optionally 'instruction')")
        instruction, text = item.get("instruction") or default_instruction or "", item["text"]
    elif isinstance(item, (list, tuple)):
        if len(item) != 2:
            raise InstructEmbedError(f"input {index}: a pair must be [instruction, text], got {len(item)} items")
        instruction, text = item
    elif item is None:
        raise InstructEmbedError(f"input {index} is None")
    else:
        raise InstructEmbedError(f"input {index}: expected a string, a pair or a mapping, got {type(item).__name__}")
    if not isinstance(instruction, str):
        raise InstructEmbedError(f"input {index}: instruction must be a string, got {type(instruction).__name__}")
    if not isinstance(text, str):
        raise InstructEmbedError(f"input {index}: text must be a string, got {type(text).__name__}")
    if is_blank(text):
        raise InstructEmbedError(f"input {index}: text is empty or whitespace only")
    for part, value in (("instruction", instruction), ("text", text)):
        if not value.isascii() and _LONE_SURROGATE.search(value):  # JSON allows "\ud800"; no tokenizer does
            raise InstructEmbedError(f"input {index}: {part} is not valid Unicode (it holds a lone surrogate)")
    return instruction.strip(), text.strip()


def is_blank(text: str) -> bool:
    """True for text with nothing to embed: only whitespace, control characters (NUL, ...) and
    invisible format characters (zero-width space, byte-order mark, ...), which tokenizers drop."""
    return all(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in text)
