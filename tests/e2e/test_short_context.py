"""A model whose own context is shorter than the engine profile's max_model_len (the CPU
profile's 8192 is written for the embedded model) starts with its own length instead of failing."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from server.engine import embedded_model
from server.settings import load_settings
from tests.e2e.conftest import ROOT, _free_port

pytestmark = pytest.mark.short_context
NAME = "SmolLM2-135M-short"
OWN_CONTEXT = 2048


@pytest.fixture(scope="module")
def short_model(tmp_path_factory) -> Path:
    """The embedded model's files, with a config that says 2048 positions."""
    source = embedded_model.prepare(load_settings([]).cache_dir)
    folder = tmp_path_factory.mktemp("short-context")
    for item in source.iterdir():
        if item.name != "config.json":
            (folder / item.name).symlink_to(item)
    config = json.loads((source / "config.json").read_text())
    assert config["max_position_embeddings"] > OWN_CONTEXT
    config["max_position_embeddings"] = OWN_CONTEXT
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_the_profile_context_is_a_cap_not_a_demand(pool, short_model):
    assert load_settings([]).max_model_len == 8192  # the CPU preset, unchanged
    server = pool.get("--model", str(short_model), "--served-model-name", NAME)
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        card = http.get("/v1/models").json()["data"][0]
        assert card["max_model_len"] == OWN_CONTEXT
        ok = http.post(
            "/v1/chat/completions",
            json={"model": NAME, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3},
        )
        assert ok.status_code == 200
        too_long = http.post(
            "/v1/completions",
            json={"model": NAME, "prompt": [1] * OWN_CONTEXT, "max_tokens": 1},
        )
        assert too_long.status_code == 400
        assert f"maximum context length is {OWN_CONTEXT}" in too_long.json()["error"]["message"]
    assert "using 2048" in server.log.read_text()


def test_sigterm_while_the_model_loads_stops_at_once(pool, short_model, tmp_path):
    """Not after the whole load: the engine's processes are stopped and the server exits.
    (In this phase's file so that it runs last, after the pool's server is stopped.)"""
    pool.close()
    port = _free_port()
    with open(tmp_path / "server.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "--port", str(port), "--model", str(short_model)],
            cwd=ROOT,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        # Loading: the engine's processes exist and /health answers 503 (the engine may start
        # before or after the server listens).
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None and time.monotonic() < deadline
            engine = psutil.Process(process.pid).children(recursive=True)
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code
            except httpx.TransportError:
                status = None
            assert status != 200, "the model loaded before the test could stop it"
            if engine and status == 503:
                break
            time.sleep(0.1)
        stopped = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        took = time.monotonic() - stopped
    finally:
        if process.poll() is None:
            process.kill()
    _, alive = psutil.wait_procs(engine, timeout=10)
    assert not alive, alive
    assert took < 10, f"took {took:.1f} s"  # stopping now takes ~3 s; the rest of a load ~20 s
