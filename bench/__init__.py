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


def provenance(tool: str, argv: list[str] | None) -> dict[str, str]:
    """What a result file records of how it was made: the command, the date, the machine."""
    import os
    import platform
    import sys
    from datetime import UTC, datetime

    from server.engine.fingerprint import cpu_kernel_class

    args = argv if argv is not None else sys.argv[1:]
    return {
        "command": " ".join(["python -m bench", tool, *args]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"kernel class {cpu_kernel_class()}",
    }
