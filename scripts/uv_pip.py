"""`uv pip ARGS`, seeing the packages pip would: uv does not read pip's configuration, so this
reads it (`pip config list`: its files merged, then the PIP_* environment) and passes on
what decides where packages come from: find-links, index URLs, constraints, no-index, the
certificate bundle, the timeout. uv's default of taking each package from the
first index that has it is set to pip's: the best version across all of them.

    python scripts/uv_pip.py UV PYTHON install -q torch==2.13.0+cpu
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

# `pip config list` names each value by section; pip lets install.X override global.X and
# the environment (PIP_X, listed as :env:.x) override both.
SECTIONS = ("global", "install", ":env:")
LIST_KEYS = {
    "find-links": "--find-links",
    "extra-index-url": "--extra-index-url",
    "constraint": "--constraint",
}
LINE = re.compile(r"^(?P<section>[^.]+)\.(?P<key>[a-z-]+)='(?P<value>.*)'$")


def pip_settings(python: str) -> dict[str, str]:
    listing = subprocess.run(
        [python, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    found = [m for line in listing.splitlines() if (m := LINE.match(line.strip()))]
    return {m["key"]: m["value"] for section in SECTIONS for m in found if m["section"] == section}


def uv_arguments(settings: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The uv flags and environment for pip's settings."""
    flags = ["--index-strategy", "unsafe-best-match"]
    env: dict[str, str] = {}
    for key, flag in LIST_KEYS.items():
        for value in settings.get(key, "").split():
            flags += [flag, value]
    if index := settings.get("index-url"):
        flags += ["--index-url", index]
    if settings.get("no-index", "").lower() in ("1", "true", "yes", "on"):
        flags.append("--no-index")
    if cert := settings.get("cert"):
        env["SSL_CERT_FILE"] = cert
    if timeout := settings.get("default-timeout") or settings.get("timeout"):
        env["UV_HTTP_TIMEOUT"] = timeout.split(".")[0]
    return flags, env


def main() -> None:
    uv, python, command, *rest = sys.argv[1:]
    flags, env = uv_arguments(pip_settings(python))
    os.environ.update(env)
    os.execv(uv, [uv, "pip", command, "--python", python, *flags, *rest])


if __name__ == "__main__":
    main()
