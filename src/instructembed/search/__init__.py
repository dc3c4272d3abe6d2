"""Vector search on FAISS (`instructembed[search]`): exact (`flat`) or approximate (`hnsw`, `ivf`)
cosine search over the vectors of one model, built from a file of texts or a folder of shards.

Example:
    >>> from instructembed.search import Index, build_index
    >>> index = build_index("corpus.jsonl", model=model, instruction="Represent the document for retrieval:", kind="hnsw")
    >>> index.search_texts(model, ["what is a qubit?"], instruction="Represent the question for retrieving documents:", k=5)
"""

from instructembed.search.build import build_index, is_shard_folder
from instructembed.search.index import KINDS, Hit, Index, factory_string

__all__ = ["KINDS", "Hit", "Index", "build_index", "factory_string", "is_shard_folder"]
