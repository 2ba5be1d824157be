"""Conversions through the clients: ``convertDust`` and the dust history with the unmodified SDK,
and the collateral conversion extension with raw signed calls (no client has a method for it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from backpack_exchange_sdk.authenticated import AuthenticationClient

from tests.api.conftest import Creds, Server, Signed, sandbox_account
from tests.api.test_lending_history import admin

pytestmark = pytest.mark.slow


def sdk(server: Server, creds: Creds) -> AuthenticationClient:
    return AuthenticationClient(creds.api_key, creds.secret, base_url=server.url + "/")


def order(client: Signed, **params: Any) -> dict[str, Any]:
    r = client.request("POST", "/api/v1/order", "orderExecute", {"symbol": "SOL_USDC", **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_dust_converts_to_usdc_and_is_in_the_history(server: Server) -> None:
    admin(server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "150"})
    maker = Signed(server.url, sandbox_account(server, USDC="100000", SOL="1000"))
    order(maker, orderType="Limit", side="Bid", price="150", quantity="100")
    taker = Signed(server.url, sandbox_account(server, SOL="200"))
    order(taker, orderType="Market", side="Ask", quantity="100")  # the exchange earns USDC fees
    creds = sandbox_account(server, USDC="1", SOL="0.009")  # 0.009 SOL: under the 0.01 minimum
    client = sdk(server, creds)
    with pytest.raises(Exception, match="Not dust"):
        client.convert_dust("USDC")
    client.convert_dust("SOL")
    [row] = client.get_dust_history()
    assert row["symbol"] == "SOL" and row["quantity"] == "0.009" and row["usdcReceived"] == "1.35"
    assert isinstance(row["id"], int) and client.get_dust_history(symbol="USDC") == []
    balances = Signed(server.url, creds).request("GET", "/api/v1/capital", "balanceQuery").json()
    assert "SOL" not in balances and balances["USDC"]["available"] == "2.35"
    moves = client.get_borrow_history(symbol="SOL")
    assert [(m["eventType"], m["source"]) for m in moves] == [("LendRedeem", "DustConversion"), ("Lend", "AutoLend")]


def test_collateral_converts_at_the_book(server: Server) -> None:
    admin(server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "150"})
    maker = Signed(server.url, sandbox_account(server, USDC="100000", SOL="1000"))
    order(maker, orderType="Limit", side="Bid", price="149", quantity="50")
    order(maker, orderType="Limit", side="Ask", price="151", quantity="50")
    creds = sandbox_account(server, USDC="1000", SOL="10")  # all of it lent (autoLend)
    client = Signed(server.url, creds)

    def convert(**body: str) -> Any:
        return client.request("POST", "/api/v1/account/convertCollateral", "collateralConvert", body)

    sold = convert(fromSymbol="SOL", toSymbol="USDC", quantity="4")
    assert sold.status_code == 200, sold.text
    out = sold.json()
    assert out["fromQuantity"] == "4" and out["symbol"] == "SOL_USDC" and out["feeSymbol"] == "USDC"
    assert Decimal(out["toQuantity"]) + Decimal(out["fee"]) == 4 * 149
    bought = convert(fromSymbol="USDC", toSymbol="SOL", quantity="302").json()
    assert bought["fromQuantity"] == "302" and Decimal(bought["toQuantity"]) + Decimal(bought["fee"]) == 2
    balances = client.request("GET", "/api/v1/capital", "balanceQuery").json()
    assert Decimal(balances["SOL"]["available"]) == 10 - 4 + Decimal(bought["toQuantity"])
    refused = convert(fromSymbol="BTC", toSymbol="ETH", quantity="1")
    assert refused.status_code == 400 and refused.json()["code"] == "INVALID_MARKET"
    too_much = convert(fromSymbol="SOL", toSymbol="USDC", quantity="100")
    assert too_much.status_code == 400 and too_much.json()["code"] == "INSUFFICIENT_FUNDS"


def test_a_conversion_that_would_break_margin_is_refused_and_positions_stay(server: Server) -> None:
    admin(server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "150"})
    maker = Signed(server.url, sandbox_account(server, USDC="1000000", SOL="1000"))
    order(maker, orderType="Limit", side="Ask", price="151", quantity="500")  # SOL to buy with USDC
    perp = {"symbol": "SOL_USDC_PERP", "orderType": "Limit", "price": "150", "side": "Ask", "quantity": "500"}
    assert maker.request("POST", "/api/v1/order", "orderExecute", perp).status_code == 200
    trader = Signed(server.url, sandbox_account(server, USDC="1000"))
    limits = {"symbol": "SOL_USDC_PERP", "side": "Bid", "price": "150"}
    most = trader.request("GET", "/api/v1/account/limits/order", "maxOrderQuantity", limits).json()
    bought = {**perp, "side": "Bid", "quantity": most["maxOrderQuantity"]}
    assert trader.request("POST", "/api/v1/order", "orderExecute", bought).json()["status"] == "Filled"
    # all its margin is in use: swapping USDC (weight 1) for SOL (weight < 1) would leave too little
    body = {"fromSymbol": "USDC", "toSymbol": "SOL", "quantity": "500"}
    refused = trader.request("POST", "/api/v1/account/convertCollateral", "collateralConvert", body)
    assert refused.status_code == 400 and refused.json()["code"] == "INSUFFICIENT_MARGIN", refused.text
    [position] = trader.request("GET", "/api/v1/position", "positionQuery").json()
    assert position["netQuantity"] == most["maxOrderQuantity"]
