"""Time from `git clone` to the README's first answer, the way a new user meets it: a fresh
clone of this repository's HEAD and a fresh, empty home directory (no pip/uv/model caches),
then `scripts/serve.sh`, polling the README's curl request until it answers.

    python3 -m bench first_answer          # writes docs/results/first_answer.json
    python3 -m bench first_answer --label before --out docs/results/first_answer_before.json

Every line the setup and the server print is time-stamped; the breakdown splits the run at
the setup's own step lines, the model conversion, the server's start and its first answer.
Runs with the system Python (it needs nothing but the standard library).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import RESULTS, ROOT
from bench.server import free_port, stop

QUESTION = {
    "model": "SmolLM2-135M-Instruct",
    "messages": [{"role": "user", "content": "What is the capital of France?"}],
    "temperature": 0,
}
# Where each phase begins: the first printed line containing the marker (in order).
PHASES = (
    ("environment", "setup: [1/"),
    ("packages", "setup: [2/"),
    ("model conversion", "Preparing the embedded model"),
    ("server and engine start", "Embedded model ready in"),
    ("first request", "engine ready"),
)


@dataclass
class Phase:
    name: str
    seconds: float


def ask(port: int) -> str | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=json.dumps(QUESTION).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["choices"][0]["message"]["content"]
    except OSError:
        return None


def phases(lines: list[tuple[float, str]], answered: float) -> list[Phase]:
    """Split [0, answered] at the first line of each marker; a phase whose marker never
    printed (a cached step) takes no time."""
    starts = []
    for name, marker in PHASES:
        at = next((t for t, line in lines if marker in line), None)
        if at is not None:
            starts.append((name, at))
    out = []
    first = starts[0][1] if starts else answered
    if first > 0:
        out.append(Phase("clone and script start", first))
    for (name, at), following in zip(starts, [*(s for _, s in starts[1:]), answered], strict=True):
        out.append(Phase(name, following - at))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="now")
    parser.add_argument("--out", type=Path, default=RESULTS / "first_answer.json")
    parser.add_argument("--keep", action="store_true", help="keep the clone and home folder")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="first-answer-"))
    home, clone = work / "home", work / "clone"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SAMPLING_"))}
    env.update(HOME=str(home), PYTHONUNBUFFERED="1")
    port = free_port()
    started = time.monotonic()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    server = subprocess.Popen(
        ["scripts/serve.sh", "--port", str(port)],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[tuple[float, str]] = []

    def read() -> None:
        for line in server.stdout:
            lines.append((time.monotonic() - started, line.rstrip()))
            print(f"{lines[-1][0]:7.1f}s  {lines[-1][1]}", flush=True)

    threading.Thread(target=read, daemon=True).start()
    answer = None
    try:
        while answer is None:
            if server.poll() is not None:
                sys.exit(f"serve.sh exited with {server.returncode} before answering")
            time.sleep(0.5)
            if any("Application startup complete" in line for _, line in lines):
                answer = ask(port)
        answered = time.monotonic() - started
    finally:
        stop(server, timeout=60)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result = {
        "label": args.label,
        "seconds": round(answered, 1),
        "answer": answer,
        "phases": [asdict(p) | {"seconds": round(p.seconds, 1)} for p in phases(lines, answered)],
    }
    print(f"\nfirst answer after {answered:.1f} s: {answer!r}")
    for phase in result["phases"]:
        print(f"  {phase['name']:<24} {phase['seconds']:6.1f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
