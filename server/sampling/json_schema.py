"""One check for every JSON Schema a request hands to the grammar backend (response formats
and tool parameters): valid JSON Schema, and compilable by llguidance, the backend this
server runs vLLM's structured outputs with. Refused here, a schema is the caller's 400
before anything streams, not an error event halfway through a stream."""

from __future__ import annotations

import copy
from typing import Any

import llguidance
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from server.protocol.errors import APIError

# Numbers without bounds let a small model write digits until max_tokens ("population":
# 1111…); llguidance turns a minimum and a maximum into a finite pattern. 2**53 - 1 is the
# largest integer every JSON reader keeps exactly (16 digits); numbers get 10**15 (and so
# no exponent form). A bound the schema gives is kept; llguidance compiles up to 10**18 - 1.
INTEGER_BOUND = 2**53 - 1
NUMBER_BOUND = 10**15
WIDEST_BOUND = 10**18 - 1
_ONE = ("items", "additionalProperties", "contains", "not", "if", "then", "else")
_MANY = ("anyOf", "allOf", "oneOf", "prefixItems")
_NAMED = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def _bound(node: dict[str, Any]) -> None:
    kinds = node.get("type")
    kinds = {kinds} if isinstance(kinds, str) else set(kinds or ())
    if not kinds & {"integer", "number"} or "const" in node or "enum" in node:
        return
    bound = INTEGER_BOUND if kinds & {"integer", "number"} == {"integer"} else NUMBER_BOUND

    def given(*keys: str) -> float | None:
        values = [node[k] for k in keys if isinstance(node.get(k), int | float)]
        return None if not values or isinstance(values[0], bool) else values[0]

    low, high = given("minimum", "exclusiveMinimum"), given("maximum", "exclusiveMaximum")
    widest = max([bound, *(min(abs(v), WIDEST_BOUND) for v in (low, high) if v is not None)])
    if low is None:
        node["minimum"] = -widest
    if high is None:
        node["maximum"] = widest


def bounded(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every unbounded integer and number given finite bounds, for the
    grammar (the schema is at most MAX_SCHEMA_DEPTH deep, so recursion is safe)."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        if not isinstance(node, dict):
            return
        _bound(node)
        for key in (*_ONE, *_MANY):
            walk(node.get(key))
        for key in _NAMED:
            if isinstance(node.get(key), dict):
                walk(list(node[key].values()))

    walk(schema)
    return schema


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
        grammar = llguidance.LLMatcher.grammar_from_json_schema(bounded(schema))
        problem = llguidance.LLMatcher.validate_grammar(grammar)
    except (ValueError, TypeError, RuntimeError) as exc:
        problem = str(exc)
    if problem:
        raise APIError(
            f"The JSON schema in {param} cannot be used for constrained decoding: {problem}",
            param=param,
            code="invalid_json_schema",
        )
