"""The options that choose how the model runs (`--backend`, `--dtype`), shared by every command that embeds."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from instructembed.errors import InstructEmbedError

BACKEND_HELP = "torch, onnx or onnx-int8: any model is exported to ONNX on first use and cached; an export folder is used as is."
DTYPE_HELP = ("torch weights: float32 (default), bfloat16 (about 3x float32 on a CPU with AMX, slower without; "
              "see docs/performance.md) or float16 (GPUs).")

Backend = Annotated[str, typer.Option(help=BACKEND_HELP)]
Dtype = Annotated[Optional[str], typer.Option(help=DTYPE_HELP, show_default=False)]


def check_model_options(backend: str, dtype: Optional[str]) -> None:
    """Both options valid together, before anything is read or loaded."""
    from instructembed.engine.backends import check_backend, check_dtype

    check_backend(backend)
    if check_dtype(dtype) not in (None, "float32") and backend != "torch":
        raise InstructEmbedError(f"--dtype {dtype} is for --backend torch; {backend} runs its own graph")


def load_encoder(model: Optional[str], *, device: Optional[str] = None, backend: str = "torch", dtype: Optional[str] = None,
                 max_seq_length: Optional[int] = None, threads: Optional[int] = None) -> Any:
    """The model as the options ask (`threads`: onnxruntime's, for the ONNX backends)."""
    from instructembed.engine import Instructor

    check_model_options(backend, dtype)
    return Instructor(model, device=device, backend=backend, dtype=dtype, max_seq_length=max_seq_length,
                      threads=threads if backend != "torch" else None)
