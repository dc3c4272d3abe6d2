"""The int8 recipe's graph rewrite: outlier input channels split off a MatMul, exactly, shrinking its int8 range."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort

from instructembed import Instructor
from instructembed.export import export_onnx
from instructembed.export.onnx_export import graph_input_names
from instructembed.export.quantize import calibration_feeds, channel_maxima, ffn_matmuls, split_outlier_channels


def run(model: onnx.ModelProto, feeds) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [session.run(None, feed)[0] for feed in feeds]


def test_split_is_exact_and_takes_the_largest_channels_out_of_the_int8_input(tiny_bert_path, tmp_path):
    torch_model = Instructor(tiny_bert_path, device="cpu")
    folder = export_onnx(torch_model, tmp_path / "fp32")
    model = onnx.load(str(folder / "model.onnx"))
    feeds = calibration_feeds(torch_model, graph_input_names(torch_model))
    names = ffn_matmuls(model)
    assert len(names) == 4  # 2 layers x (up, down)
    inputs = {n.name: n.input[0] for n in model.graph.node if n.name in names}
    before = channel_maxima(model, list(inputs.values()), feeds)
    channels = {name: np.argsort(-before[tensor])[:4].tolist() for name, tensor in inputs.items()}
    expected = run(model, feeds)

    split = onnx.ModelProto()
    split.CopyFrom(model)
    float_nodes = split_outlier_channels(split, channels)
    onnx.checker.check_model(split)
    assert len([n for n in float_nodes if n.endswith("_outliers")]) == 4
    for got, want in zip(run(split, feeds), expected):
        assert np.abs(got - want).max() < 1e-5

    bulk_inputs = {n.name: n.input[0] for n in split.graph.node if n.name in names}  # same names, masked inputs
    after = channel_maxima(split, list(bulk_inputs.values()), feeds)
    for name in names:
        original = np.sort(before[inputs[name]])[::-1]
        assert np.isclose(after[bulk_inputs[name]].max(), original[4], rtol=1e-5)  # the int8 range ends at the 5th channel
        assert after[bulk_inputs[name]][channels[name]].max() == 0
