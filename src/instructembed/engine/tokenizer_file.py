"""`TokenizerFile`: a checkpoint's `tokenizer.json` run by the `tokenizers` library, without transformers.

The ONNX backends need only tokenization, and importing transformers' tokenizer classes costs seconds of
every process's start-up; the `tokenizers` library (which transformers' fast tokenizers wrap) loads in
milliseconds and gives the same ids. This class offers the part of the transformers tokenizer API that
`PairTokenizer` uses.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from instructembed.errors import InstructEmbedError

TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"


class TokenizerFile:
    """`tokenizer(texts, truncation=True, max_length=L)["input_ids"]` as a transformers fast tokenizer gives it.

    Args:
        folder: a folder with `tokenizer.json` (and `tokenizer_config.json` naming the pad token).
        model_input_names: the inputs the model takes (e.g. an ONNX graph's input names).
    """

    def __init__(self, folder: str | Path, model_input_names: list[str]) -> None:
        from tokenizers import Tokenizer

        folder = Path(folder)
        try:
            self.backend = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
            config = json.loads((folder / TOKENIZER_CONFIG).read_text()) if (folder / TOKENIZER_CONFIG).is_file() else {}
        except Exception as exc:
            raise InstructEmbedError(f"cannot load the tokenizer in {folder}: {str(exc).strip().splitlines()[0]}") from None
        self.backend.no_padding()  # a tokenizer.json may carry padding and truncation settings; each call sets its own
        self.backend.no_truncation()
        self.model_input_names = list(model_input_names)
        self._lock = threading.Lock()  # truncation is a setting of the shared backend: one call at a time sets and uses it
        self.all_special_ids = sorted(i for i, token in self.backend.get_added_tokens_decoder().items() if token.special)
        pad = config.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        self.pad_token_id = self.backend.token_to_id(pad) if isinstance(pad, str) else None

    @staticmethod
    def available(folder: str | Path) -> bool:
        return (Path(folder) / TOKENIZER_FILE).is_file()

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        processor = self.backend.post_processor
        return processor.num_special_tokens_to_add(pair) if processor is not None else 0

    def __call__(
        self, text: str | list[str], *, add_special_tokens: bool = True, truncation: bool = False,
        max_length: int | None = None, verbose: bool = True,
    ) -> dict[str, Any]:
        with self._lock:
            if truncation and max_length is not None:
                self.backend.enable_truncation(max_length)
            else:
                self.backend.no_truncation()
            if isinstance(text, str):
                return {"input_ids": self.backend.encode(text, add_special_tokens=add_special_tokens).ids}
            encodings = self.backend.encode_batch(list(text), add_special_tokens=add_special_tokens)
        return {"input_ids": [e.ids for e in encodings]}
