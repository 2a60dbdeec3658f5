"""A model whose own context is shorter than the preset's max_model_len (the CPU preset's 8192
is written for the embedded model) starts with its own length instead of failing."""

import json
from pathlib import Path

import httpx
import pytest

from server import embedded_model
from server.settings import load_settings

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


def test_the_preset_context_is_a_cap_not_a_demand(pool, short_model):
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
