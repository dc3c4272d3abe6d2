"""`TokenizerFile` (tokenizer.json through `tokenizers`, what the ONNX backends load) gives the ids that
transformers' tokenizer gives, on the real default model's export and on a tiny T5 export."""

from __future__ import annotations

import subprocess
import sys

import pytest
from transformers import AutoTokenizer

from instructembed import Instructor
from instructembed.engine.batching import PairTokenizer
from instructembed.engine.tokenizer_file import TokenizerFile
from instructembed.export import export_onnx

TEXTS = [
    "Represent the Science title for retrieval: 3D ActionSLAM: wearable person tracking",
    "",
    "   padded   spaces and Ünïcödé, emoji 🙂 and CJK 漢字 ",
    "[CLS] literal special tokens [SEP] in text",
    "a long one " * 200,
]


def _compare(folder, max_length: int) -> None:
    reference = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    ours = TokenizerFile(folder, list(reference.model_input_names))
    assert ours.all_special_ids == sorted(reference.all_special_ids)
    assert ours.pad_token_id == reference.pad_token_id
    assert ours.num_special_tokens_to_add() == reference.num_special_tokens_to_add()
    for limit in (8, max_length):
        assert ours(TEXTS, truncation=True, max_length=limit)["input_ids"] == reference(TEXTS, truncation=True, max_length=limit)["input_ids"]
    assert ours(TEXTS)["input_ids"] == reference(TEXTS)["input_ids"]  # no truncation after a truncated call
    for text in TEXTS:
        for special in (True, False):
            assert ours(text, add_special_tokens=special)["input_ids"] == reference(text, add_special_tokens=special)["input_ids"]
    pairs = [["Represent the title: ", t] for t in TEXTS if t] + [["", "cat"]]
    a = PairTokenizer(ours, max_length).tokenize(pairs)
    b = PairTokenizer(reference, max_length).tokenize(pairs)
    assert (a.input_ids, a.instruction_lengths, a.truncated) == (b.input_ids, b.instruction_lengths, b.truncated)


def test_default_model_export_tokenizes_as_transformers_does(exported):
    _compare(exported, 256)


def test_tiny_t5_export_tokenizes_as_transformers_does(tiny_t5_path, tmp_path):
    folder = export_onnx(Instructor(tiny_t5_path, device="cpu"), tmp_path / "t5")
    _compare(folder, 64)


def test_the_onnx_backend_starts_without_transformers(exported):
    """What makes `--backend onnx*` start in a fraction of the torch backend's time: no transformers import."""
    code = (
        "import sys; from instructembed.export import OnnxInstructor; "
        f"m = OnnxInstructor({str(exported)!r}); m.encode(['hello world']); "
        "print('transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_corrupt_tokenizer_file_is_a_one_line_error(exported, tmp_path):
    import shutil

    from instructembed.errors import InstructEmbedError

    folder = tmp_path / "copy"
    shutil.copytree(exported, folder)
    (folder / "tokenizer.json").write_text("{not json")
    with pytest.raises(InstructEmbedError, match="cannot load the tokenizer"):
        TokenizerFile(folder, ["input_ids"])
