"""Schemathesis against the app's own OpenAPI schema, on the real server, through
`python -m bench fuzz` (valid and invalid requests on every route): no 5xx, every error in the
OpenAI envelope, only valid JSON. A short, derandomised run; the long one is the tool's."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_server_errors_and_every_error_is_an_envelope(server):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "fuzz",
            "--base-url",
            server.base_url,
            "--examples",
            "25",
            "--once",
            "--derandomize",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert "routes" in result.stdout
    routes = int(result.stdout.split(" routes,")[0].split()[-1])
    assert routes >= 10
