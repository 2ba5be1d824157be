"""Subaccounts (Rucksack extension) and isolation: a key reaches its own wallets and nothing else."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from backpack_exchange_sdk.authenticated import AuthenticationClient

from tests.api.conftest import Server, Signed, sandbox_account

pytestmark = pytest.mark.slow


def test_subaccounts_transfers_and_isolation(server: Server) -> None:
    owner_creds = sandbox_account(server, USDC="5000")
    owner = Signed(server.url, owner_creds)
    other = Signed(server.url, sandbox_account(server, USDC="100"))
    made = owner.request("POST", "/api/v1/subaccounts", "subaccountCreate", {"label": "hedge"})
    assert made.status_code == 200, made.text
    sub = made.json()["subaccountId"]
    assert made.json() == {"subaccountId": sub, "label": "hedge", "parentId": owner_creds.account}
    listed = owner.request("GET", "/api/v1/subaccounts", "subaccountQueryAll").json()
    assert [(s["subaccountId"], s["label"]) for s in listed] == [(sub, "hedge")]
    assert other.request("GET", "/api/v1/subaccounts", "subaccountQueryAll").json() == []
    moved = owner.request(
        "POST", "/api/v1/subaccounts/transfer", "subaccountTransfer", {"toSubaccountId": sub, "symbol": "USDC",
                                                                        "quantity": "1200"}
    )  # fmt: skip
    assert moved.status_code == 200 and moved.content == b""
    capital = owner.request("GET", "/api/v1/capital", "balanceQuery", {"subaccountId": sub}).json()
    assert capital == {"USDC": {"available": "1200", "locked": "0", "staked": "0"}}
    assert owner.request("GET", "/api/v1/capital", "balanceQuery").json()["USDC"]["available"] == "3800"
    # the SDK's own subaccount parameter
    client = AuthenticationClient(owner_creds.api_key, owner_creds.secret, base_url=server.url + "/")
    assert client.get_collateral(subAccountId=sub)["netEquity"] == "1200"
    account = owner.request("GET", "/api/v1/account", "accountQuery", {"subaccountId": sub}).json()
    assert account["leverageLimit"] == "50"
    patched = owner.request("PATCH", "/api/v1/account", "accountUpdate", {"subaccountId": sub, "leverageLimit": "3"})
    assert patched.status_code == 200, patched.text
    assert owner.request("GET", "/api/v1/account", "accountQuery", {"subaccountId": sub}).json()["leverageLimit"] == "3"
    assert owner.request("GET", "/api/v1/account", "accountQuery").json()["leverageLimit"] == "50"
    assert owner.request("GET", "/api/v1/position", "positionQuery", {"subaccountId": sub}).json() == []
    # another owner's key never reaches the subaccount, whatever the endpoint or direction
    for method, path, instruction, params in (
        ("GET", "/api/v1/capital", "balanceQuery", {"subaccountId": sub}),
        ("GET", "/api/v1/capital/collateral", "collateralQuery", {"subaccountId": sub}),
        ("GET", "/api/v1/position", "positionQuery", {"subaccountId": sub}),
        ("GET", "/api/v1/account", "accountQuery", {"subaccountId": sub}),
        ("PATCH", "/api/v1/account", "accountUpdate", {"subaccountId": sub, "autoLend": True}),
        ("GET", "/wapi/v1/history/funding", "fundingHistoryQueryAll", {"subaccountId": sub}),
        ("GET", "/api/v1/account/limits/withdrawal", "maxWithdrawalQuantity", {"symbol": "USDC", "subaccountId": sub}),
        ("POST", "/api/v1/subaccounts/transfer", "subaccountTransfer",
         {"fromSubaccountId": sub, "symbol": "USDC", "quantity": "1"}),
        ("GET", "/api/v1/capital", "balanceQuery", {"subaccountId": owner_creds.account}),
        ("GET", "/api/v1/capital", "balanceQuery", {"subaccountId": 999999}),
        ("GET", "/api/v1/capital", "balanceQuery", {"subaccountId": "abc"}),
    ):  # fmt: skip
        answer = other.request(method, path, instruction, params)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json() == {"code": "RESOURCE_NOT_FOUND", "message": "Subaccount not found"}
    assert owner.request("GET", "/api/v1/capital", "balanceQuery", {"subaccountId": sub}).json()["USDC"] == {
        "available": "1200",
        "locked": "0",
        "staked": "0",
    }
    # back to the main account; more than the subaccount holds is refused
    too_much = owner.request(
        "POST", "/api/v1/subaccounts/transfer", "subaccountTransfer", {"fromSubaccountId": sub, "symbol": "USDC",
                                                                        "quantity": "1200.01"}
    )  # fmt: skip
    assert too_much.status_code == 400 and too_much.json()["code"] == "INSUFFICIENT_FUNDS"
    back = owner.request(
        "POST", "/api/v1/subaccounts/transfer", "subaccountTransfer", {"fromSubaccountId": sub, "symbol": "USDC",
                                                                        "quantity": "200"}
    )  # fmt: skip
    assert back.status_code == 200
    assert owner.request("GET", "/api/v1/capital", "balanceQuery").json()["USDC"]["available"] == "4000"


def test_a_subaccount_key_trades_there_with_ccxt_and_reaches_nothing_else(server: Server) -> None:
    import ccxt

    from rucksack.exchange.api.auth import new_keypair
    from tests.api.conftest import Creds

    owner_creds = sandbox_account(server, USDC="5000")
    owner = Signed(server.url, owner_creds)
    other = Signed(server.url, sandbox_account(server, USDC="100"))
    sub = owner.request("POST", "/api/v1/subaccounts", "subaccountCreate", {"label": "bot"}).json()["subaccountId"]
    owner.request("POST", "/api/v1/subaccounts/transfer", "subaccountTransfer",
                  {"toSubaccountId": sub, "symbol": "USDC", "quantity": "1000"})  # fmt: skip
    public, secret = new_keypair()
    body = {"subaccountId": sub, "publicKey": public}
    added = owner.request("POST", "/api/v1/subaccounts/apiKeys", "subaccountApiKeyCreate", body)
    assert added.status_code == 200 and added.json() == body, added.text
    [listed] = owner.request("GET", "/api/v1/subaccounts", "subaccountQueryAll").json()
    assert listed["apiKeys"] == [public]
    again = owner.request("POST", "/api/v1/subaccounts/apiKeys", "subaccountApiKeyCreate", body)
    assert again.status_code == 400 and "already registered" in again.text
    assert other.request("POST", "/api/v1/subaccounts/apiKeys", "subaccountApiKeyCreate", body).status_code == 404
    bad = owner.request("POST", "/api/v1/subaccounts/apiKeys", "subaccountApiKeyCreate",
                        {"subaccountId": sub, "publicKey": "not base64!"})  # fmt: skip
    assert bad.status_code == 400

    # an unmodified ccxt with the subaccount's key: its balance, its order, nobody else's
    bot = ccxt.backpack(
        {"apiKey": public, "secret": secret, "urls": {"api": {"public": server.url, "private": server.url}}}
    )
    assert bot.fetch_balance()["USDC"]["free"] == 1000
    order = bot.create_order("SOL/USDC", "limit", "buy", 1, 100)
    assert [o["id"] for o in bot.fetch_open_orders("SOL/USDC")] == [order["id"]]
    assert owner.request("GET", "/api/v1/orders", "orderQueryAll").json() == []
    held = owner.request("GET", "/api/v1/capital", "balanceQuery", {"subaccountId": sub}).json()["USDC"]
    assert held == {"available": "900", "locked": "100", "staked": "0"}
    as_sub = Signed(server.url, Creds(public, secret, sub))
    for method, path, instruction, params in (
        ("GET", "/api/v1/capital", "balanceQuery", {"subaccountId": owner_creds.account}),
        ("POST", "/api/v1/subaccounts/transfer", "subaccountTransfer", {"toSubaccountId": sub, "symbol": "USDC",
                                                                       "quantity": "1"}),
        ("POST", "/api/v1/subaccounts", "subaccountCreate", {"label": "nested"}),
        ("POST", "/api/v1/subaccounts/apiKeys", "subaccountApiKeyCreate", {"subaccountId": sub,
                                                                          "publicKey": new_keypair()[0]}),
    ):  # fmt: skip
        answer = as_sub.request(method, path, instruction, params)
        assert answer.status_code in (400, 404), (path, answer.text)

    # unbound: the key no longer authenticates, and the private stream it opened is closed at once;
    # unbinding twice is a 404
    async def stream_until_removed() -> tuple[int, str, dict[str, Any]]:
        async with websockets.connect(server.url.replace("http://", "ws://") + "/ws") as ws:
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["account.orderUpdate"], "signature": ws_sig()}))
            await asyncio.sleep(0.3)  # subscribed (an error frame would arrive now)
            removed = await asyncio.to_thread(
                owner.request, "DELETE", "/api/v1/subaccounts/apiKeys", "subaccountApiKeyDelete", body
            )
            assert removed.status_code == 200, removed.text
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            frame = closed.value.rcvd
            assert frame is not None
        async with websockets.connect(server.url.replace("http://", "ws://") + "/ws") as ws:
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["account.orderUpdate"], "signature": ws_sig()}))
            refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
        return frame.code, frame.reason, refused

    def ws_sig() -> list[str]:
        h = as_sub.headers("subscribe", {})
        return [h["X-API-Key"], h["X-Signature"], h["X-Timestamp"], h["X-Window"]]

    code, reason, refused = asyncio.run(stream_until_removed())
    assert (code, reason) == (1008, "API key removed")
    assert refused["error"] == {"code": 4001, "message": "Unknown API key"}
    assert as_sub.request("GET", "/api/v1/capital", "balanceQuery").status_code == 401
    gone = owner.request("DELETE", "/api/v1/subaccounts/apiKeys", "subaccountApiKeyDelete", body)
    assert gone.status_code == 404
