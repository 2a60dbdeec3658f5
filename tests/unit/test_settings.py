from pathlib import Path

import pytest

from server.settings import DEFAULT_PROFILE, load_settings


def test_default_preset_is_the_cpu_one():
    settings = load_settings([])
    assert settings.config == DEFAULT_PROFILE
    assert settings.model is None
    assert settings.enforce_eager is True
    assert settings.gpu_memory_utilization == pytest.approx(0.3)


def test_precedence_cli_over_env_over_preset(tmp_path: Path, monkeypatch):
    preset = tmp_path / "p.yaml"
    preset.write_text("port: 9000\nmax_model_len: 1024\nsampling_defaults:\n  temperature: 0.7\n")
    monkeypatch.setenv("SAMPLING_SERVER_MAX_MODEL_LEN", "2048")
    settings = load_settings(["--config", str(preset), "--port", "9100"])
    assert settings.port == 9100
    assert settings.max_model_len == 2048
    assert settings.sampling_defaults.temperature == pytest.approx(0.7)
    assert settings.sampling_defaults.top_p == 1.0


def test_nested_env(monkeypatch):
    monkeypatch.setenv("SAMPLING_SERVER_SAMPLING_DEFAULTS__TOP_K", "40")
    assert load_settings([]).sampling_defaults.top_k == 40


def test_missing_preset_is_refused(tmp_path: Path):
    with pytest.raises(SystemExit, match="engine profile not found"):
        load_settings(["--config", str(tmp_path / "nope.yaml")])


def test_unknown_preset_key_is_refused(tmp_path: Path):
    preset = tmp_path / "p.yaml"
    preset.write_text("max_model_lenn: 5\n")
    with pytest.raises(ValueError, match="max_model_lenn"):
        load_settings(["--config", str(preset)])
