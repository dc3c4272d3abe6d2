"""Steering: neighbour precision against hand-computed cases, the task type end to end, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from instructembed.errors import InstructEmbedError
from instructembed.evaluate import InstructionSet, evaluate_task, load_task
from instructembed.evaluate.report import render_report
from instructembed.evaluate.steering import neighbour_precision, steering_scores

SOURCE, SENTIMENT = "Represent the text by its source: ", "Represent the text by its sentiment: "
CELLS = [("A", "pos"), ("A", "neg"), ("B", "pos"), ("B", "neg")]


def test_neighbour_precision_by_hand():
    # points on a line: 0, 1, 3, 10 ; labels x x y y
    vectors = np.array([[1.0, 0.0], [1.0, 0.1], [1.0, 0.3], [0.0, 1.0]])
    labels = ["x", "x", "y", "y"]
    # k=1: nearest of 0 is 1 (x: hit), of 1 is 0 (hit), of 2 is 1 (x: miss), of 3 is 2 (y: hit) -> 3/4
    assert neighbour_precision(vectors, labels, k=1) == pytest.approx(0.75)
    # k=2: 0 -> {1, 2}: 1/2; 1 -> {0, 2}: 1/2; 2 -> {1, 0}: 0; 3 -> {2, 1}: 1/2 -> (0.5+0.5+0+0.5)/4
    assert neighbour_precision(vectors, labels, k=2) == pytest.approx(0.375)
    # k larger than n-1 uses every other row
    assert neighbour_precision(vectors, labels, k=10) == pytest.approx(1 / 3)


def test_steering_scores_by_hand():
    vectors = np.array([[1.0, 0.0], [1.0, 0.1], [1.0, 0.3], [0.0, 1.0]])
    flipped = vectors[:, ::-1].copy()
    labels = {"p": ["x", "x", "y", "y"], "q": ["u", "v", "u", "v"]}
    out = steering_scores(vectors, {"p": vectors, "q": flipped}, labels, k=1)
    assert out["asked_p"] == pytest.approx(0.75) and out["plain_p"] == pytest.approx(0.75)
    # flipped: 0=(0,1) 1=(0.1,1) 2=(0.3,1) 3=(1,0): nearest 0->1, 1->0, 2->1, 3->2
    assert out["other_p"] == pytest.approx(0.75)
    assert out["asked_q"] == pytest.approx(0.0)  # q labels u v u v: 0->1 miss, 1->0 miss, 2->1 miss, 3->2 miss
    assert out["steer"] == pytest.approx(((0.75 - 0.75) + (0.0 - 0.0)) / 2)
    with pytest.raises(InstructEmbedError, match="exactly two properties"):
        steering_scores(vectors, {"p": vectors}, {"p": labels["p"]})


class CellModel:
    """Each text's vector is decided by its (source, sentiment) cell and the instruction it is read under."""

    def __init__(self, cells: dict[str, tuple[str, str]]) -> None:
        self.cells = cells

    def encode(self, inputs, batch_size=32, show_progress_bar=False, **_):
        out = []
        for item in inputs:
            instruction, text = (item if isinstance(item, list) else ["", item])
            source, sentiment = self.cells[text]
            s = np.array([1.0, 0.0]) if source == "A" else np.array([0.0, 1.0])
            t = np.array([1.0, 0.0]) if sentiment == "pos" else np.array([0.0, 1.0])
            weights = {SOURCE: (1.0, 0.01), SENTIMENT: (0.01, 1.0)}.get(instruction, (1.0, 0.5))
            out.append(np.concatenate([weights[0] * s, weights[1] * t]))
        return np.array(out)


@pytest.fixture()
def cell_task(tmp_path, make_task):
    rows, cells = [], {}
    for number in range(24):
        source, sentiment = CELLS[number % 4]
        text = f"text {number}"
        cells[text] = (source, sentiment)
        rows.append({"id": str(number), "text": text, "labels": {"source": source, "sentiment": sentiment}})
    meta = {"name": "TinySteering", "type": "Steering", "properties": ["source", "sentiment"]}
    return make_task(tmp_path / "TinySteering", meta, {"test.jsonl": rows}), CellModel(cells)


