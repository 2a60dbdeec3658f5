"""Two API keys on one server: every stateful route answers the other key as if the response
did not exist, and changes nothing of it, whether it has finished or is still running."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from server.http.auth import owner_of
from tests.unit.http.conftest import HOLD, KEY_A, KEY_B, A, B


def _background(client: TestClient, text: str) -> str:
    created = client.post(
        "/v1/responses", headers=A, json={"model": "m", "input": text, "background": True}
    )
    assert created.status_code == 200, created.text
    return created.json()["id"]


def _reaches(client: TestClient, response_id: str, status: str) -> bool:
    """Whether A sees the response reach `status` within a few seconds."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if client.get(f"/v1/responses/{response_id}", headers=A).json()["status"] == status:
            return True
        time.sleep(0.01)
    return False


def _refused_to_b(client: TestClient, response_id: str) -> None:
    path = f"/v1/responses/{response_id}"
    for method, url in [
        ("GET", path),
        ("GET", f"{path}?stream=true&starting_after=0"),
        ("GET", f"{path}/input_items"),
        ("POST", f"{path}/cancel"),
        ("DELETE", path),
    ]:
        answer = client.request(method, url, headers=B)
        assert answer.status_code == 404, (method, url, answer.text)
        assert answer.json()["error"]["code"] == "response_not_found"
    continued = client.post(
        "/v1/responses",
        headers=B,
        json={"model": "m", "input": "and?", "previous_response_id": response_id, "stream": True},
    )
    assert continued.status_code == 400
    assert continued.json()["error"]["code"] == "previous_response_not_found"


def test_another_key_cannot_touch_a_running_response(client):
    running = _background(client, HOLD)
    assert _reaches(client, running, "in_progress")
    _refused_to_b(client, running)
    assert client.get(f"/v1/responses/{running}", headers=A).json()["status"] == "in_progress"
    cancelled = client.post(f"/v1/responses/{running}/cancel", headers=A)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_another_key_cannot_touch_a_finished_response(client):
    finished = _background(client, "hi")
    assert _reaches(client, finished, "completed")
    _refused_to_b(client, finished)
    kept = client.get(f"/v1/responses/{finished}", headers=A).json()
    assert kept["output"][0]["content"][0]["text"] == "Hi."


def test_the_owner_deleting_a_running_response_stops_it(client):
    running = _background(client, HOLD)
    assert _reaches(client, running, "in_progress")
    deleted = client.delete(f"/v1/responses/{running}", headers=A)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert client.get(f"/v1/responses/{running}", headers=A).status_code == 404
    runs = client.app.state.runtime.services.responses.runs
    run = runs.get(running, owner_of(A, (KEY_A, KEY_B)))
    assert run is not None and run.finished


def test_another_keys_websocket_cannot_continue_a_response(client):
    finished = _background(client, "hi")
    assert _reaches(client, finished, "completed")
    with client.websocket_connect("/v1/responses", headers=B) as socket:
        socket.send_json(
            {
                "type": "response.create",
                "model": "m",
                "input": "and?",
                "previous_response_id": finished,
            }
        )
        error = socket.receive_json()
    assert error["type"] == "error" and error["status"] == 400
    assert error["error"]["code"] == "previous_response_not_found"
