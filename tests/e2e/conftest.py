"""One real server (and so one vLLM engine) for the whole test session, started the way the
README starts it, on a free port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningServer:
    def __init__(
        self, args: tuple[str, ...], process: subprocess.Popen[bytes], base_url: str, log: Path
    ) -> None:
        self.args = args
        self.process = process
        self.base_url = base_url
        self.log = log
        self.saw_loading = False

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"server exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill_tree()
                pytest.fail(f"server not ready in {READY_TIMEOUT_S} s:\n{self.log_tail()}")
            try:
                status = httpx.get(f"{self.base_url}/health", timeout=2).status_code
            except httpx.TransportError:
                status = None
            if status == 503:
                self.saw_loading = True
            if status == 200:
                self.children = psutil.Process(self.process.pid).children(recursive=True)
                return
            time.sleep(0.5)

    def stop(self) -> None:
        """Stopping must take the engine's worker processes with it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill_tree()
                pytest.fail("server did not stop within 60 s of SIGINT")
        self.check_no_engine_left()

    def kill_tree(self) -> None:
        """A server that will not stop must not leave its engine behind either."""
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(self.process.pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        self.process.kill()
        self.process.wait()

    def check_no_engine_left(self) -> None:
        assert self.children, "the engine runs in worker processes"
        _, alive = psutil.wait_procs(self.children, timeout=30)
        assert not alive, f"engine processes left behind: {alive}"


class ServerPool:
    """At most one server (one engine) at a time: asking for other arguments stops the
    running one first. Tests that need another configuration run last (see
    pytest_collection_modifyitems), so the suite starts an engine at most twice."""

    def __init__(self, logs: Path) -> None:
        self._logs = logs
        self._current: RunningServer | None = None

    def get(self, *args: str) -> RunningServer:
        if self._current is not None and self._current.args == args:
            return self._current
        self.close()
        port = _free_port()
        log = self._logs / f"server-{port}.log"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "server", "--port", str(port), *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._current = RunningServer(args, process, f"http://127.0.0.1:{port}", log)
        self._current.wait_ready()
        return self._current

    def close(self) -> None:
        if self._current is not None:
            current, self._current = self._current, None
            current.stop()

    def forget(self) -> None:
        """For a test that stopped the server itself."""
        self.close()


API_KEY = "test-key"
OTHER_KEY = "other-key"
# The second server: processed logprobs, the access controls and limits switched on, and a
# response store on PostgreSQL (the URL is added by the fixture).
PROCESSED = (
    "--logprobs-mode",
    "processed",
    "--api-key",
    API_KEY,
    "--api-keys",
    f'["{OTHER_KEY}"]',
    "--max-concurrent-requests",
    "4",
    "--max-tokens-limit",
    "512",
    "--max-prompt-tokens",
    "2048",
    "--cors-origins",
    '["http://allowed.example"]',
    "--log-format",
    "json",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Raw-mode tests first, then the one that stops the raw server, then the processed
    server's tests, then the one that kills its engine, then the other models' (AWQ, short
    context, the Phi-3.5 twin, the parallel runs of a tiny model), and last the one that
    kill -9s a server with stored responses in flight."""

    def phase(item: pytest.Item) -> tuple[bool, bool, bool, bool]:
        kills = item.get_closest_marker("kills_server") is not None
        awq = any(item.get_closest_marker(m) for m in ("awq", "short_context", "twin", "scale"))
        processed = item.get_closest_marker("processed") is not None
        return kills, awq, processed, item.get_closest_marker("stops_server") is not None

    items.sort(key=phase)


@pytest.fixture(scope="session")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    servers = ServerPool(tmp_path_factory.mktemp("servers"))
    yield servers
    servers.close()


@pytest.fixture(scope="session")
def server(pool: ServerPool) -> RunningServer:
    return pool.get()


@pytest.fixture
def processed_server(pool: ServerPool, served_postgres_url: str) -> RunningServer:
    return pool.get(*PROCESSED, "--store-url", served_postgres_url)


@pytest.fixture(scope="session")
def client(server: RunningServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="session")
def async_client(server: RunningServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="session")
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def model(client: openai.OpenAI) -> str:
    return client.models.list().data[0].id


STORY = [{"role": "user", "content": "Write a story about a dragon."}]
AGREEMENT_PARAMS = {"temperature": 0.8, "top_p": 0.9, "seed": 5, "top_k": 10, "min_p": 0.05}
AGREEMENT_STEPS = 8


# Each extra sampler alone and all together, for engine = inspector on both servers.
SAMPLER_CASES = {
    "dry": {"temperature": 0.8, "seed": 5, "dry_multiplier": 0.8, "dry_allowed_length": 1},
    "top_n_sigma": {"temperature": 1.5, "seed": 5, "top_n_sigma": 1.0},
    "typ_p": {"temperature": 0.9, "seed": 5, "typical_p": 0.5},
    "xtc": {"temperature": 1.0, "seed": 5, "xtc_probability": 1.0, "xtc_threshold": 0.05},
    "mirostat": {"temperature": 1.0, "seed": 5, "mirostat": 2, "mirostat_tau": 3.0},
    "combined": {
        "temperature": 0.9,
        "seed": 5,
        "min_p": 0.02,
        "top_k": 40,
        "top_p": 0.95,
        "dry_multiplier": 0.8,
        "top_n_sigma": 1.5,
        "typical_p": 0.9,
        "xtc_probability": 0.5,
        "xtc_threshold": 0.1,
    },
    # Orders vLLM's sampler cannot run: the whole chain in this server's processor.
    "llama.cpp order": {
        "temperature": 0.9,
        "seed": 5,
        "top_k": 40,
        "top_p": 0.9,
        "min_p": 0.05,
        "samplers": "llama.cpp",
    },
    "custom order": {
        "temperature": 1.2,
        "seed": 5,
        "top_k": 20,
        "min_p": 0.1,
        "xtc_probability": 1.0,
        "xtc_threshold": 0.05,
        "dry_multiplier": 0.8,
        "samplers": ["top_k", "xtc", "temperature", "min_p", "dry"],
    },
    "adaptive_p": {"temperature": 1.0, "seed": 5, "min_p": 0.05, "adaptive_target": 0.3},
}
NATIVE_STAGES = ["min_p", "top_n_sigma", "typ_p", "xtc", "mirostat", "top_k", "top_p"]
SAMPLER_STEPS = 12


@pytest.fixture(scope="session")
def sampler_inspections(http: httpx.Client, model: str) -> dict[str, dict]:
    """Inspections on the raw-mode server, kept for the processed-mode comparison."""
    found = {}
    for name, params in SAMPLER_CASES.items():
        body = {"model": model, "messages": STORY, "steps": SAMPLER_STEPS, **params}
        response = http.post("/v1/sampling/inspect", json=body)
        assert response.status_code == 200, response.text
        found[name] = response.json()
    return found


@pytest.fixture(scope="session")
def raw_inspection(http: httpx.Client, model: str) -> dict:
    """An inspection on the raw-mode server, kept for the processed-mode comparison (a
    raw-mode test asks for it first, so no server restarts for it)."""
    body = {"model": model, "messages": STORY, "steps": AGREEMENT_STEPS, **AGREEMENT_PARAMS}
    response = http.post("/v1/sampling/inspect", json=body)
    assert response.status_code == 200, response.text
    return response.json()


# Post-sampling logprobs with allowed_token_ids: replayed on the raw server, reported by the
# engine itself on the processed one (test_processed compares the two).
ALLOWED_REQUEST = {
    "messages": STORY,
    "max_tokens": 6,
    "logprobs": True,
    "top_logprobs": 10,
    "temperature": 0.9,
    "top_p": 0.95,
    "seed": 7,
    "allowed_token_ids": list(range(300, 340)),
}


@pytest.fixture(scope="session")
def replayed_allowed(http: httpx.Client, model: str) -> dict:
    body = {"model": model, **ALLOWED_REQUEST, "logprobs_mode": "processed"}
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    return response.json()
