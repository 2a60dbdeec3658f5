"""Starting a server for a measurement: a free port, a process whose output goes to a log,
waiting for its ready path with progress, and stopping it however the measurement ends.
Importable by the system Python (first_answer): httpx, from the project's environment, is
imported where it is used."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(port: int, *args: str) -> list[str]:
    """This server (`python -m server`) on `port`, with more arguments."""
    return [sys.executable, "-m", "server", "--port", str(port), *args]


def wait_ready(
    base_url: str, process: subprocess.Popen[bytes], timeout: float, path: str = "/health"
) -> float:
    """Seconds until `path` answered 200; stops the tool if the server exits first."""
    import httpx

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}{path}", timeout=2).status_code == 200:
                print(flush=True)
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        print(f"\rwaiting for the engine… {time.monotonic() - started:5.0f} s", end="", flush=True)
        time.sleep(1)
    raise SystemExit(f"not ready within {timeout:.0f} s")


def stop(process: subprocess.Popen, timeout: float = 120) -> None:
    """SIGTERM (the server drains and stops its engine), then SIGKILL if it takes too long."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class Running:
    base_url: str
    process: subprocess.Popen[bytes]
    ready_s: float


@contextlib.contextmanager
def running(
    command: Sequence[str],
    port: int,
    *,
    log: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 1800,
    path: str = "/health",
    cwd: Path = ROOT,
) -> Iterator[Running]:
    """`command` started in the repository, or in `cwd` (another checkout of it), its output
    to `log`, else to this terminal; ready at http://127.0.0.1:`port``path`; stopped on
    leaving."""
    base_url = f"http://127.0.0.1:{port}"
    with open(log, "wb") if log else contextlib.nullcontext() as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            env=None if env is None else dict(env),
        )
    try:
        yield Running(base_url, process, wait_ready(base_url, process, timeout, path))
    finally:
        stop(process)
