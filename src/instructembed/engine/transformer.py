"""The encoder stage: a Hugging Face model (T5 uses its encoder only) plus its tokenizer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from instructembed.engine.module import Module
from instructembed.errors import InstructEmbedError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

_T5_TYPES = {"t5", "mt5", "umt5"}


class Transformer(Module):
    """Writes `token_embeddings` (B, T, H) from `input_ids` and `attention_mask`.

    Saved in the checkpoint's root folder (`config.json`, `model.safetensors`, tokenizer files and
    `sentence_bert_config.json`), as sentence-transformers does.
    """

    config_file_name = "sentence_bert_config.json"
    config_keys = ["max_seq_length", "do_lower_case"]

    def __init__(
        self,
        auto_model: torch.nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        max_seq_length: int | None = None,
        do_lower_case: bool = False,
    ) -> None:
        super().__init__()
        self.auto_model = auto_model
        self.tokenizer = tokenizer
        limit = getattr(auto_model.config, "max_position_embeddings", None) or tokenizer.model_max_length
        self.max_seq_length = int(max_seq_length or min(limit, 512))
        self.do_lower_case = do_lower_case
        self._takes_token_type_ids = "token_type_ids" in tokenizer.model_input_names

    @property
    def hidden_size(self) -> int:
        config = self.auto_model.config
        return int(getattr(config, "d_model", None) or config.hidden_size)

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        inputs = {"input_ids": features["input_ids"], "attention_mask": features["attention_mask"]}
        if self._takes_token_type_ids and "token_type_ids" in features:
            inputs["token_type_ids"] = features["token_type_ids"]
        features["token_embeddings"] = self.auto_model(**inputs, return_dict=True).last_hidden_state
        return features

    def save(self, path: str | Path) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        self.auto_model.save_pretrained(str(path), safe_serialization=True)
        self.tokenizer.save_pretrained(str(path))
        self.save_config(path)

    @classmethod
    def load(cls, path: str | Path, max_seq_length: int | None = None, dtype: torch.dtype | None = None) -> "Transformer":
        # transformers' model code is imported on the first load, not with the package (seconds of start-up)
        from transformers import AutoConfig, AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        folder = Path(path)
        st_config = json.loads((folder / cls.config_file_name).read_text()) if (folder / cls.config_file_name).exists() else {}
        try:
            config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
        except Exception as exc:
            raise InstructEmbedError(f"cannot read model config in {folder}: {_first_line(exc)}") from None
        if config.model_type in _T5_TYPES:
            from transformers import T5EncoderModel as model_class  # T5's code only for T5 (seconds to import)
        else:
            model_class = AutoModel
        hf_logging.disable_progress_bar()  # a bar per load is noise; our own bars cover long work
        try:
            auto_model = model_class.from_pretrained(str(folder), config=config, local_files_only=True, dtype=dtype)
        except Exception as exc:
            raise InstructEmbedError(f"checkpoint weights in {folder} are missing or corrupt: {_first_line(exc)}") from None
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        except Exception as exc:
            raise InstructEmbedError(f"cannot load the tokenizer in {folder}: {_first_line(exc)}") from None
        return cls(
            auto_model,
            tokenizer,
            max_seq_length=max_seq_length or st_config.get("max_seq_length"),
            do_lower_case=bool(st_config.get("do_lower_case", False)),
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
