"""Fuse an exported encoder's graph into onnxruntime's transformer kernels (Attention, SkipLayerNorm, BiasGelu).

onnxruntime's CPU and CUDA providers have one kernel for a whole attention block and one for residual +
LayerNorm; its transformer optimizer rewrites a traced BERT-like graph into them. The pattern it matches
is the eager attention of the traced model (`eager_attention`), not torch's SDPA export. A fused graph is
kept only when it computes the same embeddings as the unfused one (`fuse_encoder` checks on padded
batches of mixed lengths), so an architecture the optimizer does not know just keeps its plain graph.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

# Part of the export cache key: change it when the fusion (or the trace it needs) changes.
FUSION_VERSION = "ort-bert-eager/1"
TOLERANCE = 1e-4  # max |difference| of unit-length embeddings between the fused and the plain graph


@contextmanager
def eager_attention(auto_model: Any) -> Iterator[None]:
    """Trace with the model's eager attention (the pattern onnxruntime fuses), then restore its own."""
    config = getattr(auto_model, "config", None)
    own = getattr(config, "_attn_implementation", None)
    setter = getattr(auto_model, "set_attn_implementation", None)
    if own in (None, "eager") or setter is None:
        yield
        return
    try:
        setter("eager")
    except (ValueError, NotImplementedError):  # a model without an eager path keeps its own
        yield
        return
    try:
        yield
    finally:
        setter(own)


def fuse_encoder(file: Path, hf_config: Any, feeds: Sequence[dict[str, np.ndarray]]) -> dict[str, int]:
    """Replace `file` with its fused graph when the fusion applies and matches on `feeds`; returns fused op counts.

    An empty dict means the graph was left as it was (no fusion found, the optimizer failed, or the fused
    graph's embeddings differed by more than `TOLERANCE`).
    """
    heads = getattr(hf_config, "num_attention_heads", None)
    hidden = getattr(hf_config, "hidden_size", None)
    if not heads or not hidden:
        return {}
    import onnxruntime as ort
    from onnxruntime.transformers.optimizer import optimize_model

    fused_file = file.with_name(f"{file.stem}.fused{file.suffix}")
    root = logging.getLogger()
    level = root.level
    try:
        root.setLevel(logging.ERROR)  # the optimizer logs each fusion it tries on the root logger
        optimized = optimize_model(str(file), model_type="bert", num_heads=int(heads), hidden_size=int(hidden), opt_level=0)
        counts = {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
        if not counts.get("Attention"):
            return {}
        optimized.save_model_to_file(str(fused_file))
        plain = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
        fused = ort.InferenceSession(str(fused_file), providers=["CPUExecutionProvider"])
        if any(np.abs(plain.run(None, feed)[0] - fused.run(None, feed)[0]).max() > TOLERANCE for feed in feeds):
            return {}
        fused_file.replace(file)
        return counts
    except Exception:  # an architecture the optimizer cannot handle keeps its plain graph
        return {}
    finally:
        root.setLevel(level)
        fused_file.unlink(missing_ok=True)
