"""Property-based tests (hypothesis) of the input parser and the pooling invariants (issue 10).

- any mix of strings, `[instruction, text]` pairs and `{"instruction", "text"}` dicts either embeds,
  each row with the instruction it should get, or fails with an InstructEmbedError naming the bad row;
- a vector never depends on its batch-mates, the batch size or extra padding;
- instruction pooling masks exactly the instruction's tokens: the vector is the mean of the text's
  token vectors, and equals sentence-transformers' with `include_prompt=False`.

Bounded: a fixed seed (derandomize), few examples each, no deadline, no example database on disk.
"""

from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instructembed import Instructor
from instructembed.errors import InstructEmbedError

BOUNDED = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])

word = st.text(string.ascii_letters + string.digits, min_size=1, max_size=8)
text = st.lists(word, min_size=1, max_size=10).map(" ".join)  # never blank, always has tokens
instruction = st.lists(word, min_size=1, max_size=4).map(lambda ws: "Represent the " + " ".join(ws) + ":")
maybe_instruction = st.one_of(st.just(""), instruction)
BLANKS = ["", "   ", "\u200b", "\x00", "\ufeff \n", "\t"]


def _expected_pair(item, keyword: str | None) -> tuple[str, str]:
    if isinstance(item, str):
        return keyword or "", item
    if isinstance(item, dict):
        return item.get("instruction") or keyword or "", item["text"]
    return item[0], item[1]


valid_row = st.one_of(
    text,
    st.tuples(maybe_instruction, text).map(list),
    st.tuples(maybe_instruction, text),
    text.map(lambda t: {"text": t}),
    st.tuples(maybe_instruction, text).map(lambda p: {"instruction": p[0], "text": p[1]}),
)
invalid_row = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(BLANKS),
    st.lists(text, max_size=4).filter(lambda xs: len(xs) != 2),
    st.tuples(st.integers(), text).map(list),
    st.tuples(maybe_instruction, st.integers()).map(list),
    st.tuples(maybe_instruction, st.sampled_from(BLANKS)).map(list),
    st.just({"instruction": "Represent:"}),
    st.just({"text": 5}),
    text.map(lambda t: {"instruction": 3, "text": t}),
    text.map(lambda t: t + " \ud800"),  # a lone surrogate: valid in JSON, not in any tokenizer
    text.map(lambda t: ["Represent the \udc00 text:", t]),
)


@st.composite
def mixed_rows(draw):
    """(rows, index of the bad row or None, instruction keyword or None)."""
    rows = draw(st.lists(valid_row, min_size=1, max_size=6))
    bad = None
    if draw(st.booleans()):
        bad = draw(st.integers(0, len(rows)))
        rows.insert(bad, draw(invalid_row))
    keyword = draw(st.one_of(st.none(), instruction))
    return rows, bad, keyword


@pytest.fixture(scope="module")
def tiny_bert(tiny_bert_path):
    return Instructor(tiny_bert_path, device="cpu")


@pytest.fixture(scope="module")
def tiny_t5(tiny_t5_path):
    return Instructor(tiny_t5_path, device="cpu")


@pytest.fixture(params=["tiny_bert", "tiny_t5"])
def tiny_model(request):
    return request.getfixturevalue(request.param)


@BOUNDED
@given(case=mixed_rows())
def test_any_mix_of_rows_embeds_or_names_the_bad_row(tiny_bert, case):
    rows, bad, keyword = case
    has_pairs = any(isinstance(r, (list, tuple)) for r in rows)
    if keyword is not None and has_pairs:
        with pytest.raises(InstructEmbedError, match="give either"):
            tiny_bert.encode(rows, instruction=keyword)
        return
    if bad is not None:
        with pytest.raises(InstructEmbedError) as error:
            tiny_bert.encode(rows, instruction=keyword)
        assert str(error.value).startswith(f"input {bad}"), (rows, str(error.value))
        return
    vectors = tiny_bert.encode(rows, instruction=keyword, normalize_embeddings=False)
    assert vectors.shape == (len(rows), 32) and np.isfinite(vectors).all()
    pairs = [_expected_pair(r, keyword) for r in rows]  # each row embedded with the instruction it should get
    assert np.abs(vectors - tiny_bert.encode([list(p) for p in pairs], normalize_embeddings=False)).max() < 1e-5


