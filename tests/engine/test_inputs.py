"""Bad inputs to `encode` fail with one clear line naming the row; long texts truncate and are counted."""

from __future__ import annotations

import pytest

from instructembed import InstructEmbedError


@pytest.mark.parametrize(
    "inputs,message",
    [
        (["fine", "   "], "input 1: text is empty"),
        (["fine", ""], "input 1: text is empty"),
        ([["Represent:", "\n\t"]], "input 0: text is empty"),
        (["fine", None], "input 1 is None"),
        ([3], "input 0: expected a string, a pair or a mapping"),
        ([["only one"]], "input 0: a pair must be \\[instruction, text\\], got 1"),
        ([["a", "b", "c"]], "got 3 items"),
        ([[None, "text"]], "instruction must be a string"),
        ([["instr", 5]], "text must be a string"),
        ([{"instruction": "x"}], "needs a 'text' key"),
        (None, "inputs must be a string or a list"),
    ],
)
def test_bad_inputs(default_model, inputs, message):
    with pytest.raises(InstructEmbedError, match=message):
        default_model.encode(inputs)


def test_long_texts_are_truncated_and_counted(default_model):
    long_text = "word " * 2000
    out = default_model.encode(["short one", long_text, long_text])
    assert out.shape == (3, 384)
    assert default_model.last_encode_stats.truncated == 2
    assert default_model.last_encode_stats.rows == 3


def test_instruction_longer_than_the_limit_is_an_error(tiny_bert_path):
    from instructembed import Instructor

    model = Instructor(tiny_bert_path, device="cpu")  # max_seq_length 48
    with pytest.raises(InstructEmbedError, match="leaving no room for the text"):
        model.encode([["Represent " * 60 + ":", "text"]])


def test_bad_arguments(default_model):
    with pytest.raises(InstructEmbedError, match="batch_size"):
        default_model.encode(["a"], batch_size=0)
    with pytest.raises(InstructEmbedError, match="output_value"):
        default_model.encode(["a"], output_value="cls")
