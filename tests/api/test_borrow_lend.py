"""Borrow/lend endpoints: ccxt's implicit API (there is no unified method) and the SDK."""

from __future__ import annotations

import ccxt
import pytest
from backpack_exchange_sdk.authenticated import AuthenticationClient

from tests.api.conftest import Server, sandbox_account

pytestmark = pytest.mark.slow


def test_lend_and_redeem_through_ccxt(server: Server) -> None:
    creds = sandbox_account(server, auto_lend=False, USDC="1000")  # lends by hand here
    ex = ccxt.backpack(
        {
            "apiKey": creds.api_key,
            "secret": creds.secret,
            "urls": {"api": {"public": server.url, "private": server.url}},
        }
    )
    ex.privatePostApiV1BorrowLend({"symbol": "USDC", "side": "Lend", "quantity": "400"})
    assert ex.fetch_balance()["USDC"]["free"] == 600
    positions = ex.privateGetApiV1BorrowLendPositions()
    assert positions == [
        {
            "cumulativeInterest": "0",
            "id": "USDC",
            "imf": "0",
            "imfFunction": {"type": "sqrt", "base": "0.1", "factor": "0.0001"},
            "markPrice": "1",
            "mmf": "0",
            "mmfFunction": {"type": "sqrt", "base": "0.05", "factor": "0.00006"},
            "netExposureNotional": "0",
            "netExposureQuantity": "0",
            "netQuantity": "400",
            "symbol": "USDC",
        }
    ]
    markets = {m["symbol"]: m for m in ex.publicGetApiV1BorrowLendMarkets()}
    assert markets["USDC"]["lentQuantity"] == "400" and markets["USDC"]["utilization"] == "0"
    assert markets["USDC"]["optimalUtilization"] == "0.8" and markets["SOL"]["state"] == "Open"
    with pytest.raises(ccxt.BadRequest):  # more than the lend: Backpack's BORROW_REQUIRES_LEND_REDEEM
        ex.privatePostApiV1BorrowLend({"symbol": "USDC", "side": "Borrow", "quantity": "401"})
    ex.privatePostApiV1BorrowLend({"symbol": "USDC", "side": "Borrow", "quantity": "400"})  # redeem all
    assert ex.privateGetApiV1BorrowLendPositions() == []
    assert ex.fetch_balance()["USDC"]["free"] == 1000


def test_errors_through_the_sdk(server: Server) -> None:
    creds = sandbox_account(server, auto_lend=False, USDC="10")  # nothing of its own lent either
    client = AuthenticationClient(creds.api_key, creds.secret, base_url=server.url + "/")
    for quantity, side, code in (
        ("11", "Lend", "INSUFFICIENT_FUNDS"),
        ("1", "Borrow", "INSUFFICIENT_SUPPLY"),  # nothing lent in the pool yet
        ("0.0000001", "Lend", "INVALID_QUANTITY"),
    ):
        with pytest.raises(Exception, match=code):
            client.execute_borrow_lend(quantity=quantity, side=side, symbol="USDC")


def test_collateral_endpoints(server: Server) -> None:
    import httpx

    creds = sandbox_account(server, USDC="1000", SOL="10")
    token = (server.data_dir / "admin.token").read_text().strip()
    httpx.post(
        server.url + "/api/v1/sandbox/price",
        json={"symbol": "SOL_USDC", "price": "150"},
        headers={"X-Admin-Token": token},
    )
    client = AuthenticationClient(creds.api_key, creds.secret, base_url=server.url + "/")
    summary = client.get_collateral()
    assert summary["netEquity"] == "2350"  # 1000 + 10 x 150 x 0.9
    assert summary["assetsValue"] == "2500" and summary["borrowLiability"] == "0"
    sol = next(c for c in summary["collateral"] if c["symbol"] == "SOL")
    assert sol["assetMarkPrice"] == "150.00" and sol["collateralWeight"] == "0.9" and sol["collateralValue"] == "1350"
    functions = {f["symbol"]: f for f in httpx.get(server.url + "/api/v1/collateral").json()}
    assert functions["SOL"]["haircutFunction"] == {
        "weight": "0.9",
        "kind": {"type": "inverseSqrt", "base": "1.1", "positiveCurvePenalty": "0.00001"},
    }


def test_net_equity_is_the_sum_of_its_collateral_rows_on_a_large_wallet(server: Server) -> None:
    """GET /api/v1/capital/collateral: netEquity is exactly the sum of its own rows (one rounding
    of the haircut weight, 9 decimals, in the rows and in the engine), on a $2-billion wallet."""
    from decimal import Decimal
    from fractions import Fraction as F

    import httpx

    from tests.api.conftest import Signed
    from tests.unit.exchange.core.perps.helpers import sqrt_frac

    creds = sandbox_account(server, USDC="1234.567891", SOL="10000000.123456789")
    token = (server.data_dir / "admin.token").read_text().strip()
    r = httpx.post(
        server.url + "/api/v1/sandbox/price",
        json={"symbol": "SOL_USDC", "price": "200"},
        headers={"X-Admin-Token": token},
    )
    assert r.status_code == 200, r.text
    summary = Signed(server.url, creds).request("GET", "/api/v1/capital/collateral", "collateralQuery").json()
    rows = {c["symbol"]: c for c in summary["collateral"]}
    total = sum((Decimal(c["collateralValue"]) for c in summary["collateral"]), Decimal(0))
    owed = sum(
        (-Decimal(c["balanceNotional"]) for c in summary["collateral"] if c["balanceNotional"][0] == "-"), Decimal(0)
    )
    equity = total - owed + Decimal(summary["pnlUnrealized"]) + Decimal(summary["unsettledEquity"])
    assert Decimal(summary["netEquity"]) == equity
    # by hand: 10,000,000.123456789 SOL x 200 (rounded down to the atom), weight 1.1 / (1 +
    # 0.00001 x sqrt(value)) truncated to 9 decimals, value x weight rounded down
    value = int(F("10000000.123456789") * 200 * 10**6)
    w9 = F(int(F(11, 10) / (1 + F(1, 100_000) * sqrt_frac(F(value, 10**6))) * 10**9), 10**9)
    sol = int(value * w9)
    assert F(Decimal(rows["SOL"]["collateralWeight"])) == w9
    assert F(Decimal(rows["SOL"]["collateralValue"])) == F(sol, 10**6)
    assert F(Decimal(summary["netEquity"])) == F(sol + 1_234_567_891, 10**6)
