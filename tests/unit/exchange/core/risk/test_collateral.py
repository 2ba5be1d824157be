"""Collateral valuation, computed independently: quantity x index x weight, rounded down."""

from __future__ import annotations

from rucksack.exchange.core.commands import BorrowLend, Deposit, PlaceOrder, SetIndexPrice
from rucksack.exchange.core.numeric import WAD
from rucksack.exchange.core.risk.collateral import account_risk
from rucksack.exchange.core.risk.haircut import Haircut, weight
from tests.conftest import Driver, default_spec


def test_inverse_sqrt_weight() -> None:
    h = Haircut(weight=9 * 10**17, kind="inverseSqrt", base=11 * 10**17, penalty=10**13)
    assert weight(h, 15_000 * 10**6, 6) == 9 * 10**17  # small holdings: the flat weight
    # $10B: sqrt(1e10) = 1e5; 1.1 / (1 + 0.00001 * 1e5) = 0.55
    assert weight(h, 10**10 * 10**6, 6) == 55 * 10**16
    # $1B: sqrt(1e9) = 31622.776...; 1.1 / 1.31622776... = 0.835710...
    w = weight(h, 10**9 * 10**6, 6)
    assert abs(w - int(1.1 / (1 + 0.00001 * 10**4.5) * WAD)) < 10**6
    assert weight(Haircut(weight=WAD), 10**20, 6) == WAD


def test_account_net_equity() -> None:
    d = Driver(default_spec())
    a = 1000
    d(Deposit(a, "USDC", 1_000 * 10**6, "u"))
    d(Deposit(a, "SOL", 100 * 10**9, "s"))
    d(Deposit(a, "ETH", 2 * 10**8, "e"))
    # no index prices yet: only USDC counts
    assert account_risk(d.engine, a).net_equity == 1_000 * 10**6
    d(SetIndexPrice("SOL_USDC", 15_000))  # 150.00
    d(BorrowLend(a, "USDC", "Lend", 400 * 10**6))  # lent USDC still counts fully
    d(PlaceOrder(a, "SOL_USDC", "Ask", "Limit", lots=1_000, price=16_000))  # 10 SOL locked, still counted
    risk = account_risk(d.engine, a)
    # 1000 USDC + 100 SOL x 150 x 0.9 = 1000 + 13500; ETH has no index: 0
    assert risk.collateral_value == (1_000 + 13_500) * 10**6
    assert risk.assets_value == (1_000 + 15_000) * 10**6
    assert risk.net_equity == risk.collateral_value and risk.liabilities_value == 0
    rows = {r.symbol: r for r in risk.assets}
    assert rows["USDC"].lent == 400 * 10**6 and rows["USDC"].available == 600 * 10**6
    assert rows["SOL"].locked == 10 * 10**9 and rows["SOL"].weight == 9 * 10**17
    assert rows["ETH"].collateral_value == 0 and rows["ETH"].price_ticks == 0


def test_net_equity_is_the_sum_of_its_collateral_rows_on_a_large_wallet() -> None:
    """One rounding for the collateral of an asset: the inverseSqrt weight truncated to 9
    decimals, then value x weight rounded down — in the engine's net equity and in the rows."""
    from fractions import Fraction as F

    from tests.unit.exchange.core.perps.helpers import sqrt_frac

    d = Driver(default_spec())
    a = 1000
    d(Deposit(a, "USDC", 1_234_567_891, "u"))  # 1,234.567891 USDC
    d(Deposit(a, "SOL", 10_000_000 * 10**9 + 123_456_789, "s"))  # 10,000,000.123456789 SOL
    d(SetIndexPrice("SOL_USDC", 20_000))  # 200.00: a $2-billion wallet
    value = F(10_000_000 * 10**9 + 123_456_789, 10**9) * 200  # USD
    value_atoms = int(value * 10**6)  # rounded down
    # W = min(0.9, 1.1 / (1 + 0.00001 x sqrt(USD))), truncated to 9 decimals
    w_exact = min(F(9, 10), F(11, 10) / (1 + F(1, 100_000) * sqrt_frac(F(value_atoms, 10**6))))
    w9 = F(int(w_exact * 10**9), 10**9)
    cv = int(value_atoms * w9)
    risk = account_risk(d.engine, a)
    rows = {r.symbol: r for r in risk.assets}
    assert F(rows["SOL"].weight, WAD) == w9 and rows["SOL"].collateral_value == cv
    assert rows["USDC"].collateral_value == 1_234_567_891
    assert risk.collateral_value == sum(r.collateral_value for r in risk.assets) == cv + 1_234_567_891
    # the engine's net equity is that same sum, to the atom
    margin = d.engine.margin.compute(d.engine.ledger.accounts[a])
    assert margin.collateral == margin.equity == risk.net_equity == cv + 1_234_567_891
