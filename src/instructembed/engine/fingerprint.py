"""A model's fingerprint: a hex id of its weights and configuration, so that vectors of two models never mix
(the evaluator's embedding cache keys on it; the scale engines' manifests and indexes record it)."""

from __future__ import annotations

import hashlib
from typing import Any

_FINGERPRINTS: dict[int, tuple[tuple, str]] = {}


def model_fingerprint(model: Any) -> str | None:
    """A hex id of the model's weights and configuration; None when the encoder exposes no weights.

    Hashes every tensor of `state_dict()` (so a fine-tuned copy of a model never reuses its parent's
    vectors) together with the module structure and `max_seq_length`.
    """
    explicit = getattr(model, "fingerprint", None)
    if isinstance(explicit, str):
        return explicit
    state_dict = getattr(model, "state_dict", None)
    if not callable(state_dict):
        return None
    import torch

    state = state_dict()
    # cheap identity of the current weights: storage + in-place version counter of every tensor
    quick = tuple((k, v.data_ptr(), v._version, tuple(v.shape)) for k, v in state.items() if isinstance(v, torch.Tensor))
    remembered = _FINGERPRINTS.get(id(model))
    if remembered is not None and remembered[0] == quick:
        return remembered[1]
    digest = hashlib.sha256()
    digest.update(type(model).__qualname__.encode())
    digest.update(repr(model).encode())
    digest.update(str(getattr(model, "max_seq_length", "")).encode())
    for name, tensor in sorted(state.items()):
        if not isinstance(tensor, torch.Tensor):
            continue
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode() + str(tensor.dtype).encode())
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    _FINGERPRINTS[id(model)] = (quick, digest.hexdigest()[:32])
    return _FINGERPRINTS[id(model)][1]
