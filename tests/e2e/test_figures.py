"""The explainer's figures, written by one command against the running server."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {"greedy", "temperature", "top_k", "top_p", "top_p_temperature", "min_p"}


def test_one_command_writes_every_figure(server, tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "figures",
            "--base-url",
            server.base_url,
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        check=True,
        timeout=600,
    )
    written = {p.stem: p for p in tmp_path.glob("*.png")}
    assert set(written) == FIGURES
    for path in written.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 10_000
