"""Hourly funding from premium samples (reference model §14.4).

Each index update of a perp samples ``premium = (mark - index) / index`` (WAD, truncated toward
zero). At the hour, with ``P`` the mean sample (truncated toward zero; 0 without samples):

    F = clamp((P + clamp(I - P, -C, +C)) / D, -bound, +bound)

with ``I`` the 8-hour interest term (0.01%), ``C`` the clamp (0.05%), ``D`` the divisor (8: an
hourly interval pays an eighth of the 8-hour rate) and ``bound`` the market's funding bound.
Every position pays ``F * lots * mark * lot_tick_atoms`` settlement atoms: longs pay shorts when
``F > 0``. Payers' amounts round up and receivers' down; the difference goes to the liquidity
fund, so funding is exactly zero-sum across accounts and the fund. Amounts move between
unsettled balances (one ``ledger.plan.Plan`` per market, applied whole); the settlement tick
turns them into USDC.

The first ``ApplyFunding`` only sets the clock; each later one with a new hour pays one interval
(hours missed while the exchange was down are not paid twice, nor back-filled).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.events import FundingPaid
from rucksack.exchange.core.ledger.plan import Plan, apply
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.numeric import WAD, ceil_div

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def _trunc_div(a: int, b: int) -> int:
    return a // b if a >= 0 else -(-a // b)


def sample_premium(m: MarketState, mark: int) -> None:
    index = m.index_price
    if index > 0 and mark > 0:
        m.premium_sum += _trunc_div((mark - index) * WAD, index)
        m.premium_count += 1


def funding_rate(premium_mean: int, interest: int, clamp: int, divisor: int, bound: int) -> int:
    """The interval's rate in WAD (see the module docstring)."""
    gap = interest - premium_mean
    gap = -clamp if gap < -clamp else clamp if gap > clamp else gap
    rate = _trunc_div(premium_mean + gap, divisor)
    if bound:
        rate = -bound if rate < -bound else bound if rate > bound else rate
    return rate


def apply_funding(engine: ExchangeState, hour: int) -> None:
    if engine.last_funding_hour < 0 or hour <= engine.last_funding_hour:
        if hour > engine.last_funding_hour:
            engine.last_funding_hour = hour
        return
    engine.last_funding_hour = hour
    risk = engine.risk
    accounts = engine.ledger.accounts
    fund = accounts[risk.liquidity_fund_account]
    holders = sorted(a for a, acct in accounts.items() if acct.positions)
    for m in engine.markets:
        if not m.is_perp or m.spec.premarket is not None:  # a pre-market has no index: no funding
            continue
        mean = _trunc_div(m.premium_sum, m.premium_count) if m.premium_count else 0
        rate = funding_rate(
            premium_mean=mean,
            interest=risk.funding_interest_wad,
            clamp=risk.funding_clamp_wad,
            divisor=risk.funding_divisor,
            bound=m.spec.funding_bound_wad,
        )
        m.premium_sum = 0
        m.premium_count = 0
        m.last_funding_rate = rate
        mark = m.valuation_price()
        if not rate or not mark:
            continue
        paid = received = 0
        unit = mark * m.lot_tick_atoms
        plan = Plan()
        for account in holders:
            acct = accounts[account]
            pos = acct.positions.get(m.index)
            if pos is None or not pos.lots:
                continue
            amount = rate * pos.lots * unit  # WAD-scaled; positive: this position pays
            flow = -ceil_div(amount, WAD)  # a payer's amount rounds up, a receiver's down
            plan.owe(acct, flow)
            pos.funding += flow  # the position's running total, for display
            if flow < 0:
                paid -= flow
            else:
                received += flow
        apply(engine.ledger, plan.owe(fund, paid - received))
        engine.events.append(
            FundingPaid(market=m.symbol, hour=hour, rate_wad=rate, mark_price=mark, paid=paid, received=received)
        )
