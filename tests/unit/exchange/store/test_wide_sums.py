"""Read-model sums stay exact past 2**63: volumes and deposit totals (issue 13, finding 4: one
out-of-range trade left tickers and klines answering 500 for good). SQLite sums the high and low
halves apart; PostgreSQL's NUMERIC sums are exact (both backends)."""

from __future__ import annotations

from rucksack.exchange.config import default_config_text, load_spec_text
from rucksack.exchange.core.events import Deposited, TradeExecuted
from rucksack.exchange.core.markets import INT64_MAX, MAX_AMOUNT_ATOMS
from tests.unit.exchange.store.conftest import Opener, wait


def test_volumes_and_deposit_totals_past_64_bits_are_exact(open_store: Opener) -> None:
    spec = load_spec_text(default_config_text())
    m = next(m for m in spec.markets if m.symbol == "BTC_USDC")  # spot: no position rows
    store = open_store(spec)
    trades = 2_000  # each the largest trade the market accepts: together far past 2**63
    for i in range(1, trades + 1):
        trade = TradeExecuted(i, m.symbol, m.max_price_ticks, m.max_lots, 2 * i, 2 * i - 1, 1000, 1001, "Bid", 0, 0, i)
        deposit = Deposited(1000, "USDC", MAX_AMOUNT_ATOMS, f"sandbox:{i}")
        store.project(i, i, [trade, deposit])
    store.commit()
    store.wait_visible()
    lot_ticks = trades * m.max_lots * m.max_price_ticks
    assert lot_ticks > INT64_MAX
    ticker = wait(store.ticker(m.symbol, 0))
    assert (ticker["count"], ticker["lots"], ticker["lot_ticks"]) == (trades, trades * m.max_lots, lot_ticks)
    (kline,) = wait(store.klines(m.symbol, 10**9, 0, 10**9))
    assert (kline["n"], kline["lots"], kline["lot_ticks"]) == (trades, trades * m.max_lots, lot_ticks)
    assert (kline["open"], kline["close"]) == (m.max_price_ticks, m.max_price_ticks)
    assert store.deposit_totals("sandbox:", trades) == {"USDC": trades * MAX_AMOUNT_ATOMS}
    assert wait(store.ticker("SOL_USDC", 0))["lot_ticks"] == 0  # no trades: zero, not None
