"""The tutorial's script (docs/sampling/tutorial.py) on the running server: every step
printed and drawn, and the distributions behaving as the theory says. Only what holds on any
machine and model is checked, never the text (another CPU rounds differently)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from docs.sampling.tutorial import SETTINGS, SHOWN

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "sampling" / "tutorial.py"
SLACK = 1e-6  # float32 probabilities summed


@pytest.fixture(scope="module")
def tutorial(server, tmp_path_factory) -> tuple[str, Path, dict[str, dict[str, Any]]]:
    out = tmp_path_factory.mktemp("tutorial")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--base-url", server.base_url, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    summary = json.loads((out / "tutorial.json").read_text())
    steps = {step["setting"]["name"]: step for step in summary["steps"]}
    return done.stdout, out, steps


def test_each_step_is_printed_and_drawn(tutorial):
    stdout, out, steps = tutorial
    for number, setting in enumerate(SETTINGS, 1):
        assert f"[{number}/{len(SETTINGS)}] {setting.name}: " in stdout
    assert list(steps) == [setting.name for setting in SETTINGS]
    figures = sorted(out.glob("*.png"))
    assert len(figures) == len(SETTINGS)
    for figure in figures:
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert figure.stat().st_size > 5_000


def test_the_distributions_are_distributions(tutorial):
    for step in tutorial[2].values():
        assert len(step["tokens"]) == len(step["raw"]) == len(step["final"]) == SHOWN
        assert 0 < sum(step["raw"]) <= 1 + SLACK
        assert 0 < sum(step["final"]) <= 1 + SLACK
        assert step["raw"] == sorted(step["raw"], reverse=True)
        assert step["first_token"] in step["tokens"] or step["setting"]["temperature"] > 0


def test_greedy_takes_the_most_likely_token_with_certainty(tutorial):
    greedy = tutorial[2]["greedy"]
    assert greedy["first_token"] == greedy["tokens"][0]
    assert greedy["final"][0] > 0.99


def test_temperature_spreads_the_distribution(tutorial):
    steps = tutorial[2]
    cold, plain, hot = (steps[f"temperature {t}"] for t in ("0.5", "1", "1.5"))
    assert cold["entropy_final_bits"] <= plain["entropy_final_bits"] + SLACK
    assert plain["entropy_final_bits"] <= hot["entropy_final_bits"] + SLACK
    assert max(cold["final"]) + SLACK >= max(plain["final"]) >= max(hot["final"]) - SLACK


def test_the_filters_keep_what_they_promise(tutorial):
    steps = tutorial[2]

    def kept(name: str) -> int:
        return sum(p > 0 for p in steps[name]["final"])

    assert 1 <= kept("top-k 5") <= 5
    # a flatter distribution needs more tokens to reach the same top-p mass
    assert kept("top-p 0.9") <= kept("top-p 0.9, temperature 1.5")
    hot = steps["min-p 0.1, temperature 1.5"]
    assert kept("min-p 0.1, temperature 1.5") <= kept("temperature 1.5")
    assert hot["final"][0] > 0
