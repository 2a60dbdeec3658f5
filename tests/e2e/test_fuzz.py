"""Schemathesis against the app's own OpenAPI schema, on the real server: whatever it sends,
no 5xx, every error in the OpenAI envelope, only valid JSON."""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

# Sizes a valid request may ask for, clamped so a fuzzed request never generates for long.
EXAMPLES = 25
CLAMPED = {"max_tokens": 4, "max_completion_tokens": 4, "max_output_tokens": 4, "steps": 2}


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


def test_no_server_errors_and_every_error_is_an_envelope(server):
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        fuzz(operation, server.base_url)()


def fuzz(operation, base_url):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=operation.as_strategy())
    def check(case):
        case.body = clamp(case.body)
        response = case.call(base_url=base_url, timeout=120)
        assert response.status_code < 500, (operation.label, response.text)
        if response.headers.get("content-type", [""])[0].startswith("application/json"):
            body = json.loads(response.text, parse_constant=_no_constants)
            if response.status_code >= 400:
                assert set(body) == {"error"}, (operation.label, body)
                assert {"message", "type", "param", "code"} <= set(body["error"])

    return check


def _no_constants(name):
    pytest.fail(f"{name} in JSON")
