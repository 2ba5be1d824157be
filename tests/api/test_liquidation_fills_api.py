"""A liquidation through all three stages, read back by ``fillType`` with ccxt's ``fetch_my_trades``
(it passes ``fillType`` through): 1,000 USDC buys 100 SOL perp at 150 (15x). At 143.50 the account
is below maintenance with MF >= ACMF, so the engine sells a 10-SOL slice on the book into a bid at
143 (``BookLiquidation``, with the 1% liquidation fee); at 141, MF < ACMF: a backstop provider with
100 USDC takes what its margin allows (``Backstop``) and the rest is auto-deleveraged against the
opposing short (``Adl``). Each party sees its own rows; settlement history agrees with the
collateral the account endpoint reports."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import ccxt
import httpx
import pytest

from rucksack.exchange.store.settlement_sources import SOURCES
from tests.api.conftest import Creds, Server, Signed, sandbox_account

pytestmark = pytest.mark.slow
PERP = "SOL_USDC_PERP"


def admin(server: Server, path: str, body: dict[str, Any]) -> None:
    token = (server.data_dir / "admin.token").read_text().strip()
    answer = httpx.post(server.url + path, json=body, headers={"X-Admin-Token": token})
    assert answer.status_code == 200, answer.text


def client(server: Server, creds: Creds) -> Any:
    urls = {"api": {"public": server.url, "private": server.url}}
    return ccxt.backpack({"apiKey": creds.api_key, "secret": creds.secret, "urls": urls})


def trades(ex: Any, fill_type: str) -> list[dict[str, Any]]:
    return list(ex.fetch_my_trades("SOL/USDC:USDC", params={"fillType": fill_type}))


def until(check: Any, timeout: float = 20.0) -> Any:
    """Poll ``check`` (the scheduler sweeps every second) until it answers something truthy."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return result


def settled_agrees(account: Signed, deposited: Decimal) -> bool:
    """The settlement history (read model) against the balances the account endpoints report (the
    engine): for an account that trades only perps, every USDC that left or reached its wallet
    after the deposit is a settlement (fees, funding and PnL are charged to its unsettled balance
    until one). Read between two identical balance reads, so no settlement tick falls in between."""

    def wallet() -> Decimal:
        usdc = account.request("GET", "/api/v1/capital", "balanceQuery").json().get("USDC", {})
        lent = account.request("GET", "/api/v1/borrowLend/positions", "borrowLendPositionQuery").json()
        net = sum((Decimal(p["netQuantity"]) for p in lent if p["symbol"] == "USDC"), Decimal(0))
        return Decimal(usdc.get("available", 0)) + Decimal(usdc.get("locked", 0)) + net

    before = wallet()
    rows = account.request("GET", "/wapi/v1/history/settlement", "settlementHistoryQueryAll", {"limit": 1000})
    if wallet() != before:
        return False  # a settlement tick came in between: read again
    settled = rows.json()
    assert {r["source"] for r in settled} <= set(SOURCES)  # what each paid for (store.settlement_sources)
    assert sum((Decimal(r["quantity"]) for r in settled), Decimal(0)) + deposited == before
    return bool(settled)


