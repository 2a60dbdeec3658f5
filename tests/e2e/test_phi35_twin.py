"""The GPU path rehearsed on the CPU engine: a toy-size Phi-3.5-mini-instruct twin (Phi-3.5's
config, tokenizer, chat template and generation config, in the AutoAWQ GEMM format of the
default checkpoint; scripts/models/phi35_twin.py) served through this server with the laptop engine
profile, config/phi35-awq-6gb.yaml, as it is. One override: `--model`, the twin's folder
instead of the hub id (nothing is downloaded here). Everything else of the profile is taken as
written, dtype half and gpu_memory_utilization 0.85 included (on the CPU engine the latter is
a share of host RAM, which vLLM caps at what is free)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server.settings import load_settings

pytestmark = pytest.mark.twin
ROOT = Path(__file__).resolve().parents[2]
PROFILE = "config/phi35-awq-6gb.yaml"
NAME = "Phi-3.5-mini-instruct"  # the profile's served_model_name
CONTEXT = 4096


@pytest.fixture(scope="module")
def twin() -> Path:
    target = load_settings([]).cache_dir / "models" / "phi35-twin-v1"
    setup = subprocess.run(
        ["scripts/models/setup_twin.sh"], cwd=ROOT, check=True, timeout=1200, capture_output=True
    )
    vocab = setup.stdout.decode().strip().splitlines()[-1]
    subprocess.run(
        [".venv-autoawq/bin/python", "scripts/models/phi35_twin.py", str(target), "--vocab", vocab],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        check=True,
        timeout=1200,
    )
    return target


@pytest.fixture(scope="module")
def http(pool, twin):
    server = pool.get("--config", PROFILE, "--model", str(twin))
    with httpx.Client(base_url=server.base_url, timeout=120) as client:
        client.server = server
        yield client


def test_the_twin_is_phi35_at_toy_size_in_autoawq_gemm_format(twin):
    config = json.loads((twin / "config.json").read_text())
    assert config["architectures"] == ["Phi3ForCausalLM"]
    assert config["hidden_size"] // config["num_attention_heads"] == 96  # Phi-3.5's head dim
    assert len(config["rope_scaling"]["long_factor"]) == 48
    assert config["rope_scaling"]["type"] == "longrope"
    assert config["original_max_position_embeddings"] == 4096
    assert config["vocab_size"] == 32064
    assert config["eos_token_id"] == 32000
    quant = config["quantization_config"]
    assert quant["quant_method"] == "awq" and quant["version"] == "gemm"
    assert (quant["bits"], quant["group_size"], quant["zero_point"]) == (4, 128, True)
    generation = json.loads((twin / "generation_config.json").read_text())
    assert 32007 in generation["eos_token_id"]  # <|end|>


def test_the_profile_starts_with_its_context_and_awq(http):
    card = http.get("/v1/models").json()["data"][0]
    assert card["id"] == NAME
    assert card["max_model_len"] == CONTEXT
    log = http.server.log.read_text()
    assert "dtype=half max_model_len=4096 gpu_memory_utilization=0.85" in log
    assert "enforce_eager=True max_num_seqs=8" in log
    assert "quantization=awq" in log


def test_the_model_format_checks_pass(http):
    """The same checks scripts/gpu/gpu_check.sh runs against the real checkpoint: template ids,
    the stop at <|end|> without leaking it, byte-fallback bytes, structured output, the
    inspector, tool calls (not the answers: the twin's weights are random)."""
    result = subprocess.run(
        [sys.executable, "-m", "bench", "phi35_checks", "--base-url", str(http.base_url)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    checks = json.loads(result.stdout.splitlines()[-1])["checks"]
    assert set(checks) == {
        "template",
        "stop_at_end",
        "byte_fallback",
        "structured_output",
        "inspector",
        "tools",
    }


def test_prompts_at_the_context_limit(http):
    fits = http.post(
        "/v1/completions", json={"model": NAME, "prompt": [29871] * (CONTEXT - 1), "max_tokens": 1}
    )
    assert fits.status_code == 200, fits.text
    over = http.post(
        "/v1/completions", json={"model": NAME, "prompt": [29871] * CONTEXT, "max_tokens": 1}
    )
    assert over.status_code == 400
    message = over.json()["error"]["message"]
    assert f"maximum context length is {CONTEXT} tokens" in message
    assert f"{CONTEXT + 1} tokens ({CONTEXT} in the prompt, 1 in the completion)" in message
