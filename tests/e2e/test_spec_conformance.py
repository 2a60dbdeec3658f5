"""Requests drawn from OpenAI's published spec against the real server (`python -m bench
spec_conformance`): no 5xx, and no 4xx outside the table of refused fields and actionable
limits (docs/api/compatibility.md). A short, derandomised run; the tool runs longer ones."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_requests_valid_under_openais_spec_are_answered(server, tmp_path):
    tally = tmp_path / "tally.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "spec_conformance",
            "--base-url",
            server.base_url,
            "--examples",
            "40",
            "--derandomize",
            "--json",
            str(tally),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    counts = json.loads(tally.read_text())
    assert counts["problems"] == []
    answered = sum(n for key, n in counts["statuses"].items() if key.endswith(" 200"))
    # Requests are answered on every endpoint. Over 3,000 draws 30.5% are answered
    # (docs/results/spec_conformance.json; the rest name a refused field or limit); which 120
    # a short run draws shifts with the import graph, so the floor leaves room below that.
    assert counts["requests"] >= 100 and answered >= counts["requests"] // 5
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/responses"):
        assert counts["statuses"].get(f"{path} 200", 0) > 0
