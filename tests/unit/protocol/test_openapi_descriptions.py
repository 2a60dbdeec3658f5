"""Every request field the server takes is described in its /openapi.json (and so in /docs),
from the request models it validates with: each property of each request body, nested ones
included, and each query and path parameter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from server.http.app import create_app
from server.settings import load_settings

REF_PREFIX = "#/components/schemas/"
# The keywords under which a schema holds further schemas.
SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
SUBSCHEMA_ONE = ("items", "additionalProperties", "not")


async def _never_started(metrics: object) -> object:
    raise AssertionError("the schema needs no engine")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    settings = load_settings(["--no-store", "--api-key", "k"])
    return create_app(settings, _never_started).openapi()  # type: ignore[arg-type]


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def undescribed(
    schema: dict[str, Any], where: str, components: dict[str, Any], seen: set[str]
) -> Iterator[str]:
    """The properties under `schema` (following $ref into the components, once each) that
    have no description."""
    ref = schema.get("$ref")
    if ref:
        name = ref.removeprefix(REF_PREFIX)
        if name not in seen:
            seen.add(name)
            yield from undescribed(components[name], name, components, seen)
    for key, child in schema.get("properties", {}).items():
        if not child.get("description"):
            yield f"{where}.{key}"
        yield from undescribed(child, f"{where}.{key}", components, seen)
    for keyword in SUBSCHEMA_LISTS:
        for member in schema.get(keyword, []):
            yield from undescribed(member, where, components, seen)
    for keyword in SUBSCHEMA_ONE:
        child = schema.get(keyword)
        if isinstance(child, dict):
            yield from undescribed(child, where, components, seen)


def body_schemas(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for label, operation in operations(document):
        for content in operation.get("requestBody", {}).get("content", {}).values():
            yield label, content["schema"]


def test_the_routes_with_bodies_are_found(document):
    labels = {label for label, _ in body_schemas(document)}
    assert {"POST /v1/chat/completions", "POST /v1/responses", "POST /v1/conversations"} <= labels


def test_every_request_body_property_has_a_description(document):
    components = document["components"]["schemas"]
    seen: set[str] = set()
    missing = [
        f"{label}: {field}"
        for label, schema in body_schemas(document)
        for field in undescribed(schema, label, components, seen)
    ]
    assert not missing, f"{len(missing)} request fields without a description:\n" + "\n".join(
        missing
    )


def test_every_parameter_has_a_description(document):
    missing = [
        f"{label}: {parameter['in']} {parameter['name']}"
        for label, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert not missing, "parameters without a description:\n" + "\n".join(missing)


def test_the_walk_reaches_nested_models(document):
    """The message parts and tool formats are reached through their $refs and unions."""
    components = document["components"]["schemas"]
    stripped = {name: _without_descriptions(schema) for name, schema in components.items()}
    seen: set[str] = set()
    found = {
        field
        for label, schema in body_schemas(document)
        for field in undescribed(schema, label, stripped, seen)
    }
    assert {"TextContentPart.text", "GrammarInput.definition", "InputMessage.role"} <= found


def _without_descriptions(schema: Any) -> Any:
    """The schema with its descriptions taken out (a property named "description" stays)."""
    if isinstance(schema, list):
        return [_without_descriptions(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    stripped = {k: _without_descriptions(v) for k, v in schema.items() if k != "description"}
    if isinstance(schema.get("properties"), dict):
        stripped["properties"] = {
            k: _without_descriptions(v) for k, v in schema["properties"].items()
        }
    return stripped
