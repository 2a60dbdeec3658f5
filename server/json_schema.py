"""One check for every JSON Schema a request hands to the grammar backend (response formats
and tool parameters): valid JSON Schema, and compilable by llguidance, the backend this
server runs vLLM's structured outputs with. Refused here, a schema is the caller's 400
before anything streams, not an error event halfway through a stream."""

from __future__ import annotations

from typing import Any

import llguidance
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from server.api_error import APIError


def check_schema(schema: dict[str, Any], param: str) -> None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise APIError(
            f"Invalid JSON schema in {param}: {exc.message}",
            param=param,
            code="invalid_json_schema",
        ) from exc
    try:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(schema)
        problem = llguidance.LLMatcher.validate_grammar(grammar)
    except (ValueError, TypeError, RuntimeError) as exc:
        problem = str(exc)
    if problem:
        raise APIError(
            f"The JSON schema in {param} cannot be used for constrained decoding: {problem}",
            param=param,
            code="invalid_json_schema",
        )
