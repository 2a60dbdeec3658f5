"""An unexpected failure is answered with the OpenAI envelope and leaves the keep-alive
connection usable: the app runs under a real uvicorn, over a raw socket, with a small stand-in
engine whose tokenizer fails on demand (the test-only way to provoke an internal error)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from server.engine.engine import ModelInfo
from server.http.app import create_app
from server.sampling.vocabulary import Vocabulary
from server.settings import load_settings


class FailingTokenizerEngine:
    info = ModelInfo(id="m", max_model_len=64, vocab_size=4)
    vocabulary = Vocabulary((b"a", b"b", b"c", b"d"))
    errored = False

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        if text == "fail":
            raise RuntimeError("injected failure")
        return [0] * len(text)

    async def check_health(self) -> None:
        return None

    def shutdown(self) -> None:
        return None


@pytest.fixture
def port() -> Iterator[int]:
    async def start(metrics):
        return FailingTokenizerEngine()

    app = create_app(load_settings(["--no-store"]), start)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=free, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (
        server.started and app.state.runtime.state == "ready"
    ):
        time.sleep(0.05)
    yield free
    server.should_exit = True
    thread.join(10)


def _exchange(conn: socket.socket, path: str, body: dict) -> tuple[int, dict[str, str], dict]:
    """One HTTP/1.1 request and its whole response on an open connection."""
    payload = json.dumps(body).encode()
    conn.sendall(
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    while len(rest) < int(headers["content-length"]):
        chunk = conn.recv(65536)
        assert chunk, "the server closed the connection mid-body"
        rest += chunk
    return int(status_line.split()[1]), headers, json.loads(rest)


def test_an_internal_error_is_an_envelope_and_the_connection_stays_usable(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        status, headers, body = _exchange(conn, "/v1/tokenize", {"model": "m", "prompt": "fail"})
        assert status == 500
        assert body == {
            "error": {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
        assert headers["x-request-id"]
        assert headers.get("connection", "").lower() != "close"
        status, _, body = _exchange(conn, "/v1/tokenize", {"model": "m", "prompt": "fine"})
        assert status == 200
        assert body["count"] == 4
