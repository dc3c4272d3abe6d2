"""Mining positives and hard negatives from embeddings (rows L2-normalized, so a dot product is a cosine).

Each function returns index arrays; -1 marks a row for which no candidate exists. Ties go to the lowest
index, so mining is deterministic. Matrix products run on one BLAS thread: the matrices are small, and a
second spinning thread makes them tens of times slower on a busy machine.
"""

from __future__ import annotations

from functools import wraps

import numpy as np
from threadpoolctl import threadpool_limits

NONE = -1


def _one_blas_thread(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper


def _argmax_rows(scores: np.ndarray) -> np.ndarray:
    """Row-wise argmax; -1 where every candidate is masked (-inf)."""
    best = scores.argmax(axis=1)
    found = np.isfinite(scores[np.arange(len(scores)), best])
    return np.where(found, best, NONE)


@_one_blas_thread
def mine_classification(x: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Positive: the most similar *other* input with the same label; hard negative: the most similar
    input with a different label."""
    codes = np.unique(np.asarray(labels, dtype=str), return_inverse=True)[1].reshape(-1)
    sims = (x @ x.T).astype(np.float64)
    same = codes[:, None] == codes[None, :]
    different = ~same
    np.fill_diagonal(same, False)
    pos = _argmax_rows(np.where(same, sims, -np.inf))
    neg = _argmax_rows(np.where(different, sims, -np.inf))
    return pos, neg


@_one_blas_thread
def text_output_scores(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The paper's two scores: s_pos = cos(x_i,x_j) + cos(y_i,y_j), s_neg = cos(x_i,x_j) - cos(y_i,y_j)."""
    xx = (x @ x.T).astype(np.float64)
    yy = (y @ y.T).astype(np.float64)
    return xx + yy, xx - yy


def mine_text_output(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positive: argmax_j s_pos(i,j), j != i; hard negative: argmax_j s_neg(i,j), j not in {i, positive}."""
    s_pos, s_neg = text_output_scores(x, y)
    n = len(x)
    rows = np.arange(n)
    s_pos[rows, rows] = -np.inf
    pos = _argmax_rows(s_pos)
    s_neg[rows, rows] = -np.inf
    has_pos = pos != NONE
    s_neg[rows[has_pos], pos[has_pos]] = -np.inf
    neg = _argmax_rows(s_neg)
    return pos, neg


@_one_blas_thread
def mine_pair_negatives(
    q: np.ndarray,
    docs: np.ndarray,
    pos_doc: np.ndarray,
    excluded: list[set[int]],
    margin: float | None = 0.95,
    chunk: int = 1024,
) -> np.ndarray:
    """Hard negative per query: the document most similar to the query that is not its positive.

    Args:
        q: (n, d) query embeddings; docs: (m, d) the dataset's distinct positive documents.
        pos_doc: (n,) index of each query's positive in `docs`.
        excluded: per query, further doc indices that are never a negative (positives of the same query text).
        margin: false-negative guard; a candidate must score below `margin * cos(query, positive)`
            (when that cosine is positive). `None` takes the plain most similar other document.
    """
    result = np.full(len(q), NONE, dtype=np.int64)
    for begin in range(0, len(q), chunk):
        end = min(begin + chunk, len(q))
        sims = (q[begin:end] @ docs.T).astype(np.float64)
        rows = np.arange(end - begin)
        pos_sims = sims[rows, pos_doc[begin:end]].copy()
        sims[rows, pos_doc[begin:end]] = -np.inf
        for row in rows:
            for j in excluded[begin + row]:
                sims[row, j] = -np.inf
        if margin is not None:
            limit = np.where(pos_sims > 0, pos_sims * margin, pos_sims)
            sims[sims >= limit[:, None]] = -np.inf
        result[begin:end] = _argmax_rows(sims)
    return result


def decide_kind(outputs: list[str], max_labels: int = 20, min_per_label: float = 5.0) -> tuple[str, int]:
    """'classification' when the task has few distinct outputs relative to its instances, else 'text-output'.

    Few = at most `max_labels` distinct (case- and space-normalized) outputs and on average at least
    `min_per_label` instances per output. Returns the kind and the number of distinct outputs.
    """
    distinct = len({normalize_label(o) for o in outputs})
    if distinct <= max_labels and distinct * min_per_label <= len(outputs):
        return "classification", distinct
    return "text-output", distinct


def normalize_label(output: str) -> str:
    return " ".join(output.lower().split()).rstrip(".")


_POSITIONAL_WORDS = {"option", "completion", "text", "answer", "choice", "sentence", "candidate", "ending"}
_POSITIONAL_MARKS = {"a", "b", "c", "d", "e", "one", "two", "three", "four", "first", "second"}


def positional_labels(labels: set[str]) -> bool:
    """True when the labels only name a position among given options ("A"/"B", "Option 1", "1"/"2"):
    two inputs with the same such label share no meaning, so label-mined pairs would be noise.
    Digit sets containing 0 ("0"/"1", topic ids) are taken as real classes."""

    def positional(label: str) -> bool:
        words = label.replace("(", " ").replace(")", " ").replace(":", " ").split()
        if words and words[0] in _POSITIONAL_WORDS:
            words = words[1:]
        return len(words) == 1 and (words[0] in _POSITIONAL_MARKS or words[0] in {"1", "2", "3", "4", "5"})

    return bool(labels) and all(positional(label) for label in labels)
