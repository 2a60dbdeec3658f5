"""The AWQ path end to end on the CPU: quantize the embedded model with llm-compressor
(scripts/models/quantize_awq.py, in its own environment; cached between runs), then serve the
4-bit checkpoint with vLLM through this server."""

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from server.engine import embedded_model
from server.settings import load_settings

pytestmark = pytest.mark.awq
ROOT = Path(__file__).resolve().parents[2]
NAME = "SmolLM2-135M-Instruct-AWQ"


@pytest.fixture(scope="module")
def awq_checkpoint() -> Path:
    cache_dir = load_settings([]).cache_dir
    source = embedded_model.prepare(cache_dir)
    target = cache_dir / "models" / f"{NAME}-g64-v1"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run(["scripts/models/setup_awq.sh"], cwd=ROOT, check=True, timeout=1200)
    subprocess.run(
        [
            ".venv-awq/bin/python",
            "scripts/models/quantize_awq.py",
            str(source),
            str(target),
            "--group-size",
            "64",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=1200,
    )
    return target


@pytest.fixture(scope="module")
def awq_server(pool, awq_checkpoint):
    return pool.get("--model", str(awq_checkpoint), "--served-model-name", NAME)


def test_the_checkpoint_is_4_bit_awq(awq_checkpoint):
    import json

    config = json.loads((awq_checkpoint / "config.json").read_text())
    weights = config["quantization_config"]["config_groups"]["group_0"]["weights"]
    assert (weights["num_bits"], weights["group_size"], weights["symmetric"]) == (4, 64, False)
    size = sum(p.stat().st_size for p in awq_checkpoint.glob("*.safetensors"))
    assert size < 200 * 2**20  # vs 538 MB for the float32 source


def test_vllm_serves_the_awq_checkpoint(awq_server):
    with httpx.Client(base_url=awq_server.base_url, timeout=120) as http:
        assert http.get("/v1/models").json()["data"][0]["id"] == NAME
        answer = http.post(
            "/v1/chat/completions",
            json={
                "model": NAME,
                "messages": [{"role": "user", "content": "What is the capital of France?"}],
                "temperature": 0,
                "max_tokens": 16,
                "logprobs": True,
                "top_logprobs": 2,
            },
        ).json()
    assert "Paris" in answer["choices"][0]["message"]["content"]
    assert answer["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    log = awq_server.log.read_text()
    assert "quantization=compressed-tensors" in log
