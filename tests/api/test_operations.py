"""Operations of a real ``rucksack serve``: Prometheus ``/metrics`` and JSON logs without secrets."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from tests.api.conftest import Server, Signed, sandbox_account, start_server


def scrape(server: Server) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = httpx.get(server.url + "/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for lab, v in samples.get(name, []) if all(lab.get(k) == w for k, w in labels.items()))


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Server, list[str]]:
    """A server at DEBUG (refused signed requests are logged) whose stderr is collected."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RUCKSACK_LOG_LEVEL", "DEBUG")
    srv = start_server(tmp_path_factory.mktemp("ops"), "--no-makers", "--feed", "manual")
    mp.undo()
    lines: list[str] = []
    assert srv.proc.stderr is not None
    stream = srv.proc.stderr
    reader = threading.Thread(target=lambda: lines.extend(ln.decode() for ln in stream), daemon=True)
    reader.start()
    yield srv, lines  # type: ignore[misc]
    srv.stop()
    reader.join(timeout=10)


def test_metrics_count_commands_routes_journal_ws_and_sweeps(logged: tuple[Server, list[str]]) -> None:
    server, _ = logged
    creds = sandbox_account(server, USDC="1000")
    client = Signed(server.url, creds)
    order = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "quantity": "1", "price": "10"}
    assert client.request("POST", "/api/v1/order", "orderExecute", order).status_code == 200
    httpx.get(server.url + "/api/v1/no/such/route")
    with connect(server.url.replace("http", "ws") + "/ws") as ws:
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["depth.SOL_USDC"]}))
        time.sleep(0.3)
        during = scrape(server)
    time.sleep(1.2)  # the scheduler's sweep runs every second
    after = scrape(server)
    assert value(during, "rucksack_ws_connections") == 1 and value(after, "rucksack_ws_connections") == 0
    assert value(after, "rucksack_commands_total", command="PlaceOrder") == 1
    assert value(after, "rucksack_commands_total", command="CreateAccount") >= 1
    assert value(after, "rucksack_events_total", event="OrderAccepted") >= 1
    assert value(after, "rucksack_journal_group_records_count") >= 1
    assert value(after, "rucksack_journal_fsync_seconds_count") == value(after, "rucksack_journal_group_records_count")
    assert value(after, "rucksack_liquidation_sweep_seconds_count") >= 1
    assert "rucksack_sequencer_queue_depth" in after and "rucksack_ws_dropped_messages_total" not in after
    route = {"method": "POST", "route": "/api/v1/order", "status": "200"}
    assert value(after, "rucksack_http_request_seconds_count", **route) == 1
    assert value(after, "rucksack_http_request_seconds_count", route="other", status="404") == 1
    assert value(after, "process_cpu_seconds_total") > 0


def test_logs_are_json_lines_with_the_account_and_never_a_secret(logged: tuple[Server, list[str]]) -> None:
    server, lines = logged
    creds = sandbox_account(server, USDC="10")
    client = Signed(server.url, creds)
    good = client.request("GET", "/api/v1/capital", "balanceQuery")
    signature = good.request.headers["X-Signature"]
    forged = client.request("GET", "/api/v1/capital", "balanceQuery", sign_as="instruction=withdraw")
    expired = client.request("GET", "/api/v1/capital", "balanceQuery", ts=int(time.time() * 1000) - 60_000)
    assert (good.status_code, forged.status_code, expired.status_code) == (200, 401, 401)
    admin_token = (Path(server.data_dir) / "admin.token").read_text().strip()
    deadline = time.monotonic() + 10
    while sum("signed request refused" in ln for ln in lines) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    logs = [json.loads(ln) for ln in lines if ln.startswith("{")]
    refused = [entry for entry in logs if entry["msg"].startswith("signed request refused")]
    assert len(refused) == 2 and all(entry["account"] == creds.account for entry in refused)
    assert "INVALID_SIGNATURE" in {entry["code"] for entry in refused}
    assert all({"ts", "level", "logger", "msg"} <= set(entry) for entry in logs)
    assert all(ln.startswith(("{", "rucksack: ")) for ln in lines if ln.strip())  # JSON, or the start-up banner
    text = "".join(lines)
    for secret in (creds.secret, signature, forged.request.headers["X-Signature"], admin_token, creds.api_key):
        assert secret not in text


def test_a_client_leaving_mid_request_is_not_an_error(logged: tuple[Server, list[str]]) -> None:
    """A client that disconnects before its body arrives (or right after a WebSocket upgrade) is
    ordinary network life: nothing is logged as an error, no traceback, and the server serves on."""
    import base64
    import os
    import socket
    import struct

    server, lines = logged
    host, port = server.url.removeprefix("http://").split(":")
    before = len(lines)
    reset = struct.pack("ii", 1, 0)  # SO_LINGER 0: close with a TCP reset
    with socket.create_connection((host, int(port))) as s:
        s.sendall(b'POST /api/v1/order HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"symbol":')
        time.sleep(0.2)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset)
    with socket.create_connection((host, int(port))) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(
            f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        assert s.recv(100).startswith(b"HTTP/1.1 101")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset)
    time.sleep(0.5)
    assert httpx.get(server.url + "/api/v1/status").json()["status"] == "Ok"
    new = lines[before:]
    assert not [ln for ln in new if '"ERROR"' in ln or "Traceback" in ln], new
