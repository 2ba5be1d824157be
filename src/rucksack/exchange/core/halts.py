"""Market status operations: open, halted or delisted, set by the operator or by a circuit breaker.

A market is ``Open`` (orders accepted), ``Halted`` (Backpack's ``CancelOnly``: cancels work, new
orders are refused with ``MarketHalted`` -> 400 ``TRADING_PAUSED``, pending trigger orders wait
and do not fire) or ``Delisted`` (``Closed``: every resting order and trigger is cancelled, new
orders are refused as ``MarketClosed``). Liquidations keep running on a halted market: the risk
engine is never paused, so an account can still be closed out against the book (docs/surveillance.md).

Changes are journaled ``SetMarketStatus`` commands (the operator console) or happen inside
``SetIndexPrice`` (the circuit breaker), so replay reproduces every status and every halt.

Circuit breaker (``ExchangeSpec.circuit_breaker``; off when ``band_ppm`` is 0): each market keeps
the index prices of the last ``window_us`` microseconds (journaled ``SetIndexPrice`` commands and
their timestamps only: deterministic). A new index price above ``lowest x (1 + band)`` or below
``highest x (1 - band)`` of that window halts an open market (reason ``CircuitBreaker``; open
orders are kept). Comparisons are exact integer cross-multiplications, no rounding. Resuming a
market clears its window, so the next price is compared only with prices seen after the resume.

A delisted perp must have no open interest (``OpenInterest``): positions are never stranded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from rucksack.exchange.core.commands import SetMarketStatus
from rucksack.exchange.core.enums import OrderStatus, Reason
from rucksack.exchange.core.events import MarketStatusChanged, MarketStatusRejected
from rucksack.exchange.core.market_status import DELISTED, HALTED, OPEN, STATUSES
from rucksack.exchange.core.numeric import PPM
from rucksack.exchange.core.orders.resting import remove_resting
from rucksack.exchange.core.orders.triggers import cancel_market_triggers

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState
    from rucksack.exchange.core.market_state import MarketState

CIRCUIT_BREAKER: Final = "CircuitBreaker"
HALT_CANCELLED: Final = "MarketHalted"  # the reason on orders a halt or delisting cancels
MAX_REASON: Final = 200  # characters of the operator's reason (it is journaled and evented)


def refusal(s: ExchangeState, m: MarketState) -> str:
    """Why a new order on ``m`` is refused by its status ('' when it is open)."""
    status = s.market_status.status[m.index]
    if status == OPEN:
        return ""
    return Reason.MARKET_HALTED if status == HALTED else Reason.MARKET_CLOSED


def set_status(s: ExchangeState, c: SetMarketStatus) -> None:
    m = s.market_by_symbol.get(c.market)
    reason = ""
    if m is None:
        reason = Reason.UNKNOWN_MARKET
    elif c.status not in STATUSES or len(c.reason) > MAX_REASON:
        reason = Reason.INVALID_STATUS
    elif c.status == DELISTED and m.open_interest:
        reason = Reason.OPEN_INTEREST
    if reason or m is None:
        s.events.append(MarketStatusRejected(c.market, c.status, reason))
        return
    cancelled = _cancel_all(s, m) if c.cancel_orders or c.status == DELISTED else 0
    _change(s, m, c.status, c.reason, cancelled)


def change_status(s: ExchangeState, m: MarketState, status: str, reason: str) -> None:
    """Set ``m``'s status from another command (core.premarket: a listing opens the spot market,
    a settlement delists the perp); delisting cancels every order and trigger first. The caller
    has checked what ``set_status`` checks (a delisted perp has no open interest)."""
    cancelled = _cancel_all(s, m) if status == DELISTED else 0
    _change(s, m, status, reason, cancelled)


def cancel_all_orders(s: ExchangeState, m: MarketState, reason: str = HALT_CANCELLED) -> int:
    """Cancel every resting order and pending trigger of ``m``; return how many."""
    return _cancel_all(s, m, reason)


def _change(
    s: ExchangeState, m: MarketState, status: str, reason: str, cancelled: int, price: int = 0, reference: int = 0
) -> None:
    book = s.market_status
    book.status[m.index] = status
    book.reason[m.index] = reason
    book.since_us[m.index] = s.last_ts_us
    if status == OPEN:
        book.window[m.index] = []
    s.events.append(MarketStatusChanged(m.symbol, status, reason, cancelled, s.last_ts_us, price, reference))


def _cancel_all(s: ExchangeState, m: MarketState, reason: str = HALT_CANCELLED) -> int:
    """Cancel every resting order and pending trigger of ``m`` (ascending ids); return how many."""
    orders = sorted((o for side in (m.bids, m.asks) for o in side.orders()), key=lambda o: o.id)
    for order in orders:
        remove_resting(s, order, OrderStatus.CANCELLED, reason)
    return len(orders) + cancel_market_triggers(s, m.index, reason)


def observe_index(s: ExchangeState, m: MarketState, price: int) -> None:
    """The circuit breaker, at every accepted index price (see the module docstring)."""
    breaker = s.market_status.breaker
    if not breaker.band_ppm:
        return
    book = s.market_status
    now = s.last_ts_us
    window = [(ts, p) for ts, p in book.window[m.index] if now - ts <= breaker.window_us]
    if book.status[m.index] == OPEN and window:
        lo = min(p for _, p in window)
        hi = max(p for _, p in window)
        if price * PPM > lo * (PPM + breaker.band_ppm) or price * PPM < hi * (PPM - breaker.band_ppm):
            ref = lo if price * PPM > lo * (PPM + breaker.band_ppm) else hi
            _change(s, m, HALTED, CIRCUIT_BREAKER, 0, price, ref)
            book.window[m.index] = []
            return
    window.append((now, price))
    book.window[m.index] = window
