"""Schemathesis against the app's own OpenAPI schema, on the real server: whatever it sends,
no 5xx, every error in the OpenAI envelope, only valid JSON."""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

# Sizes a valid request may ask for, clamped so a fuzzed request never generates for long.
CLAMPED = {"max_tokens": 4, "max_completion_tokens": 4, "max_output_tokens": 4, "steps": 2}


@pytest.fixture
def api_schema(server):
    return schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


def clamp(body):
    if isinstance(body, dict):
        for key, cap in CLAMPED.items():
            if isinstance(body.get(key), int) and not isinstance(body.get(key), bool):
                body[key] = max(min(body[key], cap), -1)
        if isinstance(body.get("n"), int) and body["n"] > 2:
            body["n"] = 2
        if isinstance(body.get("top_candidates"), int):
            body["max_candidates"] = 50
    return body


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_every_error_is_an_envelope(case, server):
    case.body = clamp(case.body)
    response = case.call(base_url=server.base_url, timeout=120)
    assert response.status_code < 500, response.text
    content_type = response.headers.get("content-type", [""])
    if isinstance(content_type, list):
        content_type = content_type[0]
    if content_type.startswith("application/json"):
        body = json.loads(response.text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
        if response.status_code >= 400:
            assert set(body) == {"error"}
            assert {"message", "type", "param", "code"} <= set(body["error"])
