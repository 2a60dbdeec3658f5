"""Every /v1 route declares in /openapi.json the errors it can answer, in OpenAI's envelope:
400 where it reads a body or query parameters, 401 where it takes the API key, 503 where it
needs the engine (read from the route's own dependencies), and never FastAPI's 422, which
this server does not answer."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.utils import get_flat_dependant
from fastapi.routing import APIRoute

from server.http.app import create_app
from server.http.auth import require_api_key
from server.http.routes import _services
from server.settings import load_settings

ENVELOPE = {"$ref": "#/components/schemas/ErrorResponse"}


async def _never_started(metrics: object) -> object:
    raise AssertionError("the schema needs no engine")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    settings = load_settings(["--no-store", "--api-key", "k"])
    return create_app(settings, _never_started)  # type: ignore[arg-type]


def expected_statuses(route: APIRoute) -> set[str]:
    flat = get_flat_dependant(route.dependant)
    calls = {dependency.call for dependency in flat.dependencies}
    expected = set()
    if route.body_field is not None or flat.query_params:
        expected.add("400")
    if require_api_key in calls:
        expected.add("401")
    if _services in calls:
        expected.add("503")
    return expected


def v1_operations(app: FastAPI) -> list[tuple[str, APIRoute, dict[str, Any]]]:
    paths = app.openapi()["paths"]
    return [
        (f"{method} {route.path}", route, paths[route.path_format][method.lower()])
        for route in app.routes
        if isinstance(route, APIRoute) and route.include_in_schema and route.path.startswith("/v1")
        for method in route.methods
    ]


def test_the_routes_and_their_needs_are_read(app):
    needs = {label: expected_statuses(route) for label, route, _ in v1_operations(app)}
    assert needs["POST /v1/chat/completions"] == {"400", "401", "503"}
    assert needs["GET /v1/sampling/presets"] == {"401"}
    assert needs["DELETE /v1/responses/{response_id}"] == {"401", "503"}
    assert len(needs) >= 20


def test_every_v1_route_declares_its_errors_in_the_envelope(app):
    missing = []
    for label, route, operation in v1_operations(app):
        for status in sorted(expected_statuses(route)):
            declared = operation["responses"].get(status, {})
            schema = declared.get("content", {}).get("application/json", {}).get("schema")
            if schema != ENVELOPE or not declared.get("description"):
                missing.append(f"{label}: {status}")
    assert not missing, "errors not declared with the envelope:\n" + "\n".join(missing)


def test_no_route_declares_a_422(app):
    """Validation errors are answered 400 in the envelope (server/http/error_handlers.py)."""
    declaring = [label for label, _, op in v1_operations(app) if "422" in op["responses"]]
    assert declaring == []
    assert "HTTPValidationError" not in app.openapi()["components"]["schemas"]


def test_the_envelope_schema_is_openai_error_shape(app):
    schemas = app.openapi()["components"]["schemas"]
    assert schemas["ErrorResponse"]["required"] == ["error"]
    detail = schemas["ErrorDetail"]
    assert set(detail["properties"]) == {"message", "type", "param", "code"}
    assert set(detail["required"]) == {"message", "type"}
