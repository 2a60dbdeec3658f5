"""What the scripts that start a server of their own share: a free port, and waiting for
/health with progress. Importable by the system Python (first_answer.py): httpx, from the
project's environment, is imported where it is used."""

from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(
    base_url: str, process: subprocess.Popen[bytes], timeout: float, path: str = "/health"
) -> float:
    """Seconds until `path` answered 200; stops the script if the server exits first."""
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
