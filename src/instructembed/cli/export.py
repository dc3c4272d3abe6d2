"""`instructembed export`: a model as an ONNX graph (fp32, optionally int8)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from instructembed.errors import InstructEmbedError


def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write (model.onnx, tokenizer, config).", show_default=False)],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Checkpoint folder or hub id; default: the embedded model.")] = None,
    format: Annotated[str, typer.Option("--format", help="Export format (onnx).")] = "onnx",
    quantize: Annotated[Optional[str], typer.Option(help="Also write an int8 graph (dynamic, per-channel): int8.")] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset.")] = 17,
    max_seq_length: Annotated[Optional[int], typer.Option(help="Token limit recorded with the export.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace OUTPUT even if it is a non-empty folder that is not an earlier export.")] = False,
) -> None:
    """Export a model to ONNX: encoder, instruction-aware pooling, Dense head and normalization in one graph.

    Examples:

      instructembed export --format onnx -o runs/minilm-onnx

      instructembed export -m hkunlp/instructor-base --format onnx --quantize int8 -o runs/instructor-base-int8

    Then: Instructor("runs/minilm-onnx", backend="onnx").encode(...), or
    instructembed serve -m runs/minilm-onnx --backend onnx
    """
    from instructembed.engine import Instructor
    from instructembed.export import export_onnx
    from instructembed.export.onnx_export import check_export_folder

    if format != "onnx":
        raise InstructEmbedError(f"unknown export format {format!r}: use onnx")
    if quantize not in (None, "int8"):
        raise InstructEmbedError(f"unknown quantization {quantize!r}: use int8")
    check_export_folder(output, force)  # before the model loads
    started = time.perf_counter()
    encoder = Instructor(model, device="cpu", max_seq_length=max_seq_length)
    folder = export_onnx(encoder, output, quantize=quantize, opset=opset, force=force)
    files = ", ".join(sorted(p.name for p in folder.glob("*.onnx")))
    typer.echo(f"exported {encoder.model_name_or_path} to {folder} ({files}) in {time.perf_counter() - started:.1f}s", err=True)


def register(app: typer.Typer) -> None:
    app.command()(export)
