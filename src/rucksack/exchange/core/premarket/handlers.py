"""Pre-market handlers: the banded mark, the listing, the reference price and the settlement,
and the isolation rule (docs/premarket.md).

Mark (a pre-market has no index; it is its own index, so funding never accrues on it). At each
``CrankPreMarkets`` (one a second), with ``prev`` the current mark:

- ``raw`` = the book's mid ``(best bid + best ask) // 2`` when both sides quote, else the last
  trade, else ``prev``;
- ``step = max(1, prev x step_ppm // 10**6)`` ticks; ``raw`` is clamped to ``[prev - step,
  prev + step]``;
- then to the band ``[ceil(initial x band_min / 10**6), initial x band_max // 10**6]`` (and the
  market's own price range).

The first mark is the configured initial price. The clamps move the mark, never round it: every
figure is an integer number of ticks.

Listing (``ListPreMarket``, operator): the spot market opens and the reference window
``[start, start + window)`` starts. Each crank adds ``spot price x (now - sampled_to)`` (µs within
the window) to the weighted sum, where the spot price is the spot book's mid, else its last trade,
else nothing (that interval is not counted). Once ``now >= end`` the reference price is
``weighted_sum // weighted_us`` (the time-weighted average, rounded down to a tick), or the last
mark when the spot market had no price in the whole window.

Settlement (inside that crank): every resting order and trigger of the perp is cancelled; the mark
is set to the reference price; an account that is bankrupt at it (net equity < 0) goes through
liquidation's loss waterfall first (``absorb_deficit``: the liquidity fund, then the opposing
positions in profit, pro rata), so it ends at zero and its isolation holds; each position
(accounts in id order) closes at it: ``pnl = lots x price x lot_tick_atoms - cost`` moves into the
account's unsettled balance (zero-sum: the lots of a market sum to zero, so the settlement amounts
move between accounts only), then the ordinary PnL settlement (``perps.settlement``) pays it out
in the same command; the perp is delisted (``Closed``). Conversion to a regular perp is not
offered: settle-and-close is the one path (an index would have to exist first).

Isolation (margin-model.md §1: margin is cross within a subaccount and isolated between
subaccounts): a pre-market is traded from a subaccount that holds nothing else at risk, so its
losses can never reach the owner's other money. An order on a pre-market is refused
(``IsolatedMarginRequired``) from a main account, or from a subaccount with a position or order on
another perp or any borrow; a subaccount with a pre-market position or order may not trade
another market or borrow. Its margin is what its owner transferred into it; liquidation is the
account's as for every account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core import halts
from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.events import IndexPriceSet
from rucksack.exchange.core.ledger.plan import Plan, apply
from rucksack.exchange.core.liquidation.sweep import absorb_deficit
from rucksack.exchange.core.market_status import DELISTED, OPEN
from rucksack.exchange.core.numeric import PPM
from rucksack.exchange.core.perps.settlement import settle_pnl
from rucksack.exchange.core.premarket.book import LISTING, SETTLED, TRADING, PreMarket
from rucksack.exchange.core.premarket.commands import CrankPreMarkets, ListPreMarket, PreMarketCommand
from rucksack.exchange.core.premarket.events import (
    PreMarketListed,
    PreMarketPositionSettled,
    PreMarketRejected,
    PreMarketSettled,
)

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState
    from rucksack.exchange.core.ledger.balances import Account
    from rucksack.exchange.core.market_state import MarketState

LISTED_REASON = "PreMarketListing"
SETTLED_REASON = "PreMarketSettled"
MAX_WINDOW_US = 7 * 86_400_000_000


def apply_command(s: ExchangeState, c: PreMarketCommand) -> None:
    if isinstance(c, CrankPreMarkets):
        crank(s)
    else:
        list_market(s, c)


def banded_mark(m: MarketState) -> int:
    """The next mark of pre-market ``m`` (module docstring)."""
    pre = m.spec.premarket
    assert pre is not None
    prev = m.mark
    bid, ask = m.bids.best_price(), m.asks.best_price()
    raw = (bid + ask) // 2 if bid and ask else (m.last_price or prev)
    step = max(1, prev * pre.step_ppm // PPM)
    mark = min(max(raw, prev - step), prev + step)
    lo = max(-(-pre.initial_price_ticks * pre.band_min_ppm // PPM), m.min_price, 1)
    hi = pre.initial_price_ticks * pre.band_max_ppm // PPM
    if m.max_price:
        hi = min(hi, m.max_price)
    return min(max(mark, lo), hi)


def crank(s: ExchangeState) -> None:
    now = s.last_ts_us
    for symbol, pre in s.premarkets.markets.items():
        if pre.phase == SETTLED:
            continue
        m = s.market_by_symbol[symbol]
        mark = banded_mark(m)
        if mark != m.mark:
            m.index_price = m.mark = mark
            m.index_ts_us = now
            m.basis_ewma = 0
            s.margin.epoch += 1
            s.events.append(IndexPriceSet(symbol, mark, mark))
        if pre.phase == LISTING:
            _sample(s, m, pre, now)
            if now >= pre.end_us:
                _settle(s, m, pre)


def list_market(s: ExchangeState, c: ListPreMarket) -> None:
    m = s.market_by_symbol.get(c.market)
    pre = s.premarkets.markets.get(c.market)
    if m is None or pre is None or m.spec.premarket is None:
        s.events.append(PreMarketRejected(c.market, Reason.UNKNOWN_MARKET))
        return
    if pre.phase != TRADING:
        s.events.append(PreMarketRejected(c.market, Reason.ALREADY_LISTED))
        return
    if not 0 <= c.window_us <= MAX_WINDOW_US:
        s.events.append(PreMarketRejected(c.market, Reason.INVALID_AMOUNT))
        return
    spot = s.market_by_symbol[m.spec.premarket.spot_market]
    now = s.last_ts_us
    pre.phase = LISTING
    pre.start_us = pre.sampled_to_us = now
    pre.end_us = now + (c.window_us or m.spec.premarket.reference_window_us)
    if s.market_status.status[spot.index] != OPEN:
        halts.change_status(s, spot, OPEN, LISTED_REASON)
    s.events.append(PreMarketListed(m.symbol, spot.symbol, pre.start_us, pre.end_us))


def _spot_price(spot: MarketState) -> int:
    bid, ask = spot.bids.best_price(), spot.asks.best_price()
    return (bid + ask) // 2 if bid and ask else spot.last_price


def _sample(s: ExchangeState, m: MarketState, pre: PreMarket, now: int) -> None:
    """Add the spot price over ``(sampled_to, min(now, end)]`` to the running average."""
    upto = min(now, pre.end_us)
    elapsed = upto - pre.sampled_to_us
    if elapsed <= 0:
        return
    assert m.spec.premarket is not None
    price = _spot_price(s.market_by_symbol[m.spec.premarket.spot_market])
    if price > 0:
        pre.weighted_sum += price * elapsed
        pre.weighted_us += elapsed
    pre.sampled_to_us = upto


def _settle(s: ExchangeState, m: MarketState, pre: PreMarket) -> None:
    price = pre.weighted_sum // pre.weighted_us if pre.weighted_us else m.mark
    halts.cancel_all_orders(s, m, SETTLED_REASON)  # no open orders left on any position
    m.index_price = m.mark = price
    m.basis_ewma = 0
    s.margin.epoch += 1
    s.events.append(IndexPriceSet(m.symbol, price, price))
    lta = m.lot_tick_atoms
    holders = sorted(a for a, acct in s.ledger.accounts.items() if m.index in acct.positions)
    for account in holders:  # bankrupt at the reference price: the loss waterfall, as liquidation's
        acct = s.ledger.accounts[account]
        equity = s.margin.compute(acct).equity
        if equity < 0:
            absorb_deficit(s, acct, -equity)  # the liquidity fund, then the opposing winners
    settled = 0
    for account in holders:
        acct = s.ledger.accounts[account]
        pos = acct.positions[m.index]
        lots = pos.lots
        pnl = lots * price * lta - pos.cost
        pos.realized += pnl
        pos.lots = pos.cost = pos.entry_cost = 0
        if pos.is_empty():
            del acct.positions[m.index]
        apply(s.ledger, Plan().owe(acct, pnl))
        if lots or pnl:
            settled += 1
            s.events.append(PreMarketPositionSettled(account, m.symbol, lots, price, pnl))
    m.open_interest = 0
    pre.phase = SETTLED
    pre.settle_price = price
    s.events.append(PreMarketSettled(m.symbol, price, settled, pre.weighted_us))
    settle_pnl(s)  # pay the winners out of the losers now (the ordinary waterfall)
    halts.change_status(s, m, DELISTED, SETTLED_REASON)


# ------------------------------------------------------------------ isolation


def _premarket_exposure(s: ExchangeState, acct: Account) -> bool:
    """Whether ``acct`` holds a position or resting order on a pre-market."""
    return any(s.markets[mi].spec.premarket is not None and not p.is_empty() for mi, p in acct.positions.items())


def _other_risk(s: ExchangeState, acct: Account, market: int) -> bool:
    """Whether ``acct`` holds a position or order on a perp other than ``market``, or a borrow."""
    if any(mi != market and not p.is_empty() for mi, p in acct.positions.items()):
        return True
    return any(bal.borrow_shares for bal in acct.assets)


def order_refusal(s: ExchangeState, account: int, m: MarketState) -> str:
    """The isolation rule for an order of ``account`` on ``m`` ('' when allowed)."""
    acct = s.ledger.accounts.get(account)
    if acct is None:
        return ""
    if m.spec.premarket is None:  # only a subaccount can hold a pre-market (one attribute read on the hot path)
        return Reason.ISOLATED_MARGIN_REQUIRED if acct.parent and _premarket_exposure(s, acct) else ""
    if not acct.parent or _other_risk(s, acct, m.index):
        return Reason.ISOLATED_MARGIN_REQUIRED
    return ""


def borrow_refusal(s: ExchangeState, account: int) -> str:
    """A borrow by an account holding a pre-market position or order is refused."""
    acct = s.ledger.accounts.get(account)
    return Reason.ISOLATED_MARGIN_REQUIRED if acct is not None and _premarket_exposure(s, acct) else ""
