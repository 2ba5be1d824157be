"""The order-entry path (``app.ORDER_ENTRY``, answered ahead of Starlette) answers exactly as the
Starlette dispatcher does: same status, headers and body bytes, valid or not."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import nacl.signing

from rucksack.exchange.api.app import ORDER_ENTRY, Api, create_app
from rucksack.exchange.api.auth import new_keypair
from rucksack.exchange.api.routes.sandbox import sandbox_create_account
from rucksack.exchange.service import ExchangeService

Message = MutableMapping[str, Any]


async def _call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes) -> list[Message]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[Message] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _signed(secret: str, api_key: str, instruction: str, body: Any) -> tuple[dict[str, str], bytes]:
    ts = str(int(time.time() * 1000))
    orders = body if isinstance(body, list) else [body]
    message = "&".join(
        f"instruction={instruction}" + "".join(f"&{k}={v}" for k, v in sorted(o.items())) for o in orders
    )
    message += f"&timestamp={ts}&window=60000"
    key = nacl.signing.SigningKey(base64.b64decode(secret))
    signature = base64.b64encode(key.sign(message.encode()).signature).decode()
    headers = {"X-API-Key": api_key, "X-Signature": signature, "X-Timestamp": ts, "X-Window": "60000"}
    headers["Content-Type"] = "application/json"
    return headers, json.dumps(body).encode()


def test_order_entry_answers_as_the_dispatcher_does(tmp_path: Path) -> None:
    service = ExchangeService(tmp_path / "d", fsync=False)

    async def main() -> None:
        service.start()
        api_key, secret = new_keypair()
        await sandbox_create_account(service, {"publicKey": api_key, "fund": {"USDC": "100000", "SOL": "100"}})
        app = create_app(service, [], websockets=False)
        assert isinstance(app, Api)
        order = {"orderType": "Limit", "price": "90", "quantity": "0.1", "side": "Bid", "symbol": "SOL_USDC"}
        signed, body = _signed(secret, api_key, "orderExecute", order)
        cases = [
            ("POST", "/api/v1/order", {}, body),  # no auth headers
            ("POST", "/api/v1/order", signed, b"{not json"),
            ("POST", "/api/v1/order", signed, b"[1]"),
            ("POST", "/api/v1/order", {**signed, "X-Signature": "AAAA"}, body),
            ("POST", "/api/v1/order", {**signed, "Content-Length": "9999999"}, body),
            ("POST", "/api/v1/orders", signed, b"{}"),
            ("POST", "/api/v1/orders", signed, b"[]"),
            ("DELETE", "/api/v1/order", signed, b'{"symbol": "SOL_USDC", "orderId": "1"}'),
            ("POST", "/api/v1/order", *_signed(secret, api_key, "orderExecute", {**order, "side": "Up"})),
        ]
        for method, path, headers, payload in cases:
            assert (method, path) in ORDER_ENTRY
            fast = await _call(app, method, path, headers, payload)
            slow = await _call(app.starlette, method, path, headers, payload)
            assert fast == slow, (method, path, payload)
            assert fast[0]["status"] in (400, 401, 404, 413), fast
        # a valid order through each path: the same fields, its own id
        placed = []
        for target in (app, app.starlette):
            headers, payload = _signed(secret, api_key, "orderExecute", order)
            sent = await _call(target, "POST", "/api/v1/order", headers, payload)
            assert sent[0]["status"] == 200
            placed.append(json.loads(sent[1]["body"]))
        assert placed[0].keys() == placed[1].keys() and placed[0]["id"] != placed[1]["id"]
        assert {k: v for k, v in placed[0].items() if k not in ("id", "createdAt")} == {
            k: v for k, v in placed[1].items() if k not in ("id", "createdAt")
        }

    try:
        asyncio.run(main())
    finally:
        service.close()
