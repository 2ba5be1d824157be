"""Hostile input: every one is a clear 4xx with a Backpack error body, and nothing changes."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.api.conftest import Server, Signed, sandbox_account

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def alice(server: Server) -> Signed:
    return Signed(server.url, sandbox_account(server, USDC="5000", SOL="10"))


@pytest.fixture(scope="module")
def bob(server: Server) -> Signed:
    return Signed(server.url, sandbox_account(server, USDC="5000", SOL="10"))


def expect(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text


def order(price: str = "100", quantity: str = "1") -> dict[str, object]:
    return {"orderType": "Limit", "price": price, "quantity": quantity, "side": "Bid", "symbol": "SOL_USDC"}


def test_signature_and_timestamp_checks(server: Server, alice: Signed) -> None:
    now = int(time.time() * 1000)
    expect(
        alice.request("GET", "/api/v1/capital", "balanceQuery", sign_as="instruction=balanceQuery&x=1"),
        401,
        "INVALID_SIGNATURE",
    )
    expect(alice.request("GET", "/api/v1/capital", "orderQueryAll"), 401, "INVALID_SIGNATURE")  # wrong instruction
    expect(alice.request("GET", "/api/v1/capital", "balanceQuery", ts=now - 6000), 401, "UNAUTHORIZED")
    expect(alice.request("GET", "/api/v1/capital", "balanceQuery", ts=now + 60_000), 401, "UNAUTHORIZED")
    expect(alice.request("GET", "/api/v1/capital", "balanceQuery", window=60_001), 400, "INVALID_CLIENT_REQUEST")
    assert alice.request("GET", "/api/v1/capital", "balanceQuery", ts=now - 50_000, window=60_000).status_code == 200
    expect(httpx.get(server.url + "/api/v1/capital"), 401, "UNAUTHORIZED")
    stranger = Signed(server.url, type(alice.creds)("A" * 43 + "=", alice.creds.secret, 0))
    expect(stranger.request("GET", "/api/v1/capital", "balanceQuery"), 401, "UNAUTHORIZED")
    headers = alice.headers("balanceQuery", {})
    headers["X-Timestamp"] = "12ab"
    expect(httpx.get(server.url + "/api/v1/capital", headers=headers), 400, "INVALID_CLIENT_REQUEST")


def test_a_replayed_request_is_refused_once_its_window_passed(server: Server, alice: Signed) -> None:
    headers = alice.headers("orderExecute", order("90"), window=1000)
    body = '{"orderType":"Limit","price":"90","quantity":"1","side":"Bid","symbol":"SOL_USDC"}'
    first = httpx.post(server.url + "/api/v1/order", content=body, headers=headers)
    assert first.status_code == 200, first.text
    time.sleep(1.2)
    expect(httpx.post(server.url + "/api/v1/order", content=body, headers=headers), 401, "UNAUTHORIZED")
    alice.request("DELETE", "/api/v1/orders", "orderCancelAll", {"symbol": "SOL_USDC"})


def test_another_accounts_order_is_invisible(alice: Signed, bob: Signed) -> None:
    placed = alice.request("POST", "/api/v1/order", "orderExecute", order("95"))
    order_id = placed.json()["id"]
    expect(
        bob.request("GET", "/api/v1/order", "orderQuery", {"symbol": "SOL_USDC", "orderId": order_id}),
        404,
        "RESOURCE_NOT_FOUND",
    )
    expect(
        bob.request("DELETE", "/api/v1/order", "orderCancel", {"symbol": "SOL_USDC", "orderId": order_id}),
        404,
        "RESOURCE_NOT_FOUND",
    )
    assert bob.request("GET", "/api/v1/orders", "orderQueryAll").json() == []
    assert bob.request("GET", "/wapi/v1/history/orders", "orderHistoryQueryAll").json() == []
    mine = alice.request("GET", "/api/v1/order", "orderQuery", {"symbol": "SOL_USDC", "orderId": order_id})
    assert mine.status_code == 200 and mine.json()["status"] == "New"
    alice.request("DELETE", "/api/v1/order", "orderCancel", {"symbol": "SOL_USDC", "orderId": order_id})


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({**order(), "symbol": "DOGE_USDC"}, 400, "INVALID_MARKET"),
        (order(price="-1"), 400, "INVALID_PRICE"),
        (order(price="0"), 400, "INVALID_PRICE"),
        (order(price="100.001"), 400, "INVALID_PRICE"),
        (order(price="1e2"), 400, "INVALID_PRICE"),
        (order(quantity="0"), 400, "INVALID_QUANTITY"),
        (order(quantity="-3"), 400, "INVALID_QUANTITY"),
        (order(quantity="0.001"), 400, "INVALID_QUANTITY"),
        (order(quantity="9" * 60), 400, "INVALID_QUANTITY"),
        (order(quantity="99999999999"), 400, "INVALID_QUANTITY"),  # above maxQuantity (issue 13, finding 4)
        (order(price="99999999999999"), 400, "INVALID_PRICE"),  # above maxPrice
        (order(price="999999999999999999999999999999"), 400, "INVALID_PRICE"),
        ({**order(), "side": "Buy"}, 400, "INVALID_CLIENT_REQUEST"),
        ({**order(), "orderType": "Stop"}, 400, "INVALID_ORDER"),
        ({**order(), "timeInForce": "DAY"}, 400, "INVALID_CLIENT_REQUEST"),
        ({**order(), "clientId": 4294967296}, 400, "INVALID_CLIENT_REQUEST"),
        ({**order(), "clientId": -1}, 400, "INVALID_CLIENT_REQUEST"),
        ({**order(), "postOnly": "yes"}, 400, "INVALID_CLIENT_REQUEST"),
        ({**order(), "price": True}, 400, "INVALID_CLIENT_REQUEST"),
        ({**order(), "quantity": None}, 400, "INVALID_ORDER"),
        ({**order(), "symbol": ["SOL_USDC"]}, 400, "INVALID_MARKET"),
        ({"orderType": "Market", "side": "Bid", "symbol": "SOL_USDC"}, 400, "INVALID_ORDER"),
        ({**order(quantity="100000"), "price": "100"}, 400, "INSUFFICIENT_FUNDS"),
    ],
)
def test_bad_orders_are_4xx_and_change_nothing(
    alice: Signed, payload: dict[str, object], status: int, code: str
) -> None:
    before = alice.request("GET", "/api/v1/capital", "balanceQuery").json()
    expect(alice.request("POST", "/api/v1/order", "orderExecute", payload), status, code)
    assert alice.request("GET", "/api/v1/capital", "balanceQuery").json() == before
    assert alice.request("GET", "/api/v1/orders", "orderQueryAll").json() == []


@pytest.mark.parametrize("body", [b"{", b"[]", b"null", b'"x"', b'{"a": NaN}', b"\xff\xfe", b"[1, 2]"])
def test_malformed_bodies(server: Server, alice: Signed, body: bytes) -> None:
    headers = alice.headers("orderExecute", {})
    response = httpx.post(server.url + "/api/v1/order", content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert "code" in response.json()


def test_public_endpoints_reject_bad_parameters(server: Server) -> None:
    for path in (
        "/api/v1/depth?symbol=NOPE",
        "/api/v1/ticker?symbol=",
        "/api/v1/klines?symbol=SOL_USDC",
        "/api/v1/klines?symbol=SOL_USDC&interval=7m&startTime=0",
        "/api/v1/depth?symbol=SOL_USDC&limit=7",
        "/api/v1/trades?symbol=SOL_USDC&limit=-5",
        "/api/v1/trades?symbol=SOL_USDC&limit=99999999999999999999",
        "/api/v1/trades?symbol=SOL_USDC&limit=--5",  # passed a lstrip("-") check, then int() raised: a 500
        "/api/v1/trades/history?symbol=SOL_USDC&offset=--1",
        "/api/v1/klines?symbol=SOL_USDC&interval=1m&startTime=10000000000000",  # overflowed SQLite: a 500
        "/api/v1/klines?symbol=SOL_USDC&interval=1m&startTime=0&endTime=10000000000000",
    ):
        response = httpx.get(server.url + path)
        assert 400 <= response.status_code < 500 and "code" in response.json(), (path, response.text)
    expect(httpx.get(server.url + "/api/v1/nothing"), 404, "RESOURCE_NOT_FOUND")
    expect(httpx.post(server.url + "/api/v1/markets"), 405, "INVALID_CLIENT_REQUEST")


def test_sandbox_endpoints_need_the_admin_token(server: Server) -> None:
    response = httpx.post(server.url + "/api/v1/sandbox/accounts", json={"publicKey": "x"})
    expect(response, 401, "UNAUTHORIZED")
    response = httpx.post(
        server.url + "/api/v1/sandbox/accounts", json={"publicKey": "x"}, headers={"X-Admin-Token": "0" * 64}
    )
    expect(response, 401, "UNAUTHORIZED")


def test_private_parameters_and_bodies_of_the_wrong_shape(server: Server, alice: Signed) -> None:
    """Each of these answered 500: a time filter past SQLite's integers, a doubled minus sign, and a JSON
    array sent to a route that reads an object (only the batch order route takes an array)."""
    for path, instruction, params in (
        ("/wapi/v1/history/fills", "fillHistoryQueryAll", {"from": "10000000000000000"}),
        ("/wapi/v1/capital/deposits", "depositQueryAll", {"to": "10000000000000000"}),
        ("/wapi/v1/history/orders", "orderHistoryQueryAll", {"limit": "--3"}),
    ):
        expect(alice.request("GET", path, instruction, params), 400, "INVALID_CLIENT_REQUEST")
    before = alice.request("GET", "/api/v1/capital", "balanceQuery").json()
    for method, path, instruction, body in (
        ("DELETE", "/api/v1/order", "orderCancel", [{"symbol": "SOL_USDC", "orderId": "1"}]),
        ("POST", "/wapi/v1/capital/withdrawals", "withdraw", [{"symbol": "USDC"}]),
        ("PATCH", "/api/v1/account", "accountUpdate", [{"autoLend": True}]),
    ):
        sent = httpx.request(
            method, server.url + path, content=json.dumps(body), headers=alice.headers(instruction, {})
        )
        expect(sent, 400, "INVALID_CLIENT_REQUEST")
        assert sent.json()["message"] == "request body must be a JSON object"
    assert alice.request("GET", "/api/v1/capital", "balanceQuery").json() == before


def test_concurrent_signups_with_one_key_make_one_account(server: Server) -> None:
    """The key check and the account it guards are one step: 20 sign-ups racing with the same key make
    one account; before, the 19 refused ones each left an account without a key behind."""
    import asyncio
    import base64

    import nacl.signing

    def fresh_key() -> str:
        return base64.b64encode(bytes(nacl.signing.SigningKey.generate().verify_key)).decode()

    async def race(key: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            signup = server.url + "/api/v1/sandbox/signup"
            return list(await asyncio.gather(*(client.post(signup, json={"publicKey": key}) for _ in range(20))))

    first = httpx.post(server.url + "/api/v1/sandbox/signup", json={"publicKey": fresh_key()}).json()["accountId"]
    answers = asyncio.run(race(fresh_key()))
    assert sorted(r.status_code for r in answers) == [200] + [400] * 19
    won = next(r.json()["accountId"] for r in answers if r.status_code == 200)
    after = httpx.post(server.url + "/api/v1/sandbox/signup", json={"publicKey": fresh_key()}).json()["accountId"]
    assert (won, after) == (first + 1, first + 2)  # no account ids were spent on refused sign-ups
