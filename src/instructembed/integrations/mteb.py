"""An instructembed model for the real MTEB: mteb 2.x's encoder protocol, with the paper's instructions.

`InstructorMTEB` implements `mteb.EncoderProtocol` (`encode`, `similarity`, `similarity_pairwise`,
`mteb_model_meta`). For each `encode` call it picks the instruction by the task's name and the prompt
type mteb asks for: documents (`PromptType.document`) get the task's corpus instruction, queries and the
texts of symmetric tasks (no prompt type) its query instruction, exactly as `instructembed evaluate` does.
Instructions come from the paper's set (`InstructionSet.default()`), a user JSON file, or no instruction.

Example:
    >>> import mteb
    >>> from instructembed.integrations.mteb import InstructorMTEB
    >>> model = InstructorMTEB(backend="onnx-int8")              # the default model, int8 on CPU
    >>> mteb.evaluate(model, mteb.get_tasks(tasks=["STSBenchmark", "SciFact"]))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from instructembed.errors import InstructEmbedError
from instructembed.evaluate.instructions import InstructionSet, TaskInstructions, resolve_instructions
from instructembed.evaluate.text_encoder import TextEncoder


class InstructorMTEB:
    """An `Instructor` (any model, any backend) behind mteb 2.x's encoder protocol.

    Args:
        model_name: a model name or folder, as `Instructor` takes it (None: the embedded default model).
        revision: the hub revision, for hub ids.
        device: "cpu", "cuda", ... (default: as `Instructor`).
        backend: "torch", "onnx" or "onnx-int8".
        instructions: "default" (the paper's set), "none", an `InstructionSet`, a dict in the file format,
            or the path of an instructions JSON file ({task: str | {query, corpus}}).
        batch_size: texts per forward pass (mteb's `encode_kwargs["batch_size"]` wins when given).
        model: an already loaded `Instructor` to wrap instead of loading `model_name`.
    """

    def __init__(
        self,
        model_name: str | Path | None = None,
        revision: str | None = None,
        *,
        device: str | None = None,
        backend: str = "torch",
        instructions: InstructionSet | dict | str | Path | None = "default",
        batch_size: int = 32,
        model: Any = None,
        **kwargs: Any,
    ) -> None:
        if model is None:
            from instructembed.engine import Instructor

            model = Instructor(model_name, device=device, backend=backend, revision=revision, **kwargs)
        self.model = model
        self.batch_size = batch_size
        if isinstance(instructions, str) and instructions in ("default", "none"):
            instructions = InstructionSet.default() if instructions == "default" else InstructionSet.none()
        self.instructions = resolve_instructions(instructions)
        self._meta = None

    def instructions_for(self, task_name: str, prompt_type: Any = None) -> str | None:
        """The instruction for texts of `task_name` under mteb's `prompt_type` ("query", "document" or None)."""
        chosen: TaskInstructions = self.instructions.for_task(task_name)
        kind = getattr(prompt_type, "value", prompt_type)
        return (chosen.corpus if kind == "document" else chosen.query) or None

    def encode(
        self, inputs: Any, *, task_metadata: Any, hf_split: str, hf_subset: str, prompt_type: Any = None, **kwargs: Any
    ) -> np.ndarray:
        """(n, d) float32 embeddings of every text in mteb's DataLoader, under the task's instruction."""
        texts: list[str] = []
        for batch in inputs:
            if "text" not in batch:
                raise InstructEmbedError(f"{task_metadata.name}: instructembed embeds text; this task gives {sorted(batch)}")
            texts.extend(batch["text"])
        instruction = self.instructions_for(task_metadata.name, prompt_type)
        # our evaluator's text encoder: each distinct text once, in the same batches as `instructembed evaluate`
        # (int8 graphs quantize activations per batch, so equal batches make equal vectors)
        encoder = TextEncoder(self.model, batch_size=int(kwargs.get("batch_size") or self.batch_size))
        return encoder.encode(texts, instruction)

    def similarity(self, embeddings1: Any, embeddings2: Any) -> torch.Tensor:
        """Cosine similarity matrix (n1, n2)."""
        a, b = _unit(embeddings1), _unit(embeddings2)
        return a @ b.T

    def similarity_pairwise(self, embeddings1: Any, embeddings2: Any) -> torch.Tensor:
        """Cosine similarity of each row pair (n,)."""
        return (_unit(embeddings1) * _unit(embeddings2)).sum(dim=-1)

    @property
    def mteb_model_meta(self) -> Any:
        if self._meta is None:
            from mteb.models import ModelMeta

            name = str(getattr(self.model, "model_name_or_path", "model")).rstrip("/").rsplit("/", 1)[-1]
            backend = getattr(self.model, "backend", "torch")
            self._meta = ModelMeta(
                loader=None, name=f"instructembed/{name}" + ("" if backend == "torch" else f"-{backend}"), revision=None,
                release_date=None, languages=None, n_parameters=None, memory_usage_mb=None,
                max_tokens=int(self.model.max_seq_length), embed_dim=int(self.model.get_sentence_embedding_dimension()),
                license=None, open_weights=True, public_training_code=None, public_training_data=None,
                framework=["PyTorch"] if backend == "torch" else ["ONNX"], similarity_fn_name="cosine",
                use_instructions=True, training_datasets=None,
            )
        return self._meta


def _unit(x: Any) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).float()
    if t.dim() == 1:
        t = t.unsqueeze(0)
    return torch.nn.functional.normalize(t, p=2, dim=-1)
