"""Hostile input: every one is a clear 4xx with a Backpack error body, and nothing changes."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from pathlib import Path

import httpx
import nacl.signing
import pytest
import websockets

from rucksack.exchange.api.ws import MAX_ERRORS
from tests.api.conftest import Server, Signed, sandbox_account, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def alice(server: Server) -> Signed:
    return Signed(server.url, sandbox_account(server, USDC="5000", SOL="10"))


@pytest.fixture(scope="module")
def bob(server: Server) -> Signed:
    return Signed(server.url, sandbox_account(server, USDC="5000", SOL="10"))


def fresh_key() -> str:
    return base64.b64encode(bytes(nacl.signing.SigningKey.generate().verify_key)).decode()


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
        ({**order(), "symbol": "NOPE_USDC"}, 400, "INVALID_MARKET"),  # no such market (DOGE_USDC is listed)
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


DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000  # 200 KB, under the body cap: a SIGSEGV before the fix
DEEP_OBJECT = b'{"a":' * 30_000 + b"1" + b"}" * 30_000


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT, b"[" * 65 + b"]" * 65])
def test_deeply_nested_json_is_refused_before_parsing(server: Server, alice: Signed, body: bytes) -> None:
    """py_ecc (imported with the wallet CLI) had raised the recursion limit to 100,000, so this body
    crashed the whole server, with no login. Now it is refused unparsed on every kind of route."""
    for method, path, headers in (
        ("POST", "/api/v1/order", alice.headers("orderExecute", {})),
        ("PATCH", "/api/v1/account", {}),
        ("POST", "/api/v1/sandbox/signup", {}),
        ("POST", "/api/v1/orders", alice.headers("orderExecute", {})),
    ):
        response = httpx.request(method, server.url + path, content=body, headers=headers, timeout=30)
        expect(response, 400, "INVALID_CLIENT_REQUEST")
        assert "nested deeper than 64 levels" in response.json()["message"]
    assert httpx.get(server.url + "/api/v1/status").json()["status"] == "Ok"
    assert alice.request("GET", "/api/v1/capital", "balanceQuery").status_code == 200


def test_the_running_server_keeps_its_recursion_limit_when_custody_loads(tmp_path: Path) -> None:
    """The first deposit-address request starts custody, which imports eth-account and so py_ecc,
    whose import asks for a recursion limit of 100,000: the server keeps 1000 (and says so)."""
    srv = start_server(tmp_path / "custody", "--no-makers", "--feed", "manual")
    try:
        user = Signed(srv.url, sandbox_account(srv, USDC="10"))
        answer = user.request(
            "GET", "/wapi/v1/capital/deposit/address", "depositAddressQuery", {"blockchain": "Solana"}
        )
        assert answer.status_code == 200, answer.text
        expect(httpx.post(srv.url + "/api/v1/sandbox/signup", content=DEEP_ARRAY), 400, "INVALID_CLIENT_REQUEST")
        assert httpx.get(srv.url + "/api/v1/status").json()["status"] == "Ok"
    finally:
        srv.stop()
    assert srv.proc.stderr is not None
    assert "kept the recursion limit at 1000 (a library asked for 100000)" in srv.proc.stderr.read().decode()


def test_nesting_up_to_the_limit_and_brackets_in_strings_still_parse(server: Server, alice: Signed) -> None:
    """64 levels parse (then fail as the wrong shape); brackets inside a string do not count."""
    response = httpx.post(
        server.url + "/api/v1/order", content=b"[" * 64 + b"]" * 64, headers=alice.headers("orderExecute", {})
    )
    expect(response, 400, "INVALID_CLIENT_REQUEST")
    assert response.json()["message"] == "request body must be a JSON object"
    labels = ["[" * 40 + '\\"{' * 6, "[" * 40 + "{" * 20]  # 106 brackets, all inside strings
    made = alice.request("POST", "/api/v1/subaccounts", "subaccountCreate", {"label": labels[0], "x": labels[1]})
    assert made.status_code == 200, made.text


def ws_url(server: Server) -> str:
    return server.url.replace("http://", "ws://") + "/ws"


def test_deeply_nested_websocket_frame_gets_an_error_frame(server: Server) -> None:
    async def run() -> list[object]:
        async with websockets.connect(ws_url(server), max_size=None) as ws:
            await ws.send("[" * 80_000 + "]" * 80_000)
            first = json.loads(await ws.recv())
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["nope"], "id": 7}))
            second = json.loads(await ws.recv())
            return [first, second]

    first, second = asyncio.run(run())
    assert first == {"id": None, "error": {"code": 4000, "message": "Invalid JSON: nested deeper than 64 levels"}}
    assert second == {"id": 7, "error": {"code": 4006, "message": "Invalid stream"}}  # the connection serves on
    assert httpx.get(server.url + "/api/v1/status").json()["status"] == "Ok"


def test_a_binary_websocket_frame_is_closed_with_1003(server: Server) -> None:
    async def run() -> websockets.frames.Close | None:
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send(b"\x00\x01binary")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            return closed.value.rcvd

    close = asyncio.run(run())
    assert close is not None and (close.code, close.reason) == (1003, "binary frames are not supported")


def test_invalid_frames_from_a_client_that_never_reads_are_bounded(server: Server) -> None:
    """Each invalid frame queued an error reply without limit (58 MB per 500,000 frames): now at
    most MAX_ERRORS replies per window are sent, and the connection is closed with 1008."""

    async def run() -> tuple[int, websockets.frames.Close | None]:
        async with websockets.connect(ws_url(server)) as ws:
            with contextlib.suppress(websockets.ConnectionClosed):
                for _ in range(5_000):  # sent without reading a single reply
                    await ws.send("not json")
            replies = 0
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    assert reply["error"]["code"] == 4000
                    replies += 1
            return replies, closed.value.rcvd

    replies, close = asyncio.run(run())
    assert replies == MAX_ERRORS
    assert close is not None and (close.code, close.reason) == (1008, "too many invalid messages")
    assert httpx.get(server.url + "/api/v1/status").json()["status"] == "Ok"


def test_lone_surrogates_are_400_not_500(server: Server, alice: Signed) -> None:
    """A lone UTF-16 surrogate failed when the signing string was encoded (any registered key and a
    zero signature sufficed) and when sign-up journaled the label: both were 500s."""
    headers = alice.headers("orderExecute", {})
    headers["X-Signature"] = base64.b64encode(bytes(64)).decode()
    for body in (b'{"symbol": "\\ud800"}', b'{"\\udfff": "x"}', b'[{"symbol": "\\ud800"}]'):
        for path in ("/api/v1/order", "/api/v1/orders"):
            expect(httpx.post(server.url + path, content=body, headers=headers), 400, "INVALID_CLIENT_REQUEST")
    for body in (b'{"publicKey": "\\ud800"}', b'{"publicKey": "%s", "label": "\\udc00"}' % fresh_key().encode()):
        expect(httpx.post(server.url + "/api/v1/sandbox/signup", content=body), 400, "INVALID_CLIENT_REQUEST")
    pair = httpx.post(
        server.url + "/api/v1/sandbox/signup",
        content=b'{"publicKey": "%s", "label": "\\ud83d\\ude00"}' % fresh_key().encode(),
    )
    assert pair.status_code == 200, pair.text  # a proper surrogate pair is one character


def test_one_signature_covers_one_request(server: Server, alice: Signed) -> None:
    """The signing string escapes nothing, so a signature for {label: "x", zz: "d"} was accepted for
    {label: "x&zz=d"}. Keys and values that would make it ambiguous are refused before the check."""
    before = alice.request("GET", "/api/v1/subaccounts", "subaccountQueryAll").json()
    signed_for = alice.headers("subaccountCreate", {"label": "x", "zz": "d"})
    forged = httpx.post(server.url + "/api/v1/subaccounts", content=json.dumps({"label": "x&zz=d"}), headers=signed_for)
    expect(forged, 400, "INVALID_CLIENT_REQUEST")
    assert "'&'" in forged.json()["message"]
    for params in ({"label": "a&b"}, {"la=bel": "x"}, {"a&b": "x"}, {"instruction": "subaccountCreate"}):
        expect(alice.request("POST", "/api/v1/subaccounts", "subaccountCreate", params), 400, "INVALID_CLIENT_REQUEST")
    expect(alice.request("GET", "/api/v1/capital", "balanceQuery", {"x": "1&y=2"}), 400, "INVALID_CLIENT_REQUEST")
    batch = [{**order("90"), "clientId": 1}, {**order("91"), "instruction": "orderExecute"}]
    sent = httpx.post(
        server.url + "/api/v1/orders", content=json.dumps(batch), headers=alice.headers("orderExecute", {})
    )
    expect(sent, 400, "INVALID_CLIENT_REQUEST")
    assert alice.request("GET", "/api/v1/subaccounts", "subaccountQueryAll").json() == before
    assert alice.request("GET", "/api/v1/orders", "orderQueryAll").json() == []
    # '=' stays allowed in values: a pair's first '=' ends its key (base64 keys end in '=')
    assert alice.request("POST", "/api/v1/subaccounts", "subaccountCreate", {"label": "a=b"}).status_code == 200


def test_a_number_as_a_label_is_refused_as_such(alice: Signed) -> None:
    """A JSON number passed the label's string check and failed in the journal encoder instead."""
    made = httpx.post(
        alice.url + "/api/v1/subaccounts",
        content=b'{"label": 5}',
        headers=alice.headers("subaccountCreate", {"label": 5}),
    )
    expect(made, 400, "INVALID_CLIENT_REQUEST")
    assert made.json()["message"] == "label must be a string of at most 64 characters"


def test_a_sandbox_grant_over_the_deposit_bound_is_refused_not_dropped(server: Server) -> None:
    """A grant over 2**56 atoms used to answer 200 with an account whose deposit the engine had
    refused, so the caller saw an empty wallet; it is a 400 before any account is made."""
    token = (server.data_dir / "admin.token").read_text().strip()
    url, headers = server.url + "/api/v1/sandbox/accounts", {"X-Admin-Token": token}
    big = {"publicKey": fresh_key(), "fund": {"USDC": "1152921504606"}}  # 2**60 atoms
    expect(httpx.post(url, json=big, headers=headers), 400, "INVALID_CLIENT_REQUEST")
    ok = httpx.post(url, json={"publicKey": big["publicKey"], "fund": {"USDC": "1000"}}, headers=headers)
    assert ok.status_code == 200, ok.text  # the key was not bound by the refused request
