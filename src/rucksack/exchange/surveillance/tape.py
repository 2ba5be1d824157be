"""What the detectors read: the released events folded into owners, resting orders and alerts.

``Tape`` is rebuilt from events alone (never from engine state), so the same journal gives the
same tape live and on replay. Owners: ``AccountCreated`` names a subaccount's parent; an
account's owner is its parent or itself. Resting orders: an ``OrderAccepted`` limit order rests
until an ``OrderClosed`` names it, less what ``TradeExecuted`` filled of it.

``Alert`` is what a detector raises: a deterministic, unique id (typology, market, and the id of
its first trade ``T<id>`` or order ``O<id>``, e.g. ``WASH-SOL_USDC-T17``), the seq of the command
holding that evidence, the owner and accounts involved, and evidence in the core's integer units (ticks,
lots, microseconds) which ``evidence_json`` renders as Backpack-style decimal strings and ms.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rucksack.exchange.core.events import AccountCreated, Event, OrderAccepted, OrderClosed, TradeExecuted
from rucksack.exchange.core.markets import MarketSpec

MAX_EVIDENCE = 50  # trades or orders kept per alert (the count says how many there were)


@dataclass(slots=True)
class Rest:
    """An order as surveillance saw it placed (and, once closed, how it ended)."""

    order_id: int
    account: int
    owner: int
    market: str
    side: str
    price: int
    lots: int
    remaining: int
    placed_us: int
    seq: int
    closed_us: int = 0
    status: str = ""
    large: bool = False  # spoofing: judged at the end of the command that placed it


@dataclass(slots=True)
class Fill:
    trade_id: int
    market: str
    price: int
    lots: int
    buyer: int
    seller: int
    taker_side: str
    ts_us: int
    seq: int


@dataclass(slots=True)
class Alert:
    alert_id: str
    typology: str  # WashTrading | Spoofing | Layering | MarkingTheClose | PumpAndDump
    market: str
    owner: int
    accounts: list[int]
    raised_us: int
    seq: int
    summary: str
    orders: list[Rest] = field(default_factory=list)
    trades: list[Fill] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)
    count: int = 0  # trades or orders in evidence, including those past MAX_EVIDENCE
    status: str = "Open"  # Open | Dismissed | Reported | Actioned
    note: str = ""
    resolved_us: int = 0

    def add_trade(self, fill: Fill) -> None:
        self.count += 1
        if len(self.trades) < MAX_EVIDENCE:
            self.trades.append(fill)

    def add_order(self, order: Rest) -> None:
        self.count += 1
        if len(self.orders) < MAX_EVIDENCE:
            self.orders.append(order)


class Depth:
    """Resting lots by market and side: per price for everyone, per price and in total per owner,
    so a detector reads the touch without scanning the book (each update is O(log levels))."""

    def __init__(self) -> None:
        self.levels: dict[tuple[str, str], dict[int, int]] = {}
        self.prices: dict[tuple[str, str], list[int]] = {}  # the levels' prices, ascending
        self.owner_levels: dict[tuple[int, str, str], dict[int, int]] = {}
        self.owner_total: dict[tuple[int, str, str], int] = {}

    def add(self, rest: Rest, lots: int) -> None:
        """``lots`` (negative: fewer) of ``rest``'s owner at its price and side."""
        key = (rest.market, rest.side)
        levels = self.levels.setdefault(key, {})
        prices = self.prices.setdefault(key, [])
        before = levels.get(rest.price, 0)
        if before + lots:
            levels[rest.price] = before + lots
            if not before:
                insort(prices, rest.price)
        elif before:
            del levels[rest.price]
            del prices[bisect_left(prices, rest.price)]
        mine_key = (rest.owner, rest.market, rest.side)
        mine = self.owner_levels.setdefault(mine_key, {})
        left = mine.get(rest.price, 0) + lots
        if left:
            mine[rest.price] = left
        else:
            mine.pop(rest.price, None)
        self.owner_total[mine_key] = self.owner_total.get(mine_key, 0) + lots

    def others(self, market: str, side: str, owner: int) -> Iterator[tuple[int, int]]:
        """``(price, lots)`` resting on ``side`` of ``market`` by anyone but ``owner``, best first."""
        prices = self.prices.get((market, side), [])
        levels = self.levels.get((market, side), {})
        mine = self.owner_levels.get((owner, market, side), {})
        for price in reversed(prices) if side == "Bid" else prices:
            lots = levels[price] - mine.get(price, 0)
            if lots > 0:
                yield price, lots


