"""The project's measurement tools, run as `python -m bench NAME [args]` (bench/cli.py lists
them). Each writes its results under docs/results/ unless told otherwise (--out), so the
docs always show the latest run. Standard library only at import: first_answer runs with the
system Python, and the GPU check runs phi35_checks and gpu_smoke inside vLLM's image."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
# Short factual questions with their accepted answers: the sampling lab's, and the prompts
# compile_numerics answers greedily.
QUESTIONS = Path(__file__).resolve().parent / "lab" / "questions.json"
