"""What a request must satisfy beyond its schema, against the served model."""

from __future__ import annotations

from collections.abc import Sequence

from server.engine.engine import ModelInfo
from server.protocol.common import SamplingFields, SamplingKnobs
from server.protocol.errors import APIError


def check_model(requested: str, info: ModelInfo) -> None:
    if requested != info.id:
        raise APIError(
            f"The model `{requested}` does not exist. This server serves `{info.id}`.",
            status=404,
            param="model",
            code="model_not_found",
        )


def check_logit_bias(fields: SamplingKnobs, info: ModelInfo) -> None:
    for key in fields.logit_bias or {}:
        if not 0 <= int(key) < info.vocab_size:
            raise APIError(
                f"Invalid key in 'logit_bias': {key} is not a token id of this model "
                f"(0 to {info.vocab_size - 1}).",
                param="logit_bias",
                code="invalid_value",
            )


def check_token_ids(ids: Sequence[int], info: ModelInfo, param: str) -> None:
    """Token ids a caller sent must be in the served model's vocabulary (the schema can
    only bound them by the widest vocabulary)."""
    bad = [t for t in ids if not 0 <= t < info.vocab_size]
    if bad:
        raise APIError(
            f"Token ids outside the vocabulary (0 to {info.vocab_size - 1}): {bad[:5]}",
            param=param,
            code="invalid_value",
        )


def check_stream_options(fields: SamplingFields) -> None:
    if fields.stream_options is not None and not fields.stream:
        raise APIError(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
            code="invalid_value",
        )


def check_token_rules(
    fields: SamplingFields, info: ModelInfo, max_tokens: int, constrained: bool
) -> None:
    """vLLM's extensions, against the model and the request's own budget. Under a grammar
    (tools, a response format) the grammar decides where the answer may end and which
    tokens may come, so a floor on the length or a second mask could leave no token."""
    check_token_ids(fields.stop_token_ids or [], info, "stop_token_ids")
    check_token_ids(fields.allowed_token_ids or [], info, "allowed_token_ids")
    if fields.min_tokens > max_tokens:
        raise APIError(
            f"min_tokens is {fields.min_tokens}, more than the {max_tokens} tokens this request "
            "may generate (max_tokens, or the rest of the context).",
            param="min_tokens",
            code="invalid_value",
        )
    if constrained:
        for name in ("min_tokens", "allowed_token_ids", "bad_words"):
            if getattr(fields, name):
                raise APIError(
                    f"{name} cannot be combined with tools or a response format: the grammar "
                    "decides which tokens may come and where the answer ends.",
                    param=name,
                )
