"""int8 dynamic quantization (weights per output channel, activations at run time) with onnxruntime."""

from __future__ import annotations

from pathlib import Path

import onnx

from instructembed.errors import InstructEmbedError


def down_projections(model: onnx.ModelProto) -> list[str]:
    """MatMul nodes whose constant weight maps a wider input to a narrower output (FFN `wo`, BERT `output.dense`).

    Their inputs are post-activation (GELU/ReLU) values with long tails; 8-bit dynamic ranges lose them,
    so these few layers stay in float. On all-MiniLM-L6-v2 this lifts the worst-row cosine to torch
    from 0.988 to 0.994 on STSBenchmark sentences.
    """
    shapes = {init.name: tuple(init.dims) for init in model.graph.initializer}
    names = []
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in shapes:
            dims = shapes[node.input[1]]
            if len(dims) == 2 and dims[0] > dims[1]:
                names.append(node.name)
    return names


def quantize_int8(source: str | Path, target: str | Path) -> Path:
    """Write an int8 copy of `source`: MatMul weights (per channel) and embedding tables quantized, activations dynamically."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        keep_float = down_projections(onnx.load(str(source), load_external_data=False))
        quantize_dynamic(
            str(source), str(target), per_channel=True, weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gather"], nodes_to_exclude=keep_float,
            extra_options={"MatMulConstBOnly": True},  # attention's activation x activation products stay float
        )
    except Exception as exc:
        raise InstructEmbedError(f"int8 quantization failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}") from None
    return Path(target)
