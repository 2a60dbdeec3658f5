"""Metrics label each request by the route template it matched, so a route is counted as
itself from the moment it is declared, and paths no route takes share one label."""

from tests.unit.http.conftest import A


def _requests(client) -> str:
    return "\n".join(
        line
        for line in client.get("/metrics").text.splitlines()
        if line.startswith("sampling_server_requests_total{")
    )


def test_routes_with_parameters_are_counted_by_their_template(client):
    client.get("/v1/responses/resp_missing", headers=A)
    client.get("/v1/responses/resp_missing/input_items", headers=A)
    client.delete("/v1/responses/resp_other", headers=A)
    client.get("/v1/models", headers=A)
    counted = _requests(client)
    assert 'route="/v1/responses/{response_id}",status="404"} 2.0' in counted
    assert 'route="/v1/responses/{response_id}/input_items",status="404"} 1.0' in counted
    assert 'route="/v1/models",status="200"} 1.0' in counted
    assert "resp_missing" not in counted and "resp_other" not in counted


def test_paths_no_route_takes_share_one_label(client):
    for path in ("/nowhere", "/v1/nowhere/1", "/v1/nowhere/2"):
        client.get(path, headers=A)
    counted = _requests(client)
    assert 'route="other",status="404"} 3.0' in counted
    assert "nowhere" not in counted
