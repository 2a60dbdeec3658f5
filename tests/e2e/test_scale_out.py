"""vLLM's own parallelism through this server, on the CPU engine: tensor parallel 2 and data
parallel 2 against one rank, on a tiny Llama (scripts/models/tiny_llama.py: 8 heads, so two ranks
can split them; float32, so that only real differences show), with the core binding the
server derives for this machine. Pipeline parallelism and the Ray executor, which vLLM's
CPU engine cannot run, are refused at start-up."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.scale

PROMPTS = ["The capital of France is", "Once upon a time", "1, 2, 3,", "def main():"]
STEPS = 16
# float32 on both sides: measured differences were below 1e-6.
LOGPROB_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny-llama")
    subprocess.run(
        [sys.executable, "scripts/models/tiny_llama.py", str(out)],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    return out


def serve(pool, model: Path, *extra: str):
    return pool.get(
        "--model", str(model), "--served-model-name", "tiny", "--dtype", "float32", *extra
    )


@dataclass(frozen=True)
class Step:
    token: str
    logprob: float
    margin: float  # the chosen token's logprob minus the runner-up's


def greedy(server) -> list[list[Step]]:
    body = {
        "model": "tiny",
        "prompt": PROMPTS,
        "max_tokens": STEPS,
        "temperature": 0,
        "logprobs": 2,
    }
    response = httpx.post(f"{server.base_url}/v1/completions", json=body, timeout=120)
    assert response.status_code == 200, response.text
    answers = []
    for choice in sorted(response.json()["choices"], key=lambda c: c["index"]):
        logprobs = choice["logprobs"]
        steps = []
        for token, logprob, top in zip(
            logprobs["tokens"], logprobs["token_logprobs"], logprobs["top_logprobs"], strict=True
        ):
            best = sorted(top.values(), reverse=True)
            steps.append(Step(token, logprob, best[0] - best[1] if len(best) > 1 else 0.0))
        answers.append(steps)
    return answers


@pytest.fixture(scope="module")
def one_rank(pool, tiny_llama) -> list[list[Step]]:
    return greedy(serve(pool, tiny_llama))


def agree(ours: list[list[Step]], reference: list[list[Step]]) -> float:
    """The same tokens, except where the reference's two best candidates are closer than the
    tolerance (the random tiny model has such near-ties, and a rank split's other summation
    order may break them the other way on some CPUs: the answers then part there); the
    largest logprob difference before that."""
    assert len({tuple(s.token for s in steps) for steps in reference}) == len(PROMPTS)
    worst = 0.0
    for mine, theirs in zip(ours, reference, strict=True):
        for a, b in zip(mine, theirs, strict=True):
            worst = max(worst, abs(a.logprob - b.logprob))
            if a.token != b.token:
                assert b.margin <= 2 * LOGPROB_TOLERANCE, (a, b)
                break
    return worst


def test_tensor_parallel_2_equals_one_rank(pool, tiny_llama, one_rank):
    server = serve(pool, tiny_llama, "--tensor-parallel-size", "2")
    assert agree(greedy(server), one_rank) <= LOGPROB_TOLERANCE
    log = server.log.read_text()
    assert "'VLLM_CPU_OMP_THREADS_BIND': '0|1'" in log  # derived here: one NUMA node


def _replica_cpu_seconds(server) -> dict[str, float]:
    """CPU time of each data-parallel engine (its engine-core process and its worker)."""
    replicas = {}
    for process in psutil.Process(server.process.pid).children(recursive=True):
        title = " ".join(process.cmdline())
        if "EngineCore_DP" in title:
            tree = [process, *process.children(recursive=True)]
            replicas[title] = sum(sum(p.cpu_times()[:2]) for p in tree)
    return replicas


def test_data_parallel_2_serves_on_both_replicas(pool, tiny_llama, one_rank):
    server = serve(pool, tiny_llama, "--data-parallel-size", "2")
    assert agree(greedy(server), one_rank) <= LOGPROB_TOLERANCE
    before = _replica_cpu_seconds(server)
    assert len(before) == 2, before

    def ask(i: int) -> int:
        body = {
            "model": "tiny",
            "prompt": f"Request {i}:",
            "max_tokens": 64,
            "ignore_eos": True,
            "temperature": 0,
        }
        response = httpx.post(f"{server.base_url}/v1/completions", json=body, timeout=120)
        return response.status_code

    with ThreadPoolExecutor(16) as clients:
        assert set(clients.map(ask, range(32))) == {200}
    after = _replica_cpu_seconds(server)
    worked = {name: after[name] - before[name] for name in before}
    assert all(seconds > 0.5 for seconds in worked.values()), worked


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--pipeline-parallel-size", "2"), "pipeline_parallel_size > 1 does not work"),
        (("--distributed-executor-backend", "ray"), "'ray' does not work"),
    ],
)
def test_what_the_cpu_engine_cannot_run_is_refused_at_start_up(pool, flags, message):
    pool.close()  # no engine beside this one, even though it will not start one
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "server", "--port", "1", *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert message in result.stderr, result.stderr[-2000:]
    assert "EngineCore" not in result.stderr  # refused before any engine process
    assert time.monotonic() - started < 60
