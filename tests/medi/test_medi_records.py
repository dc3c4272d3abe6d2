"""MEDI record format: validator, JSONL writer, streaming readers (JSONL and the official JSON list)."""

from __future__ import annotations

import copy
import json

import pytest

from instructembed.errors import InstructEmbedError
from instructembed.medi.records import make_record, read_records, validate_record, write_records

GOOD = make_record("task1", ("Represent the question: ", "who wrote hamlet"),
                   ("Represent the answer: ", "William Shakespeare"), ("Represent the answer: ", "Charles Dickens"))


def broken(mutate):
    record = copy.deepcopy(GOOD)
    mutate(record)
    return record


BROKEN = {
    "not an object": (["query"], "expected a JSON object"),
    "missing task id": (broken(lambda r: r.pop("task_id")), "field 'task_id': missing"),
    "empty task id": (broken(lambda r: r.update(task_id=" ")), "field 'task_id': must be a non-empty string"),
    "task id not a string": (broken(lambda r: r.update(task_id=3)), "field 'task_id'"),
    "missing neg": (broken(lambda r: r.pop("neg")), "field 'neg': missing"),
    "arity 1": (broken(lambda r: r.update(pos=["only text"])), "field 'pos': must be [instruction, text], got 1"),
    "arity 3": (broken(lambda r: r.update(query=["a", "b", "c"])), "field 'query': must be [instruction, text], got 3"),
    "side not a list": (broken(lambda r: r.update(query="who wrote hamlet")), "field 'query': must be [instruction, text]"),
    "instruction not a string": (broken(lambda r: r.update(pos=[None, "x"])), "field 'pos': instruction must be a string"),
    "text not a string": (broken(lambda r: r.update(neg=["i: ", 5])), "field 'neg': text must be a string"),
    "empty text": (broken(lambda r: r.update(pos=["i: ", "  "])), "field 'pos': empty text"),
    "pos identical to query": (broken(lambda r: r.update(pos=["other: ", "who wrote hamlet "])), "field 'pos': text identical to the query"),
    "neg identical to query": (broken(lambda r: r.update(neg=["i: ", "who wrote hamlet"])), "field 'neg': text identical to the query"),
    "neg identical to pos": (broken(lambda r: r.update(neg=["i: ", "William Shakespeare"])), "field 'neg': text identical to the positive"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_validator_rejects_each_broken_kind_naming_record_and_field(kind):
    record, message = BROKEN[kind]
    with pytest.raises(InstructEmbedError, match="record 7: ") as info:
        validate_record(record, 7)
    assert message in str(info.value)


def test_validator_accepts_good_record_and_official_task_name():
    validate_record(GOOD, 0)
    official = {k: v for k, v in GOOD.items() if k != "task_id"} | {"task_name": "quora"}
    validate_record(official, 0)


def test_jsonl_round_trip_and_key_order(tmp_path):
    path = tmp_path / "medi.jsonl"
    records = [GOOD, broken(lambda r: r.update(task_id="task2"))]
    assert write_records(records, path) == 2
    assert list(read_records(path)) == records
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert list(json.loads(first)) == ["query", "pos", "neg", "task_id"]


def test_writer_leaves_no_partial_file_on_a_bad_record(tmp_path):
    path = tmp_path / "out.jsonl"
    with pytest.raises(InstructEmbedError, match="record 1: field 'pos'"):
        write_records([GOOD, broken(lambda r: r.update(pos=["i: ", ""]))], path)
    assert list(tmp_path.iterdir()) == []


def test_reader_streams_the_official_json_list_across_chunk_boundaries(tmp_path):
    from instructembed.medi import records as records_module

    official = [{k: v for k, v in GOOD.items() if k != "task_id"} | {"task_name": f"t{i}"} for i in range(50)]
    path = tmp_path / "medi-data.json"
    path.write_text(json.dumps(official, indent=2), encoding="utf-8")
    assert list(read_records(path)) == official
    # tiny chunks force every object to straddle reads
    assert list(records_module._json_list_items(path, chunk_size=7)) == official


def test_reader_names_the_bad_record_in_a_file(tmp_path):
    path = tmp_path / "bad.jsonl"
    lines = [json.dumps(GOOD), json.dumps(broken(lambda r: r.update(neg=["i: "])))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InstructEmbedError, match="record 1: field 'neg': must be"):
        list(read_records(path))
    path.write_text(json.dumps(GOOD) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InstructEmbedError, match="bad.jsonl:2: invalid JSON"):
        list(read_records(path))
    truncated = tmp_path / "cut.json"
    truncated.write_text("[" + json.dumps(GOOD) + ",", encoding="utf-8")
    with pytest.raises(InstructEmbedError, match="truncated JSON"):
        list(read_records(truncated))
