"""Models: `GET /v1/models` and `GET /v1/models/{id}`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    max_model_len: int
    logprobs_mode: Literal["raw", "processed"]


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]
