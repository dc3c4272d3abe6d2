"""ONNX export: one graph with instruction-aware pooling; fp32 and int8 agree with torch on shared eval text."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from instructembed import InstructEmbedError, Instructor
from instructembed.export import OnnxInstructor, export_onnx

STS_INSTRUCTION = "Represent the sentence for retrieving duplicate sentences:"


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_graph_inputs_outputs_and_dynamic_axes(exported):
    graph = onnx.load(str(exported / "model.onnx"), load_external_data=False).graph
    inputs = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}
    assert inputs == {name: ["batch", "sequence"] for name in ("input_ids", "attention_mask", "pooling_mask", "token_type_ids")}
    assert [o.name for o in graph.output] == ["sentence_embedding"]
    config = json.loads((exported / "instructembed_onnx.json").read_text())
    assert config["files"] == {"fp32": "model.onnx", "int8": "model_int8.onnx"} and config["default"] == "int8"
    assert (exported / "tokenizer.json").exists()
    weight_matmuls = [n for n in graph.node if n.op_type == "MatMul" and n.input[1].startswith("onnx::MatMul")]
    int8 = onnx.load(str(exported / "model_int8.onnx"), load_external_data=False).graph
    # every weight MatMul is int8: the attention outputs and the FFN (18), and each fused Attention's q/k/v (QAttention)
    assert sum(n.op_type == "MatMulInteger" for n in int8.node) == len(weight_matmuls) == 18
    assert sum(n.op_type == "QAttention" for n in int8.node) == 6 and not any(n.op_type == "Attention" for n in int8.node)
    outliers = [n for n in int8.node if n.name.endswith("_outliers")]
    assert len(outliers) == 12  # the FFN's outlier input channels go to thin float MatMuls (docs/performance.md)
    # smaller, though not 4x: the embedding table stays float
    assert (exported / "model_int8.onnx").stat().st_size < 0.7 * (exported / "model.onnx").stat().st_size


def test_bert_graph_is_fused_into_onnxruntime_kernels_and_the_model_keeps_its_attention(exported, default_model):
    config = json.loads((exported / "instructembed_onnx.json").read_text())
    assert config["fused_operators"] == {"EmbedLayerNormalization": 1, "Attention": 6, "BiasGelu": 6, "SkipLayerNormalization": 12}
    ops = {n.op_type for n in onnx.load(str(exported / "model.onnx"), load_external_data=False).graph.node}
    assert {"Attention", "SkipLayerNormalization"} <= ops and "Softmax" not in ops
    assert default_model.transformer.auto_model.config._attn_implementation == "sdpa"  # traced eager, then restored


def test_fp32_cosine_at_least_0999_on_shared_eval_text(exported, default_model, sts_sentences):
    model = OnnxInstructor(exported, "model.onnx")
    rows = [[STS_INSTRUCTION if i % 2 else "", s] for i, s in enumerate(sts_sentences)]
    got, expected = model.encode(rows), default_model.encode(rows)
    assert cosines(got, expected).min() >= 0.999
    assert np.abs(got - expected).max() < 1e-4


def test_int8_cosine_at_least_099_on_shared_eval_text(exported, default_model, sts_sentences):
    model = Instructor(exported, backend="onnx-int8")  # an export folder is used as it is
    assert type(model) is Instructor and model.graph.onnx_file.name == "model_int8.onnx"
    assert OnnxInstructor(exported).onnx_file.name == "model_int8.onnx"  # the folder's default graph
    got = model.encode(sts_sentences, instruction=STS_INSTRUCTION)
    expected = default_model.encode(sts_sentences, instruction=STS_INSTRUCTION)
    c = cosines(got, expected)
    assert c.min() >= 0.99 and c.mean() >= 0.997, (c.min(), c.mean())


def test_int8_cosine_on_shared_retrieval_documents(exported, default_model):
    """SciFact abstracts, most cut at 256 tokens: long inputs, where int8 error accumulates."""
    from instructembed.evaluate import InstructionSet
    from instructembed.shared_data import data_dir

    file = data_dir() / "eval" / "SciFact" / "corpus.jsonl"
    if not file.exists():
        pytest.skip(f"shared evaluation data not found at {file} (set INSTRUCTEMBED_DATA_DIR)")
    rows = [json.loads(line) for line in file.read_text().splitlines()[:40]]
    docs = [(r["title"] + " " + r["text"]).strip() for r in rows]
    instruction = InstructionSet.default().for_task("SciFact").corpus
    c = cosines(Instructor(exported, backend="onnx-int8").encode(docs, instruction=instruction),
                default_model.encode(docs, instruction=instruction))
    assert c.min() >= 0.99 and c.mean() >= 0.997, (c.min(), c.mean())


def test_pooling_mask_leaves_the_instruction_out_per_row(exported, default_model):
    model = OnnxInstructor(exported, "model.onnx")
    rows = [["Represent the Science title:", "3D ActionSLAM"], ["", "3D ActionSLAM"], ["Represent the review:", "great film"]]
    got = model.encode(rows)
    assert np.abs(got - default_model.encode(rows)).max() < 1e-4
    assert np.abs(got[0] - got[1]).max() > 1e-3  # same text, the instruction still shapes the vector
    batched = model.encode(rows, batch_size=3)
    alone = np.stack([model.encode([r])[0] for r in rows])
    assert np.abs(batched - alone).max() < 1e-5


def test_encode_api_matches_instructor(exported, default_model):
    model = OnnxInstructor(exported, "model.onnx")
    one = model.encode("a single string", instruction="Represent the sentence:")
    assert one.shape == (384,) and one.dtype == np.float32
    as_tensor = model.encode(["x", "y"], convert_to_tensor=True)
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.shape == (2, 384)
    assert model.encode([]).shape == (0, 384)
    scaled = model.encode(["unnormalized?"], normalize_embeddings=True)
    assert np.isclose(np.linalg.norm(scaled), 1.0, atol=1e-5)
    assert model.encode_queries(["q"], instruction="Represent the question:").shape == (1, 384)
    model.encode(["word " * 400])
    assert model.last_encode_stats.truncated == 1
    with pytest.raises(InstructEmbedError, match="text is empty"):
        model.encode(["fine", " "])
    with pytest.raises(InstructEmbedError, match="sentence embeddings only"):
        model.encode(["x"], output_value="token_embeddings")


def test_tiny_t5_with_dense_head_exports_without_token_type_ids(tiny_t5_path, tmp_path):
    torch_model = Instructor(tiny_t5_path, device="cpu")
    folder = export_onnx(torch_model, tmp_path / "t5", quantize="int8")
    model = OnnxInstructor(folder, "model.onnx")
    assert model.input_names == ["input_ids", "attention_mask", "pooling_mask"]
    rows = [["Represent the Science title:", "3D ActionSLAM: wearable person tracking"], ["", "cat"],
            ["Represent the review for classifying sentiment:", "A great movie with a terrible ending " * 3]]
    got, expected = model.encode(rows), torch_model.encode(rows)
    assert got.shape == (3, 16)  # the Dense head (32 -> 16) is inside the graph
    assert np.abs(got - expected).max() < 1e-5
    assert OnnxInstructor(folder).encode(rows).shape == (3, 16)  # int8 graph runs too
    assert json.loads((folder / "instructembed_onnx.json").read_text())["fused_operators"] == {}  # T5: left plain


def test_bad_inputs_are_one_line_errors(exported, tmp_path, default_model):
    with pytest.raises(InstructEmbedError, match="not an ONNX export folder"):
        OnnxInstructor(tmp_path)
    with pytest.raises(InstructEmbedError, match="backend must be"):
        Instructor(exported, backend="tensorrt")
    with pytest.raises(InstructEmbedError, match="not found"):
        OnnxInstructor(exported, "nope.onnx")
    with pytest.raises(InstructEmbedError, match="quantize must be"):
        export_onnx(default_model, tmp_path / "x", quantize="int4")
    assert not (tmp_path / "x").exists()
    with pytest.raises(InstructEmbedError, match="max_seq_length"):
        OnnxInstructor(exported, max_seq_length=100_000)


def test_a_fused_graph_that_disagrees_with_the_plain_one_is_not_kept(tiny_bert_path, tmp_path, monkeypatch):
    from instructembed.export import fusion

    torch_model = Instructor(tiny_bert_path, device="cpu")
    rows = [["Represent the Science title:", "3D ActionSLAM: wearable person tracking"], ["", "cat"]]
    fused = export_onnx(torch_model, tmp_path / "fused")
    assert json.loads((fused / "instructembed_onnx.json").read_text())["fused_operators"]["Attention"] >= 1
    assert np.abs(OnnxInstructor(fused).encode(rows) - torch_model.encode(rows)).max() < 1e-5
    monkeypatch.setattr(fusion, "TOLERANCE", -1.0)  # no fused graph can pass the check now
    plain = export_onnx(torch_model, tmp_path / "plain")
    assert json.loads((plain / "instructembed_onnx.json").read_text())["fused_operators"] == {}
    ops = {n.op_type for n in onnx.load(str(plain / "model.onnx")).graph.node}
    assert "Softmax" in ops and "Attention" not in ops and not list(plain.glob("*.fused.onnx"))
    assert np.abs(OnnxInstructor(plain).encode(rows) - torch_model.encode(rows)).max() < 1e-5