def test_steering_task_end_to_end(cell_task):
    folder, model = cell_task
    task = load_task(folder)
    assert task.type == "Steering" and task.main_score == "steer"
    instructions = InstructionSet({"TinySteering": {"source": SOURCE, "sentiment": SENTIMENT}})
    result = evaluate_task(model, task, instructions)
    m = result.metrics
    # under the asked instruction the 10 neighbours of a text = its 5 cell-mates + 5 of the same asked label:
    # the asked property is all hits, the other half hits
    assert m["asked_source"] == pytest.approx(1.0) and m["other_source"] == pytest.approx(0.5)
    assert m["asked_sentiment"] == pytest.approx(1.0) and m["other_sentiment"] == pytest.approx(0.5)
    # without instruction the source weighs more (1 vs 0.5): source all hits, sentiment half
    assert m["plain_source"] == pytest.approx(1.0) and m["plain_sentiment"] == pytest.approx(0.5)
    assert result.main_score == pytest.approx(50.0)
    assert m["asked_minus_plain"] == pytest.approx(0.25)
    report = render_report({result.task: result}, "t")
    assert "## Steering" in report and "| TinySteering | sentiment | 100.0 | 50.0 | 50.0 | +50.0 | +50.0 |" in report
    # a run without instructions: every view is the plain one, so steer is exactly 0
    assert evaluate_task(model, task).main_score == 0.0


def test_steering_errors_name_the_problem(cell_task, tmp_path, make_task):
    folder, model = cell_task
    with pytest.raises(InstructEmbedError, match="no instruction for property sentiment"):
        evaluate_task(model, load_task(folder), {"TinySteering": {"source": SOURCE, "tone": SENTIMENT}})
    bad = make_task(tmp_path / "BadSteering", {"name": "BadSteering", "type": "Steering", "properties": ["source"]},
                    {"test.jsonl": [{"id": "1", "text": "a", "labels": {"source": "A"}}] * 3})
    with pytest.raises(InstructEmbedError, match="exactly two property names"):
        evaluate_task(model, load_task(bad), {"BadSteering": {"source": SOURCE}})
    missing = make_task(tmp_path / "Gap", {"name": "Gap", "type": "Steering", "properties": ["source", "sentiment"]},
                        {"test.jsonl": [{"id": "1", "text": "text 0", "labels": {"source": "A"}}]})
    with pytest.raises(InstructEmbedError, match="row 1: labels has no value for 'sentiment'"):
        evaluate_task(model, load_task(missing), {"Gap": {"source": SOURCE, "sentiment": SENTIMENT}})


def test_shared_steering_task_with_shared_instructions(model, eval_root):
    task = load_task(eval_root / "SourceSentimentSteering")
    result = evaluate_task(model, task, InstructionSet.default(), max_rows=120)
    m = result.metrics
    assert m["n_rows"] == 120 and set(m["properties"]) == {"source", "sentiment"}
    assert result.instructions["properties"]["sentiment"].startswith("Represent the text for classifying its sentiment")
    assert 0.5 < m["plain_source"] <= 1.0  # movie reviews and tweets are told apart without any instruction
    assert result.main_score == pytest.approx(100 * m["steer"], abs=1e-3)


def test_steering_picture_is_a_png(cell_task, tmp_path):
    from instructembed.evaluate.analyses import steering_picture

    folder, model = cell_task
    task = load_task(folder)
    instructions = InstructionSet({"TinySteering": {"source": SOURCE, "sentiment": SENTIMENT}}).for_task("TinySteering")
    path = steering_picture(model, task, instructions, tmp_path / "pics" / "steer.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not list((tmp_path / "pics").glob(".*"))
    with pytest.raises(InstructEmbedError, match="no instruction for sentiment"):
        steering_picture(model, task, InstructionSet({"TinySteering": {"source": SOURCE, "x": SENTIMENT}}).for_task("TinySteering"), tmp_path / "x.png")
