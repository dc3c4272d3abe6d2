"""Which MatMuls of the int8 graph stay in float: worst and mean cosine to torch fp32 per quantization plan.

Exports the default model to fp32 ONNX once, embeds two corpora with torch (the reference, saved under
runs/int8-accuracy/ and reused), then quantizes under each plan and reports, per corpus, the minimum, 1st
percentile and mean cosine of each row to torch, and the graph's size. Corpora: the bench corpus
(benchmarks/corpus.py: tweets to abstracts, five instructions) and SciFact documents (the shared retrieval
corpus, title + abstract, truncated at 256 tokens, under the paper's SciFact corpus instruction).

    nice -n 19 .venv/bin/python scripts/int8_accuracy.py --bench 2000 --scifact 600
    nice -n 19 .venv/bin/python scripts/int8_accuracy.py --bench 50 --scifact 20 --plans default   # a quick check
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import cosines, load_corpus, scifact_docs  # noqa: E402

from instructembed import Instructor  # noqa: E402
from instructembed.evaluate import model_fingerprint  # noqa: E402
from instructembed.export import export_onnx  # noqa: E402
from instructembed.export.onnx_runtime import OnnxGraph  # noqa: E402
from instructembed.export.onnx_export import graph_input_names  # noqa: E402
from instructembed.export.quantize import (  # noqa: E402
    attention_outputs, calibration_feeds, down_projections, quantize_int8, weight_matmuls, widening_matmuls,
)

OUT = ROOT / "runs" / "int8-accuracy"


def plans(model: onnx.ModelProto) -> dict[str, dict]:
    """name -> quantize_int8 options ("calibrated" plans get the calibration feeds)."""
    down, attn_out = down_projections(model), attention_outputs(model)
    matmuls = [name for name, _ in weight_matmuls(model)]
    square = [name for name, (r, c) in weight_matmuls(model) if r == c]
    up = widening_matmuls(model)
    first_last = matmuls[:6] + matmuls[-6:]
    qkv = sorted(set(square) - set(attn_out))
    plans = {
        "all int8": {"keep_float": [], "embeddings": True},
        "down float (previous)": {"keep_float": down, "embeddings": True},
        "down float, reduce_range": {"keep_float": down, "reduce_range": True, "embeddings": True},
        "down float, embeddings float": {"keep_float": down},
        "down + attn-out float": {"keep_float": down + attn_out, "embeddings": True},
        "down + attn-out float, embeddings float": {"keep_float": down + attn_out},
        "down + up float": {"keep_float": down + up, "embeddings": True},
        "down + first/last block float": {"keep_float": sorted(set(down + first_last)), "embeddings": True},
        "only q,k,v int8": {"keep_float": sorted(set(matmuls) - set(qkv)), "embeddings": True},
        **{f"down float, embeddings float, up of block {i} float": {"keep_float": down + [name]} for i, name in enumerate(up)},
    }
    plans["calibrated: the default (FFN MatMuls split 4, embeddings float)"] = {}
    plans["calibrated: the default, signed 7-bit weights (reduce_range)"] = {"reduce_range": True, "weight_type": "int8"}
    plans["calibrated: the default, signed int8 weights"] = {"weight_type": "int8"}
    plans["calibrated: the default, unsigned (uint8) weights"] = {"weight_type": "uint8"}
    for k in (4, 8, 16):
        plans[f"calibrated: up split {k}, down float, embeddings float"] = {"split": up, "outliers": k, "keep_float": down}
        plans[f"calibrated: up + down split {k}, embeddings float"] = {"split": up + down, "outliers": k, "keep_float": []}
    for k in (4, 8):
        plans[f"calibrated: every MatMul split {k}, embeddings float"] = {"split": matmuls, "outliers": k, "keep_float": []}
        plans[f"calibrated: every MatMul split {k}, embeddings float, reduce_range"] = {"split": matmuls, "outliers": k, "keep_float": [], "reduce_range": True, "weight_type": "int8"}
    plans["calibrated: every MatMul split 8, embeddings int8"] = {"split": matmuls, "outliers": 8, "keep_float": [], "embeddings": True}
    plans["calibrated: up + qkv split 8, down float, embeddings float"] = {"split": up + qkv, "outliers": 8, "keep_float": down}
    plans["calibrated: up split 8, down float, embeddings int8"] = {"split": up, "outliers": 8, "keep_float": down, "embeddings": True}
    return plans


def reference(model: Instructor, name: str, pairs: list[list[str]]) -> np.ndarray:
    file = OUT / f"torch-{model_fingerprint(model)[:12]}-{name}-{len(pairs)}.npy"  # these weights, this corpus
    if file.is_file():
        return np.load(file)
    vectors = model.encode(pairs, batch_size=32, show_progress_bar=True)
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(file, vectors)
    return vectors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=int, default=2000, help="bench-corpus texts")
    parser.add_argument("--scifact", type=int, default=600, help="SciFact documents")
    parser.add_argument("--plans", nargs="*", help="plan names (substring match); default: all")
    args = parser.parse_args()
    logging.getLogger("instructembed").setLevel(logging.ERROR)  # truncation counts are expected
    corpora = {"bench": load_corpus(args.bench) if args.bench else [], "scifact": scifact_docs(args.scifact) if args.scifact else []}
    corpora = {k: v for k, v in corpora.items() if v}
    model = Instructor(device="cpu")
    refs = {name: reference(model, name, pairs) for name, pairs in corpora.items()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = export_onnx(model, Path(tmp) / "fp32")
        graph_model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
        chosen = {k: v for k, v in plans(graph_model).items() if not args.plans or any(p in k for p in args.plans)}
        print(f"{'plan':42s} " + " ".join(f"{c + ' min/p1/mean':>26s}" for c in corpora) + "   size MB")
        feeds = calibration_feeds(model, graph_input_names(model))
        for name, options in chosen.items():
            extra = {"calibration": feeds} if name.startswith("calibrated") else {}
            file = quantize_int8(folder / "model.onnx", folder / "model_int8.onnx", **options, **extra)
            encoder = Instructor(backend="onnx-int8", graph=OnnxGraph(folder, file.name))
            cells = []
            for corpus, pairs in corpora.items():
                c = cosines(encoder.encode(pairs, batch_size=32), refs[corpus])
                cells.append(f"{c.min():.4f} / {np.percentile(c, 1):.4f} / {c.mean():.4f}")
            print(f"{name:42s} " + " ".join(f"{cell:>26s}" for cell in cells) + f"   {file.stat().st_size / 1e6:6.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
