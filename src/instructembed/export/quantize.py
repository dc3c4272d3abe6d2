"""int8 dynamic quantization (weights per output channel, activations at run time) with onnxruntime.

The recipe was chosen by measurement (scripts/int8_accuracy.py; figures in docs/performance.md). Dynamic
quantization gives each MatMul input one 8-bit range per batch, and the inputs of the FFN's MatMuls carry
a few outlier channels (in all-MiniLM-L6-v2 channel 99 of the up-projections' input reaches ~28 where the
median channel peaks at ~2), so the range the other channels get is 10x too coarse. `split_outlier_channels`
takes the 4 largest input channels of each FFN MatMul (found on a few calibration texts) out of the int8
MatMul into a thin float one, exactly; every weight MatMul is then int8, and the embedding tables stay float
(quantizing them costs accuracy and saves no time). On a fused graph (`fusion`) the q/k/v projection inside
each `Attention` node is int8 too (`QAttention`). On instructembed-mini this lifts the worst-row cosine to
torch on the bench corpus from 0.988 (FFN down-projections kept float, the previous recipe) to 0.995, the
mean from 0.9963 to 0.9981.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from instructembed.errors import InstructEmbedError


# Part of the export cache key: change it when the recipe (split or float nodes, options) changes, so cached
# int8 graphs are exported again.
RECIPE_VERSION = "ffn-split4-embeddings-float-qattention/4"


def weight_matmuls(model: onnx.ModelProto) -> list[tuple[str, tuple[int, ...]]]:
    """(name, weight shape) of every MatMul with a constant 2-D weight, in graph order."""
    shapes = {init.name: tuple(init.dims) for init in model.graph.initializer}
    return [
        (node.name, shapes[node.input[1]])
        for node in model.graph.node
        if node.op_type == "MatMul" and node.input[1] in shapes and len(shapes[node.input[1]]) == 2
    ]


def down_projections(model: onnx.ModelProto) -> list[str]:
    """MatMul nodes whose constant weight maps a wider input to a narrower output (FFN `wo`, BERT `output.dense`)."""
    return [name for name, (rows, cols) in weight_matmuls(model) if rows > cols]


def attention_outputs(model: onnx.ModelProto) -> list[str]:
    """The square MatMul that follows each run of square ones (q, k, v, then the attention output `o`).

    Found by structure: in every encoder block the square projections come as q, k, v, o before the
    FFN's widening MatMul, so the last square MatMul before a widening one is `o`.
    """
    found, matmuls = [], weight_matmuls(model)
    for (name, (rows, cols)), (_, (next_rows, next_cols)) in zip(matmuls, matmuls[1:]):
        if rows == cols and next_cols > next_rows:
            found.append(name)
    return found


def widening_matmuls(model: onnx.ModelProto) -> list[str]:
    """MatMul nodes whose constant weight maps a narrower input to a wider output (the FFN up-projections)."""
    return [name for name, (rows, cols) in weight_matmuls(model) if rows < cols]


def ffn_matmuls(model: onnx.ModelProto) -> list[str]:
    """The MatMuls whose outlier input channels `quantize_int8` splits off by default: widening and narrowing ones."""
    return widening_matmuls(model) + down_projections(model)


# Texts whose activations locate each MatMul's outlier input channels (they are the same channels for any
# input: a property of the weights, so a few varied texts suffice).
CALIBRATION_PAIRS = [
    ("Represent the Science title:", "3D ActionSLAM: wearable person tracking in multi-floor environments"),
    ("Represent the Wikipedia question for retrieving supporting documents:", "where is the food stored in a yam plant?"),
    ("Represent the review for classifying sentiment:", "A great movie with a terrible ending, but the actors were fine."),
    ("Represent the Tweet for classifying sentiment:", "omg cant believe its monday again lol #fail"),
    ("", "The cat sat on the mat while the dog slept by the fire."),
    ("Represent the Scientific document for retrieval:", "Quantum computers use qubits to represent information. "
     "Superposition and entanglement let some algorithms run exponentially faster than any known classical method, "
     "although error correction remains the central obstacle to building large machines that are useful in practice."),
    ("Represent the bank purpose for classifying:", "I was charged twice for the same card payment, please refund one."),
    ("Represent the financial statement:", "Revenue rose 12% to $4.1 billion in the third quarter, beating estimates."),
]


def calibration_feeds(model: Any, input_names: Sequence[str]) -> list[dict[str, np.ndarray]]:
    """One graph feed per calibration pair (unpadded), tokenized by `model` (an `Instructor`)."""
    feeds = []
    for pair in CALIBRATION_PAIRS:
        features = model.tokenize([list(pair)])
        feeds.append({name: features[name].numpy() for name in input_names})
    return feeds


def channel_maxima(model: onnx.ModelProto, tensors: Sequence[str], feeds: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """max |x| per channel (last axis) of each named tensor over the feeds, from the fp32 graph in onnxruntime."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None) for t in tensors)
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    maxima: dict[str, np.ndarray] = {}
    for feed in feeds:
        for name, value in zip(tensors, session.run(None, feed)):
            m = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0)
            maxima[name] = np.maximum(maxima[name], m) if name in maxima else m
    return maxima


