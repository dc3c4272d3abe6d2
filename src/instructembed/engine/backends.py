"""The backends an `Instructor` runs on and the precisions of its torch backend: the names users pick with
`backend=` / `--backend` and `dtype=` / `--dtype`."""

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


# The torch backend's weights: float32 (default); bfloat16, about 3x float32 on a CPU with AMX (amx_bf16) at cosine
# >= 0.9998 to it, slower than float32 without (results/benchmarks.md); float16 for GPUs.
DTYPES = ("float32", "bfloat16", "float16")


def check_dtype(value: object) -> str | None:
    """The dtype's name ("float32", "bfloat16", "float16") for a name or a `torch.dtype`; None for None."""
    if value is None:
        return None
    name = str(value).removeprefix("torch.")
    if name not in DTYPES:
        raise InstructEmbedError(f"dtype must be one of {', '.join(DTYPES)}, got {value!r}")
    return name


def dtype_of(model: object) -> str:
    """The precision `model` computes in: its first floating-point parameter's dtype, float32 for an ONNX graph."""
    parameters = getattr(model, "parameters", None) if getattr(model, "graph", None) is None else None
    for parameter in parameters() if callable(parameters) else ():
        if parameter.is_floating_point():
            return str(parameter.dtype).removeprefix("torch.")
    return "float32"
