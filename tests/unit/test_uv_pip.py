"""scripts/uv_pip.py: pip's configuration, as `pip config list` prints it, becomes uv's flags."""

import subprocess
import sys

from scripts import uv_pip

LISTING = """\
:env:.find-links='/opt/wheels'
global.cert='/etc/ssl/certs/ca-certificates.crt'
global.constraint='/etc/xdg/pip/constraints.txt'
global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'
global.find-links='/somewhere/else'
global.index-url='https://mirror.example/simple'
install.index-url='https://install.example/simple'
global.default-timeout='180'
"""


def settings_of(listing: str, monkeypatch) -> dict[str, str]:
    done = subprocess.CompletedProcess([], 0, stdout=listing, stderr="")
    monkeypatch.setattr(uv_pip.subprocess, "run", lambda *a, **k: done)
    return uv_pip.pip_settings(sys.executable)


def test_environment_beats_install_beats_global(monkeypatch):
    settings = settings_of(LISTING, monkeypatch)
    assert settings["find-links"] == "/opt/wheels"
    assert settings["index-url"] == "https://install.example/simple"
    assert settings["constraint"] == "/etc/xdg/pip/constraints.txt"


def test_flags_and_environment_for_uv(monkeypatch):
    flags, env = uv_pip.uv_arguments(settings_of(LISTING, monkeypatch))
    pairs = list(zip(flags[::2], flags[1::2], strict=True))
    assert ("--index-strategy", "unsafe-best-match") in pairs  # pip's: best version anywhere
    assert ("--find-links", "/opt/wheels") in pairs
    assert ("--extra-index-url", "file:///opt/pypi/simple") in pairs
    assert ("--extra-index-url", "file:///opt/pypi-more/simple") in pairs
    assert ("--constraint", "/etc/xdg/pip/constraints.txt") in pairs
    assert ("--index-url", "https://install.example/simple") in pairs
    assert env == {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt", "UV_HTTP_TIMEOUT": "180"}


def test_no_configuration_only_sets_the_strategy(monkeypatch):
    assert uv_pip.uv_arguments(settings_of("", monkeypatch)) == (
        ["--index-strategy", "unsafe-best-match"],
        {},
    )


def test_no_index_is_passed_on(monkeypatch):
    flags, _ = uv_pip.uv_arguments(settings_of(":env:.no-index='true'\n", monkeypatch))
    assert "--no-index" in flags


def test_reads_the_real_pip(monkeypatch):
    """The format is pip's own: a PIP_* variable comes back through `pip config list`."""
    monkeypatch.setenv("PIP_FIND_LINKS", "/tmp/links-for-the-test")
    monkeypatch.setenv("PIP_CONSTRAINT", "/tmp/a.txt /tmp/b.txt")
    settings = uv_pip.pip_settings(sys.executable)
    assert settings["find-links"] == "/tmp/links-for-the-test"
    flags, _ = uv_pip.uv_arguments(settings)
    assert flags[flags.index("--constraint") + 1] == "/tmp/a.txt"
    assert flags.count("--constraint") == 2
