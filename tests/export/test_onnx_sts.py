"""The evaluation suite's STSBenchmark score of the int8 graph stays within 0.5 of torch (slow: ~1.5 min)."""

from __future__ import annotations

import pytest

from instructembed.shared_data import data_dir


@pytest.mark.slow
def test_int8_sts_benchmark_within_half_a_point_of_torch(exported, default_model):
    from instructembed.evaluate import evaluate_task, load_task
    from instructembed.export import OnnxInstructor

    if not (data_dir() / "eval" / "STSBenchmark").exists():
        pytest.skip("shared evaluation data not found (set INSTRUCTEMBED_DATA_DIR)")
    task = load_task("STSBenchmark")
    int8 = evaluate_task(OnnxInstructor(exported), task, cache=False).main_score
    torch_score = evaluate_task(default_model, task, cache=False).main_score
    print(f"STSBenchmark cosine Spearman x100: torch {torch_score:.2f}, onnx int8 {int8:.2f}")
    assert abs(int8 - torch_score) <= 0.5
