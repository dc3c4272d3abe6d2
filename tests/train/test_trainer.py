"""The training loop on a tiny random BERT: the loss falls, resume is exact, the ablation strips instructions."""

import csv
import json

import pytest
import torch
from safetensors.torch import load_file

from instructembed.errors import InstructEmbedError
from instructembed.train import TrainConfig, train, trainer
from instructembed.train.config import config_from_dict


def tiny_config(tiny_base, medi_files, out, **changes) -> TrainConfig:
    values = dict(
        train_file=str(medi_files[0]), dev_file=str(medi_files[1]), output_dir=str(out), base_model=str(tiny_base),
        max_seq_length=32, pad_to_multiple_of=8, batch_size=8, min_batch_size=4, learning_rate=3e-3, tau=0.05,
        method="full", eval_every=0, checkpoint_every=1000, eval_tasks="", dev_max_batches=4, log_every=5, seed=1,
    )
    values.update(changes)
    return config_from_dict(values)


def read_log(out):
    with open(out / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_loss_falls_over_a_few_dozen_steps(tiny_base, medi_files, tmp_path):
    result = train(tiny_config(tiny_base, medi_files, tmp_path, max_steps=40), show_progress=False)
    rows = read_log(tmp_path)
    train_losses = [float(r["train_loss"]) for r in rows if r["train_loss"]]
    dev = [(int(r["step"]), float(r["dev_loss"]), float(r["dev_acc"])) for r in rows if r["dev_loss"]]
    assert result.steps == 40 and len(train_losses) == 8
    assert train_losses[-1] < 0.7 * train_losses[0]
    assert dev[0][0] == 0 and dev[-1][0] == 40  # evaluated before training and at the end
    assert dev[-1][1] < 0.5 * dev[0][1] and dev[-1][2] >= dev[0][2]
    summary = json.loads((tmp_path / "final" / "summary.json").read_text())
    assert summary["steps"] == 40 and summary["final_metrics"]["dev_loss"] == pytest.approx(dev[-1][1])


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("method, anchor, long", [("full", 0.0, 0.0), ("lora", 0.0, 0.0), ("full", 5.0, 0.0), ("lora", 0.0, 5.0)])
def test_resume_continues_exactly(tiny_base, request, tmp_path, monkeypatch, method, anchor, long):
    # dropout on and a plain-batch mix: resume must restore RNG state, optimizer, scheduler and the batch stream;
    # with base_anchor, the anchor must stay the untuned model, not the checkpoint the resume loads; with
    # long_anchor, the rows a step anchors must be the same after a resume
    medi_files = request.getfixturevalue("long_medi_files" if long else "medi_files")
    common = dict(max_steps=6, method=method, plain_batch_fraction=0.5, lora_rank=4, checkpoint_every=3, base_anchor=anchor)
    if long:
        common |= dict(long_anchor=long, max_seq_length=16, long_anchor_length=48, long_anchor_rows=4)
    straight = train(tiny_config(tiny_base, medi_files, tmp_path / "a", **common), show_progress=False)

    # the same run, killed right after its step-3 checkpoint
    real_save = trainer.save_checkpoint

    def save_then_die(out, model, optimizer, scheduler, config, step, elapsed):
        real_save(out, model, optimizer, scheduler, config, step, elapsed)
        raise Interrupted

    monkeypatch.setattr(trainer, "save_checkpoint", save_then_die)
    config = tiny_config(tiny_base, medi_files, tmp_path / "b", **common)
    with pytest.raises(Interrupted):
        train(config, show_progress=False)
    monkeypatch.setattr(trainer, "save_checkpoint", real_save)
    with pytest.raises(InstructEmbedError, match="--resume"):
        train(config, show_progress=False)  # never silently overwrites a run
    resumed = train(config, resume=True, show_progress=False)

    assert resumed.steps == straight.steps == 6
    a = load_file(str(tmp_path / "a" / "final" / "delta.safetensors"))
    b = load_file(str(tmp_path / "b" / "final" / "delta.safetensors"))
    assert a.keys() == b.keys() and a
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    assert read_log(tmp_path / "a") == [
        {**r, "elapsed_s": a_r["elapsed_s"]} for r, a_r in zip(read_log(tmp_path / "b"), read_log(tmp_path / "a"))
    ]
    assert resumed.metrics == straight.metrics


def test_resume_without_a_checkpoint_is_a_clear_error(tiny_base, medi_files, tmp_path):
    with pytest.raises(InstructEmbedError, match="nothing to resume"):
        train(tiny_config(tiny_base, medi_files, tmp_path), resume=True)


def test_ablation_strips_every_instruction(tiny_base, medi_files, tmp_path):
    from instructembed.engine.instructor import Instructor
    from instructembed.train.data import TokenizedTriples, read_triples

    triples = read_triples(medi_files[0], instructions=False)
    assert all(t.query[0] == t.pos[0] == t.neg[0] == "" for t in triples)
    data = TokenizedTriples(triples, Instructor(str(tiny_base), device="cpu").pair_tokenizer)
    for features in data.collate(list(range(8))):
        assert torch.equal(features["pooling_mask"], features["attention_mask"])  # every token pooled
    lazy = TokenizedTriples(triples, data.tokenizer, eager=False)  # tokenizes at collate time: same batches
    for eager_side, lazy_side in zip(data.collate([5, 1, 9], 8), lazy.collate([5, 1, 9], 8)):
        assert eager_side.keys() == lazy_side.keys()
        assert all(torch.equal(eager_side[k], lazy_side[k]) for k in eager_side)
    result = train(tiny_config(tiny_base, medi_files, tmp_path, max_steps=2, instructions="off"), show_progress=False)
    assert json.loads((result.output_dir / "final" / "summary.json").read_text())["config"]["instructions"] == "off"


def test_in_training_evaluation_logs_a_shared_task(tiny_base, medi_files, tmp_path):
    from instructembed.shared_data import data_dir

    if not (data_dir() / "eval" / "STSBenchmark").exists():
        pytest.skip("shared data not available (set INSTRUCTEMBED_DATA_DIR)")
    train(tiny_config(tiny_base, medi_files, tmp_path, max_steps=1, eval_tasks="STSBenchmark", eval_max_rows=40),
          show_progress=False)
    scores = [float(r["STSBenchmark"]) for r in read_log(tmp_path) if r["STSBenchmark"]]
    assert len(scores) == 2 and all(-100 <= s <= 100 for s in scores)  # before training and at the end


def test_time_limit_stops_and_saves(tiny_base, medi_files, tmp_path):
    result = train(tiny_config(tiny_base, medi_files, tmp_path, max_steps=50, time_limit_minutes=1e-9), show_progress=False)
    summary = json.loads((tmp_path / "final" / "summary.json").read_text())
    assert result.steps == summary["steps"] == 1 and summary["planned_steps"] == 50
    assert json.loads((tmp_path / "checkpoint" / "trainer_state.json").read_text())["step"] == 1


def test_a_run_stopped_by_its_time_limit_resumes_to_the_end(tiny_base, medi_files, tmp_path):
    """The limit is per invocation: a run that used up its time in one session continues in the next."""
    config = tiny_config(tiny_base, medi_files, tmp_path, max_steps=6, checkpoint_every=1, time_limit_minutes=1e-9)
    assert train(config, show_progress=False).steps == 1
    state_file = tmp_path / "checkpoint" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    state["config"]["time_limit_minutes"] = 5.0  # a session-sized limit, long since used up by the saved elapsed time
    state["elapsed_s"] = 3600.0
    state_file.write_text(json.dumps(state))
    result = train(config, resume=True, show_progress=False)
    assert result.steps == 6
    assert json.loads((tmp_path / "final" / "summary.json").read_text())["train_seconds"] > 3600


def test_packaged_base_name_trains_and_writes_final(medi_files, tmp_path):
    """base_model = "all-MiniLM-L6-v2" (a packaged name, not a folder) trains and writes final/ with its provenance."""
    config = tiny_config("all-MiniLM-L6-v2", medi_files, tmp_path, max_steps=1, method="lora", lora_rank=2,
                         batch_size=4, max_seq_length=16, dev_file="")
    result = train(config, show_progress=False)
    summary = json.loads((result.output_dir / "final" / "summary.json").read_text())
    assert summary["base_model"] == "sentence-transformers/all-MiniLM-L6-v2" and summary["steps"] == 1
    assert (result.output_dir / "final" / "delta.safetensors").is_file()


def test_a_run_validates_before_creating_anything(tiny_base, medi_files, tmp_path):
    out = tmp_path / "never"
    for bad in (dict(base_model=str(tmp_path / "no-such-model")), dict(train_file=str(tmp_path / "missing.jsonl")),
                dict(steering_dev_dir=str(tmp_path))):
        config = tiny_config(tiny_base, medi_files, tmp_path, max_steps=1)
        config.output_dir = str(out)
        for key, value in bad.items():
            setattr(config, key, value)
        with pytest.raises(InstructEmbedError):
            train(config, show_progress=False)
        assert not out.exists()


def test_label_masked_negatives_change_the_contrast_loss_and_bad_labels_are_refused(tiny_base, medi_files, tmp_path):
    from instructembed.train.data import read_triples

    # 12 contrast groups: a text under "tone" and "source" instructions, each record labelled for what it asks
    rows = medi_files[0].read_text().splitlines()
    words = ["apple", "river", "stone", "cloud", "piano", "tiger", "lemon", "chair", "ocean", "maple", "flute", "zebra"]
    for i, word in enumerate(words):
        tone, source = ("happy", "sad")[i % 2], ("tweet", "review")[i // 2 % 2]
        x, a, b = f"{word} one", f"{word} two", f"{word} three"
        for prop, (own, pos_label, neg_label) in (("tone", (tone, tone, "other")), ("source", (source, source, "other"))):
            rows.append(json.dumps({"query": [f"Represent the {prop}: ", x], "pos": [f"Represent the {prop}: ", a],
                                    "neg": [f"Represent the {prop}: ", b], "task_id": "contrast:toy", "kind": "contrast",
                                    "group": f"g{i}", "labels": [f"{prop}={own}", f"{prop}={pos_label}", f"{prop}={neg_label}"]}))
    data = tmp_path / "medi.jsonl"
    data.write_text("\n".join(rows) + "\n")
    labelled = [t for t in read_triples(data) if t.labels]
    assert len(labelled) == 24 and labelled[0].labels == ("tone=happy", "tone=happy", "tone=other")

    def first_contrast_loss(mask: bool) -> float:
        out = tmp_path / f"mask-{mask}"
        train(tiny_config(tiny_base, (data, medi_files[1]), out, max_steps=1, log_every=1, contrast_share=1.0,
                          mask_label_negatives=mask), show_progress=False)
        return float([r for r in read_log(out) if r["contrast_loss"]][0]["contrast_loss"])

    # same seed, same batch, same weights: leaving same-label texts out of the negatives lowers the loss
    assert first_contrast_loss(True) < first_contrast_loss(False)

    bad = tmp_path / "bad.jsonl"
    bad.write_text(rows[-1].replace('"labels": [', '"labels": ["extra", ') + "\n")
    with pytest.raises(InstructEmbedError, match=r"bad.jsonl:1: 'labels' must be \[query label"):
        read_triples(bad)