class Tape:
    """Owners and resting orders, folded from the events (see the module docstring)."""

    def __init__(self) -> None:
        self.depth = Depth()
        self.parents: dict[int, int] = {}
        self.resting: dict[str, dict[int, Rest]] = {}  # market -> order id -> order
        self.closed: dict[int, Rest] = {}  # orders closed by the current command
        self.placed: list[Rest] = []  # orders placed by the current command and still resting

    def owner(self, account: int) -> int:
        return self.parents.get(account, account)

    def begin(self) -> None:
        self.closed = {}
        self.placed = []

    def fold(self, seq: int, ts_us: int, event: Event) -> Fill | None:
        """Fold one event; a trade comes back as a ``Fill`` (buyer and seller accounts)."""
        if isinstance(event, AccountCreated):
            if event.parent:
                self.parents[event.account] = event.parent
        elif isinstance(event, OrderAccepted):
            o = event.order
            if o.order_type == "Limit" and o.lots > 0:
                rest = Rest(
                    event.order_id,
                    o.account,
                    self.owner(o.account),
                    o.market,
                    o.side,
                    o.price,
                    o.lots,
                    o.lots,
                    event.ts_us,
                    seq,
                )
                self.resting.setdefault(o.market, {})[event.order_id] = rest
                self.depth.add(rest, o.lots)
                self.placed.append(rest)
        elif isinstance(event, TradeExecuted):
            book = self.resting.get(event.market, {})
            for order_id in (event.maker_order_id, event.taker_order_id):
                filled = book.get(order_id)
                if filled is not None:
                    filled.remaining -= event.lots
                    self.depth.add(filled, -event.lots)
            buy = event.taker_side == "Bid"
            return Fill(
                event.trade_id,
                event.market,
                event.price,
                event.lots,
                event.taker_account if buy else event.maker_account,
                event.maker_account if buy else event.taker_account,
                event.taker_side,
                event.ts_us,
                seq,
            )
        elif isinstance(event, OrderClosed):
            closed = self.resting.get(event.market, {}).pop(event.order_id, None)
            if closed is not None:
                self.depth.add(closed, -closed.remaining)
                closed.closed_us = ts_us
                closed.status = event.status
                closed.remaining = closed.lots - event.filled_lots
                self.closed[closed.order_id] = closed
        return None


def _decimal(units: int, unit: str) -> str:
    return format(Decimal(units) * Decimal(unit), "f")


def evidence_json(alert: Alert, markets: dict[str, MarketSpec]) -> dict[str, Any]:
    """An alert as the operator API shows it: decimal strings, times in ms."""
    spec = markets.get(alert.market)
    tick = spec.tick_size if spec else "1"
    step = spec.step_size if spec else "1"
    return {
        "id": alert.alert_id,
        "typology": alert.typology,
        "symbol": alert.market,
        "owner": alert.owner,
        "accounts": alert.accounts,
        "raisedAt": alert.raised_us // 1000,
        "seq": alert.seq,
        "summary": alert.summary,
        "status": alert.status,
        "note": alert.note,
        "resolvedAt": alert.resolved_us // 1000 if alert.resolved_us else None,
        "evidence": {
            "count": alert.count,
            "figures": alert.figures,
            "orders": [
                {
                    "orderId": str(o.order_id),
                    "accountId": o.account,
                    "side": o.side,
                    "price": _decimal(o.price, tick),
                    "quantity": _decimal(o.lots, step),
                    "executedQuantity": _decimal(o.lots - o.remaining, step),
                    "placedAt": o.placed_us // 1000,
                    "closedAt": o.closed_us // 1000 if o.closed_us else None,
                    "status": o.status or "New",
                    "lifetimeMs": (o.closed_us - o.placed_us) // 1000 if o.closed_us else None,
                }
                for o in alert.orders
            ],
            "trades": [
                {
                    "tradeId": t.trade_id,
                    "price": _decimal(t.price, tick),
                    "quantity": _decimal(t.lots, step),
                    "buyerAccountId": t.buyer,
                    "sellerAccountId": t.seller,
                    "takerSide": t.taker_side,
                    "timestamp": t.ts_us // 1000,
                }
                for t in alert.trades
            ],
        },
    }
