"""Adapters for LangChain and LlamaIndex (optional extras), in-process or against `instructembed serve`.

Import them from their modules, so neither framework is imported unless used:
    from instructembed.integrations.langchain import InstructEmbeddings
    from instructembed.integrations.llamaindex import InstructEmbedding
"""

from instructembed.integrations.source import EmbeddingSource

__all__ = ["EmbeddingSource"]
