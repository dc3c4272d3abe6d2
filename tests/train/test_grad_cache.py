"""GradCache gives the plain computation's loss and every parameter gradient."""

import pytest
import torch

from instructembed.engine.instructor import Instructor
from instructembed.train.data import TokenizedTriples, read_triples
from instructembed.train.losses import backward_batch, loss_from_embeddings


def run(model, features, chunk):
    model.zero_grad(set_to_none=True)
    loss = float(backward_batch(model, features, lambda q, p, n: loss_from_embeddings(q, p, n, tau=0.05), chunk))
    return loss, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.fixture
def batch(tiny_base, medi_files):
    model = Instructor(str(tiny_base), device="cpu")
    triples = read_triples(medi_files[0])[:10]
    data = TokenizedTriples(triples, model.pair_tokenizer)
    return model, data.collate(list(range(10)), pad_to_multiple_of=8)


def assert_same(a, b):
    loss_a, grads_a = a
    loss_b, grads_b = b
    assert loss_a == pytest.approx(loss_b, rel=1e-5)
    assert grads_a.keys() == grads_b.keys() and len(grads_a) > 10
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], rtol=1e-4, atol=1e-6, msg=name)


def test_grad_cache_equals_plain_with_small_chunks(batch):
    model, features = batch
    model.eval()  # no dropout: chunked and whole-batch forwards then see identical networks
    assert_same(run(model, features, None), run(model, features, 3))


def test_grad_cache_replays_dropout_exactly(batch):
    model, features = batch
    model.train()
    torch.manual_seed(7)
    plain = run(model, features, None)
    torch.manual_seed(7)
    cached = run(model, features, 10)  # one chunk per input: step 1 draws the plain run's masks, step 3 replays them
    assert_same(plain, cached)
    torch.manual_seed(8)
    assert run(model, features, None)[0] != pytest.approx(plain[0], rel=1e-6)  # dropout is really on