def split_outlier_channels(model: onnx.ModelProto, channels: dict[str, Sequence[int]]) -> list[str]:
    """Rewrite each MatMul `Y = X @ W` named in `channels` as `(X * mask) @ W' + X[..., outliers] @ W[outliers]`.

    `mask` zeroes the outlier input channels and `W'` is `W` with their rows zeroed, so the sum is exact
    in float; the bulk MatMul keeps the original node's name (it is quantized as before) over an input
    whose dynamic range no longer stretches to the outliers, while the thin outlier MatMul stays float.
    MatMuls reading the same input (q, k, v) share its masked copy and outlier slice. Returns the names of
    the new nodes that must stay float.
    """
    from onnx import helper, numpy_helper

    weights = {init.name: init for init in model.graph.initializer}
    nodes, keep_float, shared = [], [], {}
    for node in model.graph.node:
        if node.name not in channels:
            nodes.append(node)
            continue
        x, w_name = node.input
        w = numpy_helper.to_array(weights[w_name]).copy()
        outliers = sorted(int(c) for c in channels[node.name])
        key = (x, tuple(outliers))
        if key not in shared:  # the masked input and the outlier slice, once per input tensor
            tag = f"{x.strip('/').replace('/', '_')}_split{len(shared)}"
            mask = np.ones(w.shape[0], dtype=w.dtype)
            mask[outliers] = 0
            model.graph.initializer.extend([numpy_helper.from_array(mask, f"{tag}_mask"),
                                            numpy_helper.from_array(np.array(outliers, dtype=np.int64), f"{tag}_idx")])
            new = [helper.make_node("Mul", [x, f"{tag}_mask"], [f"{tag}_bulk"], name=f"{tag}_mask_mul"),
                   helper.make_node("Gather", [x, f"{tag}_idx"], [f"{tag}_outliers"], name=f"{tag}_gather", axis=-1)]
            nodes.extend(new)
            keep_float += [n.name for n in new]
            shared[key] = (f"{tag}_bulk", f"{tag}_outliers")
        bulk_x, outlier_x = shared[key]
        tag = node.name.strip("/").replace("/", "_")
        outlier_w = w[outliers].copy()
        w[outliers] = 0  # no influence on the bulk weights' per-channel scales
        model.graph.initializer.extend([numpy_helper.from_array(w, f"{tag}_bulk_w"), numpy_helper.from_array(outlier_w, f"{tag}_out_w")])
        new = [
            helper.make_node("MatMul", [bulk_x, f"{tag}_bulk_w"], [f"{tag}_bulk_y"], name=node.name),
            helper.make_node("MatMul", [outlier_x, f"{tag}_out_w"], [f"{tag}_out_y"], name=f"{node.name}_outliers"),
            helper.make_node("Add", [f"{tag}_bulk_y", f"{tag}_out_y"], list(node.output), name=f"{node.name}_sum"),
        ]
        nodes.extend(new)
        keep_float += [n.name for n in new if n.name != node.name]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    used = {i for n in model.graph.node for i in n.input}
    kept = [init for init in model.graph.initializer if init.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return keep_float


@functools.cache  # read once per process: every ONNX load asks (the export cache key)
def has_vnni() -> bool:
    """Whether this CPU has the VNNI instructions (AVX512-VNNI or AVX-VNNI) onnxruntime's int8 kernels use on
    x86, read from /proc/cpuinfo; a non-x86 CPU (ARM's dot-product kernels do not saturate) counts as having them."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
        return True
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        return False
    return bool({"avx512_vnni", "avx_vnni"} & set(flags.split()))


def default_weight_type() -> str:
    """"int8" (signed weights, the u8s8 kernels) where they do not saturate, "uint8" on x86 without VNNI."""
    return "int8" if has_vnni() else "uint8"


def quantize_int8(
    source: str | Path,
    target: str | Path,
    *,
    calibration: Sequence[dict[str, np.ndarray]] | None = None,
    split: Sequence[str] | None = None,
    outliers: int = 4,
    keep_float: Sequence[str] | None = None,
    per_channel: bool = True,
    reduce_range: bool = False,
    embeddings: bool = False,
    attention: bool = True,
    weight_type: str | None = None,
) -> Path:
    """Write an int8 copy of `source`: MatMul weights per channel, activations dynamically.

    Args:
        calibration: graph feeds (`calibration_feeds`) that locate outlier input channels; without them no
            MatMul is split and the FFN down-projections stay float (the previous, less accurate recipe).
        split: the MatMuls whose `outliers` largest input channels go to a float MatMul (`split_outlier_channels`);
            default: `ffn_matmuls`.
        keep_float: MatMuls left wholly in float; default: none with calibration, else the down-projections.
        embeddings: also quantize the embedding tables (Gather); off by default: it costs accuracy, no speed.
        attention: quantize the q/k/v projection of fused `Attention` nodes (`QAttention`; see `fusion`).
        reduce_range: 7-bit weights (another way around the u8s8 saturation, less accurate than "uint8").
        weight_type: "int8" or "uint8"; default: `default_weight_type()`, for this CPU's kernels.
    """
    import tempfile

    from onnxruntime.quantization import QuantType, quantize_dynamic

    weight_type = weight_type or default_weight_type()
    if weight_type not in ("int8", "uint8"):
        raise InstructEmbedError(f"weight_type must be 'int8' or 'uint8', got {weight_type!r}")
    root = logging.getLogger()
    level = root.level
    try:
        model = onnx.load(str(source))
        calibrated = bool(calibration) and outliers > 0
        float_names = list(([] if calibrated else down_projections(model)) if keep_float is None else keep_float)
        source_file = Path(source)
        with tempfile.TemporaryDirectory(dir=Path(target).parent) as tmp:
            if calibrated:
                chosen = ffn_matmuls(model) if split is None else list(split)
                inputs = {n.name: n.input[0] for n in model.graph.node if n.name in chosen}
                maxima = channel_maxima(model, list(inputs.values()), calibration)
                channels = {name: np.argsort(-maxima[tensor])[:outliers].tolist() for name, tensor in inputs.items()}
                float_names += split_outlier_channels(model, channels)
                source_file = Path(tmp) / "split.onnx"
                onnx.save(model, str(source_file))
            root.setLevel(logging.ERROR)  # onnxruntime's advice to pre-process, logged on the root logger each time
            quantize_dynamic(
                str(source_file), str(target), per_channel=per_channel, reduce_range=reduce_range,
                weight_type=QuantType.QUInt8 if weight_type == "uint8" else QuantType.QInt8,
                op_types_to_quantize=["MatMul"] + ["Gather"] * embeddings + ["Attention"] * attention,
                nodes_to_exclude=float_names,
                # attention's activation x activation products stay float; the fused kernels' outputs are float
                extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT},
            )
    except Exception as exc:
        raise InstructEmbedError(f"int8 quantization failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}") from None
    finally:
        root.setLevel(level)
    return Path(target)
