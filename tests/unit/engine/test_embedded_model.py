import time
from pathlib import Path

import pytest

from server.engine import embedded_model


def test_an_interrupted_conversion_leaves_nothing_a_later_start_would_use(
    tmp_path: Path, monkeypatch
):
    def interrupted(source: Path, out: Path) -> None:
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(embedded_model, "_convert", interrupted)
    monkeypatch.setattr(embedded_model, "gguf_path", lambda: tmp_path / "x.gguf")
    with pytest.raises(KeyboardInterrupt):
        embedded_model.prepare(tmp_path)
    assert not embedded_model.is_prepared(tmp_path)
    assert not embedded_model.model_dir(tmp_path).exists()
    leftovers = [p for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


def test_a_finished_conversion_is_reused(tmp_path: Path, monkeypatch):
    calls = []

    def convert(source: Path, out: Path) -> None:
        calls.append(out)
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(embedded_model, "_convert", convert)
    monkeypatch.setattr(embedded_model, "gguf_path", lambda: tmp_path / "x.gguf")
    first = embedded_model.prepare(tmp_path)
    second = embedded_model.prepare(tmp_path)
    assert first == second == embedded_model.model_dir(tmp_path)
    assert (first / "config.json").is_file()
    assert len(calls) == 1


def test_the_package_ships_the_gguf():
    assert embedded_model.gguf_path().stat().st_size > 50_000_000


def test_an_older_conversion_is_replaced(tmp_path: Path, monkeypatch):
    old = tmp_path / "models" / f"{embedded_model.MODEL_NAME}-v1"
    old.mkdir(parents=True)
    (old / embedded_model.COMPLETE_MARKER).write_text("float32 weights\n")
    monkeypatch.setattr(embedded_model, "_convert", lambda source, out: None)
    monkeypatch.setattr(embedded_model, "gguf_path", lambda: tmp_path / "x.gguf")
    assert embedded_model.model_dir(tmp_path) != old
    embedded_model.prepare(tmp_path)
    assert embedded_model.is_prepared(tmp_path)
    assert not old.exists()


def test_no_background_conversion_once_prepared(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(embedded_model, "_convert", lambda source, out: None)
    monkeypatch.setattr(embedded_model, "gguf_path", lambda: tmp_path / "x.gguf")
    embedded_model.prepare(tmp_path)
    assert embedded_model.convert_in_background(tmp_path) is None


def test_a_start_waits_for_the_background_conversion(tmp_path: Path, capsys):
    """The real conversion, in its own process; the start's `prepare` blocks on its lock and
    then finds the folder complete rather than converting a second time."""
    converting = embedded_model.convert_in_background(tmp_path)
    assert converting is not None
    target = embedded_model.model_dir(tmp_path)
    lock = target.parent / f".{target.name}.lock"
    started = time.monotonic()
    while not lock.exists():
        assert time.monotonic() - started < 60
        time.sleep(0.05)
    time.sleep(1)  # the conversion holds the lock by now
    folder = embedded_model.prepare(tmp_path)
    assert converting.wait(timeout=120) == 0
    assert (folder / "config.json").is_file() and embedded_model.is_prepared(tmp_path)
    assert "Preparing" not in capsys.readouterr().out  # this process did not convert
