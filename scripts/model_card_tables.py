"""The evaluation section of the instructembed-mini model card, from committed results folders.

    .venv/bin/python scripts/model_card_tables.py > results/instructembed-mini/card-evaluation.md

Columns: the base without and with the paper's instructions (results/all-MiniLM-L6-v2{-noinstr}), the tuned model
with instructions (results/instructembed-mini); steering on the shared task and on the dev steering sets.
"""

from __future__ import annotations

from pathlib import Path

from instructembed.evaluate import load_results
from instructembed.evaluate.report import render_model_comparison, render_steering_comparison

ROOT = Path(__file__).resolve().parents[1] / "results"


def main() -> None:
    base_plain = load_results(ROOT / "all-MiniLM-L6-v2-noinstr")
    base = load_results(ROOT / "all-MiniLM-L6-v2")
    tuned = load_results(ROOT / "instructembed-mini")
    columns = {"base, no instruction": base_plain, "base, instructions": base, "instructembed-mini, instructions": tuned}
    print("### Shared evaluation suite (paper's instructions), main score per task\n")
    print(render_model_comparison(columns, "instructembed-mini, instructions", ["base, no instruction", "base, instructions"]))
    steering = {"base": {**load_results(ROOT / "steering" / "all-MiniLM-L6-v2"), **load_results(ROOT / "dev-steering" / "all-MiniLM-L6-v2")},
                "instructembed-mini": {**{k: v for k, v in tuned.items() if v.type == "Steering"},
                                       **load_results(ROOT / "dev-steering" / "instructembed-mini")}}
    print("### Steering: 10-NN neighbour precision (points) under the instruction asking for the property (asked), "
          "the one asking for the other property (other) and none (plain)\n")
    print("SourceSentimentSteering is the shared task with the shared instructions; the Dev* sets are built from "
          "train-side sources held out of training, with wordings no training record uses (docs/medi.md).\n")
    print(render_steering_comparison(steering))


if __name__ == "__main__":
    main()
