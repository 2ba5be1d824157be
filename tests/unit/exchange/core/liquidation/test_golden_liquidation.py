"""Golden scenario: a 10x SOL perp long on BTC collateral marched down to liquidation.

Expected numbers come from plain arithmetic on the published formulas (Fractions, square roots
by Newton iteration), never from the engine's helpers.
"""

from __future__ import annotations

from fractions import Fraction as F

from rucksack.exchange.core.commands import LiquidationSweep, PlaceOrder, SettlePnl
from rucksack.exchange.core.events import LiquidationEnded, LiquidationStarted, TradeExecuted
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from tests.unit.exchange.core.perps.helpers import BTC, USDC, PerpDriver, sqrt_frac

PERP = "SOL_USDC_PERP"
IMF_BASE, IMF_FACTOR = F("0.05"), F("0.0002236")
MMF_BASE, MMF_FACTOR = F("0.025"), F("0.00013416")
TAKER, MAKER, LIQ_FEE = F("0.0005"), F("0.0002"), F("0.01")


def usd(atoms: int) -> F:
    return F(atoms, USDC)


def maintenance(size: F, price: F) -> F:
    x = size * price
    return x * max(MMF_BASE, MMF_FACTOR * sqrt_frac(x))


def initial(size: F, price: F) -> F:
    x = size * price
    return x * max(IMF_BASE, F(1, 50), IMF_FACTOR * sqrt_frac(x))


def setup() -> tuple[PerpDriver, int, int]:
    d = PerpDriver()
    maker = d.new_account(USDC=10_000_000 * USDC)
    trader = d.new_account(BTC=BTC // 10)
    d.index("BTC", "60000")
    d.index("SOL", "150")
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=38_000, price=15_000))
    events = d(PlaceOrder(trader, PERP, "Bid", "Market", lots=38_000))
    assert any(isinstance(e, TradeExecuted) for e in events)
    assert all(e.liquidation_fee == 0 for e in events if isinstance(e, TradeExecuted))  # not a liquidation
    return d, maker, trader


def test_entry_margin_matches_the_formulas() -> None:
    d, _, trader = setup()
    # 0.1 BTC at 60,000: inverseSqrt weight min(0.95, 1.1 / (1 + 0.000005 sqrt(6000))) = 0.95
    weight = min(F("0.95"), F("1.1") / (1 + F("0.000005") * sqrt_frac(F(6000))))
    collateral = F(6000) * weight
    fee = F(57_000) * TAKER
    r = d.margin(trader)
    assert usd(r.collateral) == collateral == 5700
    assert usd(r.equity) == collateral - fee
    # fractions are applied in parts per billion, rounded up: within 1e-9 of the notional + 1 atom
    slack = F(57_000, 10**9) + F(1, USDC)
    assert 0 <= usd(r.im) - initial(F(380), F(150)) <= slack
    assert 0 <= usd(r.mm) - maintenance(F(380), F(150)) <= slack


def test_marched_down_liquidation_starts_exactly_where_the_formula_says() -> None:
    d, maker, trader = setup()
    fee = F(57_000) * TAKER
    expected_start = None
    for cents in range(15_000, 12_000, -100):
        price = F(cents, 100)
        equity = 5700 + 380 * (price - 150) - fee
        if expected_start is None and equity <= maintenance(F(380), price):
            expected_start = cents
        d.index("SOL", str(price))
        events = d(LiquidationSweep())
        started = [e for e in events if isinstance(e, LiquidationStarted)]
        if started:
            assert cents == expected_start == 13_900
            assert usd(started[0].net_equity) == equity
            break
    else:  # pragma: no cover
        raise AssertionError("never liquidated")

    # stage 1: reduce-only IOC slices of 10% (min $1000) against a bid at 138.90, 1% fee each
    d(PlaceOrder(maker, PERP, "Bid", "Limit", lots=100_000, price=13_890))
    mark, fill = F("139"), F("138.90")
    size = F(380)
    equity = 5700 + 380 * (mark - 150) - fee
    sweeps = 0
    while True:
        events = d(LiquidationSweep())
        sweeps += 1
        trades = [e for e in events if isinstance(e, TradeExecuted)]
        slice_lots = max(-(-int(size * 100) // 10), -(-1000 * 100 // 139) // 100 * 100)  # 10% of lots, >= $1000
        slice_size = F(slice_lots, 100)
        assert len(trades) == 1 and F(trades[0].lots, 100) == slice_size and trades[0].price == 13_890
        notional = slice_size * fill
        # the penalty travels on the trade, so read models need not re-derive it
        assert 0 <= usd(trades[0].liquidation_fee) - notional * LIQ_FEE < F(1, USDC)
        assert trades[0].liquidation_fee < trades[0].taker_fee
        equity += slice_size * (fill - mark) - notional * (TAKER + LIQ_FEE)
        size -= slice_size
        assert d.acct(trader).positions[d.engine.market_by_symbol[PERP].index].lots == int(size * 100)
        r = d.margin(trader)
        assert abs(usd(r.equity) - equity) <= F(2, USDC)  # each fee rounds up by < 1 atom
        if any(isinstance(e, LiquidationEnded) for e in events):
            assert maintenance(size, mark) <= F("0.95") * equity + F(2, USDC)
            break
        assert maintenance(size, mark) > F("0.95") * equity - F(2, USDC)
    assert sweeps == 2 and not d.acct(trader).liquidating
    # the liquidity fund received the 1% fees
    fund = d.acct(d.engine.risk.liquidity_fund_account)
    assert usd(fund.unsettled) == sum(F(t, 100) for t in (3800, 3420)) * fill * LIQ_FEE
    # settlement realizes everything; replay from a snapshot gives the same state
    d(SettlePnl())
    restored = restore(d.spec, decode_snapshot(encode_snapshot(take_snapshot(d.engine))))
    assert state_hash(restored) == state_hash(d.engine)


def test_a_liquidating_account_cannot_trade_or_withdraw() -> None:
    d, _, trader = setup()
    d.index("SOL", "139")
    d(LiquidationSweep())
    assert d.acct(trader).liquidating
    [rejected] = d(PlaceOrder(trader, PERP, "Bid", "Limit", lots=100, price=13_900))
    assert rejected.reason == "AccountLiquidating"  # type: ignore[union-attr]
    from rucksack.exchange.core.commands import Withdraw

    [w] = d(Withdraw(trader, "BTC", 1, "w"))
    assert w.reason == "InsufficientMargin"  # type: ignore[union-attr]
