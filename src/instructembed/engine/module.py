"""Base of every stage in a model chain: a `torch.nn.Module` that saves and loads its own folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from instructembed.errors import InstructEmbedError


class Module(nn.Module):
    """A chain stage: `forward(features) -> features`; `config_keys` are its constructor arguments."""

    config_keys: list[str] = []
    config_file_name = "config.json"

    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.config_keys}

    def save_config(self, path: str | Path) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        with open(Path(path) / self.config_file_name, "w") as f:
            json.dump(self.get_config_dict(), f, indent=2)

    @classmethod
    def read_config(cls, path: str | Path) -> dict[str, Any]:
        file = Path(path) / cls.config_file_name
        try:
            return json.loads(file.read_text())
        except FileNotFoundError:
            raise InstructEmbedError(f"checkpoint is missing {file}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InstructEmbedError(f"checkpoint file {file} is corrupt: {exc}") from None

    def save(self, path: str | Path) -> None:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @classmethod
    def load(cls, path: str | Path) -> "Module":  # pragma: no cover
        raise NotImplementedError
