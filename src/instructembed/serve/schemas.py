"""Request and response bodies: OpenAI's embeddings schema plus per-input instructions, TEI-style `/embed`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    model: str | None = None
    instruction: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None


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
