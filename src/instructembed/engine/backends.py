"""The backends an `Instructor` runs on: the names users pick with `backend=` / `--backend`."""

from __future__ import annotations

from instructembed.errors import InstructEmbedError

# torch: the modules in PyTorch; onnx: the model exported to one fp32 ONNX graph run by onnxruntime;
# onnx-int8: the same graph with int8 weights (dynamic quantization), the fastest on CPU.
BACKENDS = ("torch", "onnx", "onnx-int8")


def check_backend(name: object) -> str:
    """`name` when it is a known backend, else an InstructEmbedError listing them."""
    if name not in BACKENDS:
        raise InstructEmbedError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    return str(name)
