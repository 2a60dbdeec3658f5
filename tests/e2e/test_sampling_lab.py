"""The sampling lab's --quick run on a tiny slice, against the real server: every cell is
written with its parameters, seeds and answers, the figures are drawn, and a cell reruns to
the answer lab.json recorded. The greedy cell's short answer, that is: at temperature 2 a
seeded answer rerun alone came back different in a few tokens — the batch it first ran in
moved bf16 logits enough to flip draws from a nearly flat distribution."""

import json
import subprocess
import sys

import httpx

from bench import QUESTIONS
from tests.e2e.conftest import ROOT


def test_quick_lab_on_a_slice(server, tmp_path):
    out = tmp_path / "lab"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "sampling_lab",
            "--base-url",
            server.base_url,
            "--quick",
            "--questions",
            "6",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "greedy" in result.stdout and "accuracy" in result.stdout
    lab = json.loads((out / "lab.json").read_text())
    assert (out / "correctness.png").stat().st_size > 10_000
    assert (out / "frontier.png").stat().st_size > 10_000
    assert lab["questions"] == 6
    names = [c["name"] for c in lab["cells"]]
    assert names[0] == "greedy" and "min_p 0.1 @ T=2" in names and "preset balanced" in names
    for cell in lab["cells"]:
        summary = cell["summary"]
        assert cell["answer_seeds"] == list(range(1000, 1006))
        assert len(cell["correct"]) == 6
        assert 0 <= summary["accuracy"] <= 1 and 0 < summary["distinct_2"] <= 1
        assert summary["coherence"] < 0
        assert 0 <= summary["cut_share"] <= 1
    greedy = lab["cells"][0]
    assert greedy["summary"]["distinct_answers"] == 1 / 3  # 3 seeds, one answer

    # a cell reruns from what was recorded: its parameters and the question's seed
    cell = greedy
    questions = json.loads(QUESTIONS.read_text())["items"]
    body = {
        "model": lab["model"],
        "messages": [
            {"role": "system", "content": "Answer with one word or a short phrase."},
            {"role": "user", "content": questions[0]["question"]},
        ],
        "max_tokens": lab["plan"]["answer_tokens"],
        "seed": cell["answer_seeds"][0],
        **cell["params"],
    }
    again = httpx.post(f"{server.base_url}/v1/chat/completions", json=body, timeout=60).json()
    assert again["choices"][0]["message"]["content"] == cell["answers"][0]
