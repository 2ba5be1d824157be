"""Settlement history says what each settled amount paid for (``store.settlement_sources``): a perp
trade's fees, its funding and its realized PnL come back as ``TradingFees``, ``FundingPayment`` and
``RealizePnl`` rows, exact to the atom, summing to what left the wallet; Backpack's ``source``
filter selects them. Through the SDK (``get_settlement_history``) and ccxt's raw method."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from backpack_exchange_sdk.authenticated import AuthenticationClient

from tests.api.conftest import Creds, Server, sandbox_account
from tests.api.test_perps import PERP, quotes, rest, tick

pytestmark = pytest.mark.slow


def by_source(rows: list[dict[str, str]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        out[r["source"]] += Decimal(r["quantity"])
    return dict(out)


def sdk(server: Server, creds: Creds) -> AuthenticationClient:
    return AuthenticationClient(creds.api_key, creds.secret, base_url=server.url + "/")


def test_fees_funding_and_pnl_settle_under_their_own_sources(server: Server) -> None:
    maker_creds = quotes(server)  # 149 / 151 on the SOL perp, index and mark 150
    taker_creds = sandbox_account(server, auto_lend=False, USDC="10000")
    taker = rest(server, taker_creds)
    taker.create_order(PERP, "market", "buy", 2)  # at 151: fee 2 x 151 x 0.05% = 0.151
    tick(server, "funding")
    tick(server, "funding")
    tick(server, "settlement")

    client = sdk(server, taker_creds)
    rows = client.get_settlement_history(limit=1000)
    funding = sum(Decimal(str(p["amount"])) for p in taker.fetch_funding_history(PERP))
    assert funding < 0
    assert by_source(rows) == {
        "TradingFees": Decimal("-0.151"),
        "FundingPayment": funding,
        "RealizePnl": Decimal("-2"),  # 2 x (mark 150 - entry 151)
    }
    usdc = client.get_balances()["USDC"]
    wallet = Decimal(usdc["available"]) + Decimal(usdc["locked"])
    assert sum(by_source(rows).values()) == wallet - 10000  # every atom that left is attributed
    assert {r["userId"] for r in rows} == {taker_creds.account} and all(r["timestamp"] for r in rows)

    # Backpack's filter: one source's rows only
    fees = client.get_settlement_history(source="TradingFees")
    assert fees and {r["source"] for r in fees} == {"TradingFees"}
    assert client.get_settlement_history(source="CulledBorrowInterest") == []
    raw = taker.privateGetWapiV1HistorySettlement({"source": "FundingPayment"})
    assert raw and {r["source"] for r in raw} == {"FundingPayment"}
    with pytest.raises(Exception, match="source must be one of"):
        taker.privateGetWapiV1HistorySettlement({"source": "Everything"})

    # the maker's side: its own (smaller) fee, the funding it received, the PnL it made
    maker = rest(server, maker_creds)
    got = by_source(sdk(server, maker_creds).get_settlement_history(limit=1000))
    assert got["TradingFees"] == Decimal("-0.0604")  # 2 x 151 x 0.02%
    assert got["FundingPayment"] == sum(Decimal(str(p["amount"])) for p in maker.fetch_funding_history(PERP)) > 0
    assert got["RealizePnl"] == Decimal("2")