def test_book_backstop_and_adl_fills_by_fill_type(server: Server) -> None:
    admin(server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "150"})
    maker_creds = sandbox_account(server, auto_lend=False, USDC="200000")
    provider_creds = sandbox_account(server, USDC="100")
    admin(server, "/api/v1/sandbox/backstop", {"accountId": provider_creds.account, "enabled": True})
    victim_creds = sandbox_account(server, auto_lend=False, USDC="1000")
    maker, victim = Signed(server.url, maker_creds), Signed(server.url, victim_creds)
    ask = {"symbol": PERP, "orderType": "Limit", "price": "150", "quantity": "100", "side": "Ask"}
    assert maker.request("POST", "/api/v1/order", "orderExecute", ask).status_code == 200
    buy = {"symbol": PERP, "orderType": "Market", "quantity": "100", "side": "Bid"}
    assert victim.request("POST", "/api/v1/order", "orderExecute", buy).json()["status"] == "Filled"
    bid = {"symbol": PERP, "orderType": "Limit", "price": "143", "quantity": "10", "side": "Bid"}
    assert maker.request("POST", "/api/v1/order", "orderExecute", bid).status_code == 200
    ex_victim, ex_maker, ex_provider = (client(server, c) for c in (victim_creds, maker_creds, provider_creds))

    # stage 1: one slice on the book
    admin(server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "143.5"})
    [book] = until(lambda: trades(ex_victim, "BookLiquidation"))
    assert (book["side"], book["amount"], book["price"]) == ("sell", 10, 143)
    assert book["info"]["systemOrderType"] == "LiquidatePositionOnBook" and book["takerOrMaker"] == "taker"
    fee = Decimal(book["info"]["fee"])
    assert fee >= Decimal("14.30")  # the taker fee plus 1% of 1,430 to the liquidity fund
    [bought] = trades(ex_victim, "User")  # the account's own order only
    assert bought["side"] == "buy" and bought["info"]["systemOrderType"] is None
    # the maker's side of the slice is its own resting bid
    assert [t["id"] for t in trades(ex_maker, "User") if t["side"] == "buy"] == [book["id"]]

    # stages 2 and 3
    admin(server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "141"})
    until(lambda: trades(ex_victim, "Adl"))
    until(lambda: not victim.request("GET", "/api/v1/account", "accountQuery").json()["liquidating"])
    backstop, adl = trades(ex_victim, "Backstop"), trades(ex_victim, "Adl")
    assert backstop and all(t["info"]["systemOrderType"] == "LiquidatePositionOnBackstop" for t in backstop)
    assert all(t["info"]["systemOrderType"] == "LiquidatePositionOnAdl" for t in adl)
    assert all(t["side"] == "sell" and t["info"]["fee"] == "0" and t["info"]["orderId"] is None for t in backstop + adl)
    assert all(int(t["id"]) >= 2**52 for t in backstop + adl)  # never a book trade id
    moved = sum(Decimal(t["info"]["quantity"]) for t in [book, *backstop, *adl])
    assert moved == 100  # every lot of the position, one stage or another
    liquidation = trades(ex_victim, "Liquidation")
    assert sorted(t["id"] for t in liquidation) == sorted(t["id"] for t in [book, *backstop, *adl])
    assert sorted(t["id"] for t in trades(ex_victim, "AllLiquidation")) == sorted(t["id"] for t in liquidation)
    assert trades(ex_victim, "User") == [bought]

    # the counterparties: the provider bought what it took, the short was deleveraged
    provider_rows = trades(ex_provider, "Backstop")
    assert {t["id"] for t in provider_rows} == {t["id"] for t in backstop}
    assert all(t["side"] == "buy" for t in provider_rows)
    assert trades(ex_provider, "AllLiquidation") == provider_rows and trades(ex_provider, "Liquidation") == []
    maker_adl = trades(ex_maker, "Adl")
    assert {t["id"] for t in maker_adl} == {t["id"] for t in adl} and all(t["side"] == "buy" for t in maker_adl)
    assert trades(ex_maker, "Liquidation") == []
    assert trades(ex_victim, "CollateralConversion") == []  # no collateral to convert here
    assert trades(ex_victim, "CollateralConversionAndSpotLiquidation") == []

    # settlement history (the read model) agrees with the balances (the engine), for both sides
    until(lambda: settled_agrees(victim, Decimal(1000)), timeout=25)
    until(lambda: settled_agrees(maker, Decimal(200000)), timeout=25)

    # a raw signed call: no fillType answers every row; an unknown one is refused
    everything = victim.request("GET", "/wapi/v1/history/fills", "fillHistoryQueryAll", {"symbol": PERP}).json()
    assert len(everything) == 1 + len(liquidation)
    refused = victim.request("GET", "/wapi/v1/history/fills", "fillHistoryQueryAll", {"fillType": "Nope"})
    assert refused.status_code == 400 and refused.json()["code"] == "INVALID_CLIENT_REQUEST"