batches = st.lists(st.tuples(maybe_instruction, text), min_size=2, max_size=8)


def check_batch_independence(model, rows, batch_size: int, pad_to: int) -> None:
    import torch

    pairs = [list(r) for r in rows]
    together = model.encode(pairs, batch_size=batch_size, normalize_embeddings=False)
    alone = np.stack([model.encode([p], normalize_embeddings=False)[0] for p in pairs])
    assert np.abs(together - alone).max() < 1e-5
    tokenized = model.pair_tokenizer.tokenize([tuple(p) for p in pairs])
    features = model.pair_tokenizer.collate(tokenized.input_ids, tokenized.instruction_lengths, pad_to_multiple_of=pad_to)
    assert features["input_ids"].shape[1] % pad_to == 0
    with torch.inference_mode():
        padded = model.forward_features(features, normalize=False)["sentence_embedding"].numpy()
    assert np.abs(padded - alone).max() < 1e-5


@BOUNDED
@given(rows=batches, batch_size=st.integers(1, 8), pad_to=st.sampled_from([8, 64]))
def test_a_vector_never_depends_on_its_batch_mates_or_padding(tiny_model, rows, batch_size, pad_to):
    check_batch_independence(tiny_model, rows, batch_size, pad_to)


@settings(BOUNDED, max_examples=6)
@given(rows=batches, batch_size=st.integers(1, 8), pad_to=st.sampled_from([8, 64]))
def test_a_vector_never_depends_on_its_batch_mates_or_padding_real_weights(default_model, rows, batch_size, pad_to):
    check_batch_independence(default_model, rows, batch_size, pad_to)


@pytest.fixture(scope="module")
def bert_models(tiny_bert_path, base_model):
    """Two WordPiece models with folders sentence-transformers reads: the tiny random one and the real base."""
    from sentence_transformers import SentenceTransformer

    from instructembed.engine.default_model import base_model_path

    pairs = []
    for ours, folder in [(Instructor(tiny_bert_path, device="cpu"), tiny_bert_path), (base_model, base_model_path())]:
        theirs = SentenceTransformer(str(folder), device="cpu")
        theirs.set_pooling_include_prompt(False)
        pairs.append((ours, theirs))
    return pairs


@BOUNDED
@given(ins=instruction, body=text)
def test_pooling_masks_exactly_the_instruction_tokens(bert_models, ins, body):
    for ours, theirs in bert_models:
        tokenizer = ours.tokenizer
        tokenized = ours.pair_tokenizer.tokenize([(ins, body)])
        ids, n = tokenized.input_ids[0], tokenized.instruction_lengths[0]
        alone = tokenizer(ins)["input_ids"]  # [CLS] instruction [SEP]
        assert n == len(alone) - 1 and ids[:n] == alone[:-1]  # the masked prefix is [CLS] + the instruction's tokens
        mask = ours.pair_tokenizer.collate([ids], [n])["pooling_mask"][0].tolist()
        assert mask == [0] * n + [1] * (len(ids) - n)
        tokens = ours.encode([[ins, body]], output_value="token_embeddings")[0]
        raw = ours.encode([[ins, body]], normalize_embeddings=False)[0]
        assert np.abs(raw - tokens[n:].mean(axis=0)).max() < 1e-5  # the mean over the text's tokens only
        reference = theirs.encode([body], prompt=ins)[0]
        assert np.abs(ours.encode([[ins, body]])[0] - reference).max() < 1e-5
