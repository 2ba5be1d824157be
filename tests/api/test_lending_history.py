"""Borrow/lend fidelity through the unmodified clients: auto-lend by default (balances and limits
count the lent funds), the borrow/lend, interest and position histories, the pools' rate history,
a borrow's liquidation price, and the two kinds of INSUFFICIENT_SUPPLY."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import ccxt
import httpx
import pytest
from backpack_exchange_sdk.authenticated import AuthenticationClient
from backpack_exchange_sdk.public import PublicClient

from tests.api.conftest import Creds, Server, sandbox_account

pytestmark = pytest.mark.slow


def admin(server: Server, path: str, body: dict[str, Any]) -> Any:
    token = (server.data_dir / "admin.token").read_text().strip()
    r = httpx.post(server.url + path, json=body, headers={"X-Admin-Token": token})
    assert r.status_code == 200, r.text
    return r.json()


def sdk(server: Server, creds: Creds) -> AuthenticationClient:
    return AuthenticationClient(creds.api_key, creds.secret, base_url=server.url + "/")


def ccxt_client(server: Server, creds: Creds) -> Any:
    return ccxt.backpack(
        {
            "apiKey": creds.api_key,
            "secret": creds.secret,
            "urls": {"api": {"public": server.url, "private": server.url}},
        }
    )


def test_a_new_account_lends_its_funds_and_still_sees_and_uses_them(server: Server) -> None:
    admin(server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "150"})
    creds = sandbox_account(server, USDC="10000", SOL="100")
    client = sdk(server, creds)
    assert client.get_account()["autoLend"] is True
    lends = {p["symbol"]: p["netQuantity"] for p in client.get_borrow_lend_positions()}
    assert lends == {"USDC": "10000", "SOL": "100"}  # everything idle is lent at once
    balance = ccxt_client(server, creds).fetch_balance()  # not {}: the lent funds are available
    assert balance["USDC"]["free"] == 10000 and balance["SOL"]["free"] == 100
    # the limits count what redeeming the lend frees, as the withdrawal and the order themselves do
    assert client.get_max_withdrawal_quantity("USDC")["maxWithdrawalQuantity"] == "10000"
    assert client.get_max_order_quantity("SOL_USDC", "Ask", price="150")["maxOrderQuantity"] == "100.00"
    assert client.get_max_order_quantity("SOL_USDC", "Bid", price="100")["maxOrderQuantity"] == "100.00"
    history = client.get_borrow_history()
    assert {(h["eventType"], h["source"], h["symbol"], h["quantity"]) for h in history} == {
        ("Lend", "AutoLend", "USDC", "10000"),
        ("Lend", "AutoLend", "SOL", "100"),
    }
    opened = client.get_borrow_position_history(state="Open")
    assert {(p["symbol"], p["side"], p["quantity"], p["source"]) for p in opened} == {
        ("USDC", "Lend", "10000", "AutoLend"),
        ("SOL", "Lend", "100", "AutoLend"),
    }
    usdc = next(h for h in history if h["symbol"] == "USDC")
    assert usdc["positionQuantity"] == "10000"
    assert usdc["positionId"] == next(p["positionId"] for p in opened if p["symbol"] == "USDC")


def test_interest_is_reported_per_position_and_hour(server: Server) -> None:
    lender = sdk(server, sandbox_account(server, USDC="20000"))
    borrower_creds = sandbox_account(server, auto_lend=False, USDC="50", SOL="100")
    borrower = sdk(server, borrower_creds)
    borrower.execute_borrow_lend(quantity="5000", side="Borrow", symbol="USDC")
    for _ in range(3):
        admin(server, "/api/v1/sandbox/tick", {"tick": "interest"})
    paid = borrower.get_interest_history(symbol="USDC")
    hourly = [p for p in paid if p["paymentType"] == "Borrow"]
    assert len(hourly) >= 2 and all(Decimal(p["quantity"]) < 0 for p in hourly)
    assert all(p["interval"] == 3_600_000 and p["marketSymbol"] == "USDC" for p in hourly)
    assert all(Decimal(p["interestRate"]) > 0 for p in hourly)
    earned = lender.get_interest_history(asset="USDC")
    assert earned and all(p["paymentType"] == "Lend" and Decimal(p["quantity"]) > 0 for p in earned)
    # the borrow's cumulative interest is the sum of its rows, on the position and in its history
    total = sum((Decimal(p["quantity"]) for p in paid), Decimal(0))
    [position] = [p for p in borrower.get_borrow_lend_positions() if p["symbol"] == "USDC"]
    assert Decimal(position["cumulativeInterest"]) == total < 0
    [life] = borrower.get_borrow_position_history(symbol="USDC")
    assert life["side"] == "Borrow" and life["state"] == "Open" and Decimal(life["cumulativeInterest"]) == total
    assert Decimal(life["quantity"]) == -Decimal(position["netQuantity"]) > 5000
    # a Lend of the whole debt repays it and closes the position
    borrower.execute_borrow_lend(quantity=life["quantity"], side="Lend", symbol="USDC")
    [closed] = borrower.get_borrow_position_history(symbol="USDC")
    assert closed["state"] == "Closed" and closed["positionId"] == life["positionId"]
    assert [h["eventType"] for h in borrower.get_borrow_history(symbol="USDC")] == ["BorrowRepay", "Borrow"]
    # ccxt's implicit methods read the same histories
    ex = ccxt_client(server, borrower_creds)
    assert ex.privateGetWapiV1HistoryInterest({"symbol": "USDC"}) == borrower.get_interest_history(symbol="USDC")
    assert ex.privateGetWapiV1HistoryBorrowLendPositions()[0]["state"] == "Closed"
    assert [h["eventType"] for h in ex.privateGetWapiV1HistoryBorrowLend({"type": "Borrow"})] == ["Borrow"]
    rates = ex.publicGetApiV1BorrowLendMarketsHistory({"interval": "1w", "symbol": "USDC"})
    assert len(rates) >= 3 and rates[0]["symbol"] == "USDC"
    # the rate history: one row per pool and hour accrued, with the borrow visible in it
    history = PublicClient(base_url=server.url + "/").get_borrow_lend_market_history("1d", "USDC")
    assert len(history) >= 3 and {h["symbol"] for h in history} == {"USDC"}
    assert any(Decimal(h["utilization"]) > 0 and Decimal(h["borrowInterestRate"]) > 0 for h in history)
    with pytest.raises(Exception, match="interval"):
        PublicClient(base_url=server.url + "/").get_borrow_lend_market_history("2d")


def test_liquidation_price_of_a_borrow(server: Server) -> None:
    admin(server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "150"})
    sandbox_account(server, SOL="1000")  # SOL to borrow
    client = sdk(server, sandbox_account(server, auto_lend=False, USDC="1000"))

    def price(quantity: str) -> Decimal:
        payload = json.dumps({"quantity": quantity, "side": "Borrow", "symbol": "SOL"}).encode()
        answer = client.get_estimated_liquidation_price(base64.b64encode(payload).decode())
        assert answer["markPrice"] == "150.00"
        return Decimal(answer["liquidationPrice"])

    small, large = price("20"), price("40")
    assert 150 < large < small  # a debt in SOL is liquidated as SOL rises; the larger one sooner
    with pytest.raises(Exception, match="borrow"):
        client.get_estimated_liquidation_price("not base64!")


def test_an_empty_pool_and_a_utilization_cap_say_which(server: Server) -> None:
    client = sdk(server, sandbox_account(server, auto_lend=False, USDC="1000000"))
    with pytest.raises(Exception, match=r"INSUFFICIENT_SUPPLY.*does not hold"):
        client.execute_borrow_lend(quantity="1", side="Borrow", symbol="BTC")  # nobody lent BTC here
    public = PublicClient(base_url=server.url + "/")
    lent = Decimal(next(m for m in public.get_borrow_lend_markets() if m["symbol"] == "USDC")["lentQuantity"])
    with pytest.raises(Exception, match=r"INSUFFICIENT_SUPPLY.*utilization"):
        client.execute_borrow_lend(quantity=str(int(lent * Decimal("0.99"))), side="Borrow", symbol="USDC")
    market = next(m for m in public.get_borrow_lend_markets() if m["symbol"] == "USDC")
    assert market["throttleUtilizationThreshold"] is not None and market["throttleUpdateFraction"] is not None
