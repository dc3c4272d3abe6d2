"""`Index`: FAISS over L2-normalized vectors with inner product (= cosine), plus the ids, a text snippet
per row, the corpus instruction and the identity of the model that made the vectors."""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from instructembed.atomic_folder import replace_dir
from instructembed.errors import InstructEmbedError
from instructembed.scale.identity import ModelIdentity

FORMAT = "instructembed-index/1"
META_FILE, INDEX_FILE, ROWS_FILE = "index.json", "index.faiss", "rows.parquet"
SNIPPET_CHARS = 300
KINDS = ("flat", "hnsw", "ivf")
DEFAULT_EF_SEARCH = 128  # HNSW: candidates kept per query (FAISS's own default of 16 trades recall away)


def _import_faiss():
    try:
        import faiss
    except ImportError:
        raise InstructEmbedError("search needs FAISS: pip install 'instructembed[search]'") from None
    return faiss


def ivf_lists(rows: int) -> int:
    """Inverted lists for `rows` vectors: about 4 * sqrt(n), with at least 39 training vectors per list."""
    return max(1, min(int(4 * math.sqrt(max(rows, 1))), rows // 39))


def factory_string(kind: str, rows: int) -> str:
    """The FAISS index factory string of a kind (`flat`, `hnsw`, `ivf`); any other string is used as given."""
    if kind == "flat":
        return "Flat"
    if kind == "hnsw":
        return "HNSW32"
    if kind == "ivf":
        return f"IVF{ivf_lists(rows)},Flat"
    if not isinstance(kind, str) or not kind.strip():
        raise InstructEmbedError(f"index kind must be one of {', '.join(KINDS)} or a FAISS factory string, got {kind!r}")
    return kind


@dataclass(frozen=True)
class Hit:
    id: str
    score: float  # cosine similarity
    text: str | None  # the first SNIPPET_CHARS characters of the row's text, when the corpus had text


class Index:
    """Vectors searched by cosine similarity; `flat` is exact, `hnsw` and `ivf` approximate.

    Example:
        >>> index = Index.build(vectors, ids, model=model, instruction="Represent the document for retrieval:", kind="hnsw")
        >>> index.save("docs.index")
        >>> Index.load("docs.index").search_texts(model, ["what is a qubit?"], instruction="Represent the question for retrieving documents:")
    """

    def __init__(self, faiss_index: Any, model: ModelIdentity, instruction: str | None, factory: str, params: dict[str, float] | None = None) -> None:
        self.faiss_index, self.model, self.instruction, self.factory = faiss_index, model, instruction, factory
        self.ids: list[str] = []
        self.texts: list[str | None] = []
        self.params: dict[str, float] = {}
        self.set_search_params(**(params or {}))

    # --- building ---------------------------------------------------------------------------
    @classmethod
    def create(cls, model: ModelIdentity | Any, *, instruction: str | None = None, kind: str = "flat", expected_rows: int = 0) -> Index:
        """An empty index for the vectors of `model` (an identity or a loaded model); an `ivf` index is
        trained on the first vectors added, so add at least `training_rows` at once."""
        faiss = _import_faiss()
        identity = model if isinstance(model, ModelIdentity) else ModelIdentity.of(model)
        factory = factory_string(kind, expected_rows)
        try:
            index = faiss.index_factory(identity.dimension, factory, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as exc:
            raise InstructEmbedError(f"FAISS cannot build an index from {factory!r}: {str(exc).strip().splitlines()[-1]}") from None
        params = {"efSearch": DEFAULT_EF_SEARCH} if "HNSW" in factory else {}
        if "IVF" in factory:
            params["nprobe"] = max(1, min(faiss.extract_index_ivf(index).nlist, 16))
        return cls(index, identity, instruction, factory, params)

    @classmethod
    def build(
        cls, vectors: np.ndarray, ids: list[str], *, model: ModelIdentity | Any, instruction: str | None = None,
        kind: str = "flat", texts: list[str | None] | None = None,
    ) -> Index:
        """An index over `vectors` (normalized here), row i answering as `ids[i]`."""
        index = cls.create(model, instruction=instruction, kind=kind, expected_rows=len(vectors))
        index.add(vectors, ids, texts)
        return index

    @property
    def training_rows(self) -> int:
        """How many vectors the first `add` needs (0 once trained)."""
        if self.faiss_index.is_trained:
            return 0
        return 64 * self._faiss().extract_index_ivf(self.faiss_index).nlist

    def add(self, vectors: np.ndarray, ids: list[str], texts: list[str | None] | None = None) -> None:
        """Append rows; an untrained (`ivf`) index is first trained on these vectors."""
        x = self._prepare(vectors)
        if len(ids) != len(x) or texts is not None and len(texts) != len(x):
            raise InstructEmbedError(f"{len(x)} vectors but {len(ids)} ids{'' if texts is None else f' and {len(texts)} texts'}")
        if not len(x):
            return
        if not self.faiss_index.is_trained:
            nlist = self._faiss().extract_index_ivf(self.faiss_index).nlist
            if len(x) < nlist:
                raise InstructEmbedError(f"an index of {nlist} inverted lists needs at least {nlist} vectors to train on, got {len(x)}")
            self.faiss_index.train(x)
        self.faiss_index.add(x)
        self.ids.extend(str(i) for i in ids)
        self.texts.extend([None] * len(x) if texts is None else [None if t is None else str(t)[:SNIPPET_CHARS] for t in texts])

    def __len__(self) -> int:
        return int(self.faiss_index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self.faiss_index.d)

    def set_search_params(self, **params: float) -> None:
        """FAISS search parameters by name: `efSearch` (HNSW), `nprobe` (IVF)."""
        space = self._faiss().ParameterSpace()
        for name, value in params.items():
            try:
                space.set_index_parameter(self.faiss_index, name, value)
            except RuntimeError:
                raise InstructEmbedError(f"search parameter {name!r} does not apply to a {self.factory!r} index") from None
            self.params[name] = value

    # --- searching --------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int = 10) -> list[list[Hit]]:
        """The `k` rows most similar to each query vector, best first. A `k` beyond the index's size is
        cut to it: `flat` then returns every row, `hnsw` and `ivf` the rows their search reaches."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InstructEmbedError(f"k must be a positive whole number, got {k!r}")
        x = self._prepare(np.atleast_2d(queries))
        if not len(self):
            return [[] for _ in range(len(x))]
        scores, rows = self.faiss_index.search(x, min(k, len(self)))
        return [
            [Hit(self.ids[r], float(s), self.texts[r]) for s, r in zip(row_scores, row_ids) if r >= 0]
            for row_scores, row_ids in zip(scores, rows)
        ]

    def check_model(self, model: Any) -> None:
        """An InstructEmbedError unless `model` has the weights that made this index's vectors."""
        self.model.check_same(ModelIdentity.of(model), "this index")

    def search_texts(self, model: Any, queries: list[str], *, instruction: str | None = None, k: int = 10, batch_size: int = 32) -> list[list[Hit]]:
        """Embed `queries` under `instruction` with `model` (the index's model, checked) and search."""
        self.check_model(model)
        vectors = model.encode(list(queries), instruction=instruction, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
        return self.search(np.asarray(vectors), k)

    # --- files ------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the folder `path` (index.json, index.faiss, rows.parquet) at once: staged beside it, then renamed."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        faiss = self._faiss()
        target = Path(path)
        if target.exists() and (not target.is_dir() or any(target.iterdir()) and not (target / META_FILE).exists()):
            raise InstructEmbedError(f"{target} exists and is not an index folder: give a new path")
        if not target.parent.is_dir():
            raise InstructEmbedError(f"folder does not exist: {target.parent}")
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            faiss.write_index(self.faiss_index, str(staging / INDEX_FILE))
            pq.write_table(pa.table({"id": pa.array(self.ids, pa.string()), "text": pa.array(self.texts, pa.string())}), staging / ROWS_FILE)
            meta = {
                "format": FORMAT, "factory": self.factory, "metric": "inner_product", "normalized": True,
                "rows": len(self), "dimension": self.dimension, "model": self.model.to_json(),
                "instruction": self.instruction, "params": self.params,
            }
            (staging / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            replace_dir(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    @classmethod
    def load(cls, path: str | Path) -> Index:
        import pyarrow.parquet as pq

        faiss = _import_faiss()
        folder = Path(path)
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InstructEmbedError(f"{folder} is not an index (no {META_FILE}): build one with `instructembed index build`") from None
        except (OSError, ValueError) as exc:
            raise InstructEmbedError(f"cannot read {folder / META_FILE}: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise InstructEmbedError(f"{folder} is not an index of this version (format {meta.get('format') if isinstance(meta, dict) else None!r})")
        try:
            faiss_index = faiss.read_index(str(folder / INDEX_FILE))
            rows = pq.read_table(folder / ROWS_FILE)
        except Exception as exc:
            raise InstructEmbedError(f"cannot read the index {folder}: {str(exc).strip().splitlines()[-1]}") from None
        if rows.num_rows != faiss_index.ntotal or faiss_index.ntotal != meta.get("rows"):
            raise InstructEmbedError(f"{folder} is damaged: {faiss_index.ntotal} vectors, {rows.num_rows} ids, {meta.get('rows')} in {META_FILE}")
        index = cls(faiss_index, ModelIdentity.from_json(meta.get("model"), str(folder)), meta.get("instruction"), meta["factory"], meta.get("params"))
        index.ids = rows.column("id").to_pylist()
        index.texts = rows.column("text").to_pylist()
        return index

    # --- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _faiss():
        return _import_faiss()

    def _prepare(self, vectors: np.ndarray) -> np.ndarray:
        x = np.array(vectors, dtype=np.float32, order="C", copy=True)
        if x.ndim != 2 or x.shape[1] != self.dimension:
            raise InstructEmbedError(f"vectors must have shape (n, {self.dimension}), got {x.shape}")
        if not np.isfinite(x).all():
            raise InstructEmbedError("vectors hold NaN or infinite values")
        self._faiss().normalize_L2(x)
        return x
