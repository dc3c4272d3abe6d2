"""Request and response bodies: OpenAI's embeddings schema plus per-input instructions, TEI-style `/embed`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator
from pydantic_core import PydanticCustomError


class InstructedText(BaseModel):
    """One input carrying its own instruction; it overrides the request's `instruction`."""

    model_config = ConfigDict(extra="forbid")
    instruction: str = ""
    text: str


InputItem = str | InstructedText


class EmbeddingRequest(BaseModel):
    """`POST /v1/embeddings`: OpenAI's body, with `instruction` for every plain-string input."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"input": ["3D ActionSLAM"], "instruction": "Represent the Science title:", "model": "default"},
                {"input": [{"instruction": "Represent the question for retrieval:", "text": "Where do yams store food?"}]},
            ]
        }
    )
    input: InputItem | list[InputItem]
    model: str | None = None  # when given, the served model's id (404 model_not_found otherwise)
    instruction: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: StrictInt | None = Field(default=None, ge=1)  # strict: `true` and `"8"` are refused
    user: str | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _no_token_ids(cls, value: Any) -> Any:
        """OpenAI also takes token-id arrays; this server embeds text (its own tokenizer places the instruction)."""
        if isinstance(value, list) and any(isinstance(v, list) or isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise PydanticCustomError(
                "token_ids", "token-id arrays are not supported: send text (a string, a list of strings or {instruction, text} objects)"
            )
        return value


class EmbeddingObject(BaseModel):
    object: Literal["embedding"] = "embedding"
    embedding: list[float] | str
    index: int


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingObject]
    model: str
    usage: Usage


class EmbedRequest(BaseModel):
    """`POST /embed` (TEI-style): returns a bare list of vectors."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"inputs": ["3D ActionSLAM"], "instruction": "Represent the Science title:"}]}
    )
    inputs: InputItem | list[InputItem]
    instruction: str | None = None
    normalize: bool = True
    truncate: bool = True


class SimilarityRequest(BaseModel):
    """`POST /similarity`: cosine similarity of each `[a, b]` pair, each side with its own instruction."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pairs": [[
                        {"instruction": "Represent the question for retrieval:", "text": "Where do yams store food?"},
                        {"instruction": "Represent the document for retrieval:", "text": "Yams store food in tubers."},
                    ]],
                }
            ]
        }
    )
    pairs: list[tuple[InputItem, InputItem]] = Field(min_length=1)
    instruction: str | None = None


class SimilarityResponse(BaseModel):
    object: Literal["list"] = "list"
    scores: list[float]
    model: str
    usage: Usage


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "instructembed"
    dimensions: int
    max_seq_length: int


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail
