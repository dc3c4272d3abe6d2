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


@pytest.mark.parametrize("blank", ["\u200b", "\ufeff", "\x00", " \u200b\x00\t"])
@pytest.mark.parametrize("instruction", [None, "Represent the sentence:"])
def test_text_with_no_tokens_is_empty_text(default_model, blank, instruction):
    with pytest.raises(InstructEmbedError, match="input 1: text is empty or whitespace only"):
        default_model.encode(["fine", blank], instruction=instruction)
    with pytest.raises(InstructEmbedError, match="input 0: text is empty"):
        default_model.encode([{"instruction": "Represent:", "text": blank}])


def test_text_the_tokenizer_drops_is_empty_text(default_model):
    """Combining accents alone survive `is_blank` but MiniLM's uncased tokenizer strips them to nothing."""
    for instruction in (None, "Represent the sentence:"):
        with pytest.raises(InstructEmbedError, match=r"input 0: text is empty \(it has no tokens\)"):
            default_model.encode(["\u0301\u0301"], instruction=instruction)
    assert default_model.encode(["caf\u00e9\u200b"]).shape == (1, 384)  # an invisible character inside text is fine


def test_pairs_and_the_instruction_keyword_together_are_an_error(default_model):
    with pytest.raises(InstructEmbedError, match="give either \\[instruction, text\\] pairs or plain texts with the instruction keyword"):
        default_model.encode([["Represent the title:", "3D ActionSLAM"]], instruction="other:")
    with pytest.raises(InstructEmbedError, match="not both"):
        default_model.encode(["plain", ("Represent:", "pair")], instruction="other:")
    mapping = default_model.encode([{"text": "3D ActionSLAM"}], instruction="Represent the title:")  # mappings take it
    assert abs(mapping - default_model.encode([["Represent the title:", "3D ActionSLAM"]])).max() < 1e-6


def test_max_seq_length_is_honoured_on_the_default_model():
    from instructembed import Instructor

    model = Instructor(device="cpu", max_seq_length=5)
    assert model.max_seq_length == 5 and model.pair_tokenizer.max_seq_length == 5
    model.encode(["word " * 50, "short"])
    assert model.last_encode_stats.truncated == 1 and model.last_encode_stats.tokens == 5 + 3
    with pytest.raises(InstructEmbedError, match="max_seq_length must be a positive number of tokens, got 0"):
        model.max_seq_length = 0
    with pytest.raises(InstructEmbedError, match="max_seq_length must be from 3 to 512 tokens for this model, got 2"):
        model.max_seq_length = 2
    assert model.max_seq_length == 5


@pytest.mark.parametrize("value, message", [(0, "positive number of tokens, got 0"), (-3, "got -3"), (True, "got True"),
                                            ("8", "got '8'"), (513, "from 3 to 512 tokens for this model, got 513")])
def test_bad_max_seq_length(value, message):
    from instructembed import Instructor

    with pytest.raises(InstructEmbedError, match=message):
        Instructor(device="cpu", max_seq_length=value)


def test_bad_or_unavailable_device(default_model, monkeypatch):
    import torch

    from instructembed import Instructor

    with pytest.raises(InstructEmbedError, match="unknown device 'bogus': use cpu, cuda, cuda:N or mps"):
        Instructor(device="bogus")
    with pytest.raises(InstructEmbedError, match="unknown device 'bogus'"):
        default_model.encode(["a"], device="bogus")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:1"):
        with pytest.raises(InstructEmbedError, match=f"device '{device}' asked for, but CUDA is not available"):
            Instructor(device=device)
    assert default_model.device.type == "cpu"
