"""Tiny random-initialised checkpoints (T5 with a Dense head, BERT) built inside the tests, offline."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, BertConfig, BertModel, PreTrainedTokenizerFast, T5Config, T5EncoderModel

from instructembed.engine.default_model import base_model_path
from instructembed.engine.dense import Dense
from instructembed.engine.normalize import Normalize
from instructembed.engine.pooling import Pooling
from instructembed.engine.transformer import Transformer

CORPUS = [
    "Represent the Science title for retrieval:",
    "Represent the Wikipedia question for retrieving supporting documents:",
    "Represent the review for classifying sentiment:",
    "3D ActionSLAM: wearable person tracking in multi-floor environments",
    "The cat sat on the mat while the dog slept by the fire.",
    "Quantum computers use qubits to represent information.",
    "Where is the food stored in a yam plant?",
    "A great movie with a terrible ending, but the actors were fine.",
] * 20


def t5_tokenizer() -> PreTrainedTokenizerFast:
    """A small SentencePiece-style Unigram tokenizer that appends </s>, as T5's does."""
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(
        CORPUS, trainers.UnigramTrainer(vocab_size=300, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>")
    )
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", pad_token="<pad>", unk_token="<unk>")


def build_tiny_t5(folder: Path, seed: int = 0) -> Path:
    """T5 encoder (d_model 32) + mean Pooling + Dense 32->16 without bias + Normalize, like hkunlp/instructor-*."""
    from instructembed.engine import Instructor

    torch.manual_seed(seed)
    tokenizer = t5_tokenizer()
    config = T5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=0,
    )
    encoder = T5EncoderModel(config).eval()
    dense = Dense(32, 16, bias=False)
    modules = [Transformer(encoder, tokenizer, max_seq_length=64), Pooling(32), dense, Normalize()]
    Instructor(modules=modules, device="cpu").save(folder)
    return folder


def build_tiny_bert(folder: Path, seed: int = 0, max_seq_length: int = 48) -> Path:
    """A 2-layer BERT (hidden 32) with MiniLM's real WordPiece tokenizer, mean Pooling, no Dense."""
    from instructembed.engine import Instructor

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base_model_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=128,
    )
    modules = [Transformer(BertModel(config).eval(), tokenizer, max_seq_length=max_seq_length), Pooling(32), Normalize()]
    Instructor(modules=modules, device="cpu").save(folder)
    return folder


def corrupt_copy(source: Path, target: Path, file: str, payload: bytes) -> Path:
    import shutil

    shutil.copytree(source, target)
    (target / file).write_bytes(payload)
    return target


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
