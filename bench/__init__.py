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
    """What a result file records of how it was made: the command, the date, the machine
    (cores, CPU model, kernel class) and where its packages came from (a local mirror makes
    set-up timings shorter than a user's)."""
    import os
    import platform
    import sys
    from datetime import UTC, datetime

    from server.engine.fingerprint import cpu_kernel_class

    args = argv if argv is not None else sys.argv[1:]
    return {
        "command": " ".join(["python -m bench", tool, *args]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {cpu_model() or platform.machine()}, "
        f"kernel class {cpu_kernel_class()}",
        "packages": package_sources(),
    }


def cpu_model() -> str | None:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else None


def package_sources() -> str:
    """pip's package sources here (scripts/uv_pip.py hands the same to uv): a local mirror
    when a find-links or index URL is a local path or file:// URL."""
    import subprocess
    import sys

    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout.splitlines()
    sources = [
        line.split("=", 1)[1].strip("'")
        for line in listing
        if any(key in line for key in (".find-links=", ".index-url=", ".extra-index-url="))
    ]
    local = list(dict.fromkeys(s for s in sources if s.startswith(("/", "file:"))))
    if local:
        return "local mirror: " + " ".join(local)
    return "package index: " + (" ".join(sources) or "PyPI")
