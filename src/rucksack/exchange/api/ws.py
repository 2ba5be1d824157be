"""WebSocket at ``/ws``: Backpack's public streams and signed ``account.*`` streams.

The hub listens to released (durable) events; what it knows of open orders (side, price,
quantity, fills so far) comes from the service's open-orders read model
(``open_orders.OpenOrders``), as the per-event steps handed over with each command's events, so
depth deltas and order updates describe each order as of that event. Every frame is
``{"stream": <exact subscribed name>, "data": {...}}`` with µs timestamps ``E``/``T``.

Streams: ``depth.<s>`` (every change), ``depth.200ms.<s>``, ``depth.600ms.<s>``, ``depth.1000ms.<s>``
(the levels changed within the interval, each at its size when the interval ends; ``U`` the first
and ``u`` the last sequence number folded in), ``trade.<s>``, ``bookTicker.<s>``, ``ticker.<s>`` (every second),
``kline.<interval>.<s>``, ``markPrice.<s>``, ``openInterest.<s>`` (on change, checked each second,
and every 60 s), ``liquidation`` (liquidation fills and backstop/ADL transfers), the stock quote
streams ``stockPrice.<T>``, ``stockIndicativeQuote.<T>``, ``externalTicker.<asset>_USDC`` (every
second: ``stock_stream``); signed:
``account.orderUpdate[.<s>]``, ``account.balanceUpdate``, ``account.positionUpdate[.<s>]``
(``positionOpened``/``positionAdjusted``/``positionClosed`` after perp fills, liquidation
transfers, funding and settlement; the open positions, without ``e``, on subscribe);
``account.rfqUpdate[.<s>]`` (RFQs to makers, quotes and fills to requesters: ``rfq_stream``).

A client that stops reading is disconnected once ``MAX_QUEUE`` frames wait for it, so a slow
consumer never holds the sequencer back; error replies count towards the same bound. Client
frames: text only (a binary frame closes with 1003), at most ``MAX_FRAME`` bytes (larger: 1009),
nested at most ``payload.MAX_DEPTH`` levels (deeper: a 4000 error frame, checked before parsing).
More than ``MAX_ERRORS`` error replies within ``ERROR_WINDOW_S`` seconds close the connection
with 1008, so invalid frames cost the server a bounded amount of memory and work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from rucksack.exchange import metrics
from rucksack.exchange.api import rfq_stream, stock_stream
from rucksack.exchange.api.errors import ApiError
from rucksack.exchange.api.open_orders import OrderStep, Steps
from rucksack.exchange.api.payload import MAX_DEPTH, too_deep
from rucksack.exchange.api.rfq_stream import RfqStream
from rucksack.exchange.api.routes.common import KLINE_SECONDS
from rucksack.exchange.api.routes.market import funding_estimates as _estimates
from rucksack.exchange.api.routes.market import ticker_json
from rucksack.exchange.api.wire import format_atoms, iso_seconds
from rucksack.exchange.core import queries
from rucksack.exchange.core.enums import OrderStatus
from rucksack.exchange.core.events import (
    ApiKeyRemoved,
    Deposited,
    Event,
    FundingPaid,
    IndexPriceSet,
    LiquidationEnded,
    LiquidationStarted,
    OrderAccepted,
    OrderClosed,
    OrderModified,
    PnlSettled,
    PositionTransferred,
    TradeExecuted,
    Transferred,
    TriggerAccepted,
    Withdrawn,
)
from rucksack.exchange.core.rfq.events import RfqFilled
from rucksack.exchange.service import ExchangeService

log = logging.getLogger("rucksack.ws")
MAX_QUEUE = 10_000
MAX_FRAME = 1 << 20  # bytes of one client frame (uvicorn's ws_max_size)
MAX_ERRORS = 10  # error replies allowed per window; one more closes the connection (1008)
ERROR_WINDOW_S = 10.0
CLOSE_GRACE_S = 5.0  # how long a closing connection may take to drain what was queued before it
PRIVATE_ACCEPTED = ("account.positionUpdate",)
DEPTH_INTERVALS_MS = (200, 600, 1000)  # Backpack's aggregated depth streams: depth.<ms>ms.<symbol>
OPEN_INTEREST_PERIOD_US = 60_000_000
_encode = msgspec.json.Encoder().encode


@dataclass
class Connection:
    socket: WebSocket
    streams: set[str] = field(default_factory=set)
    account: int | None = None
    api_key: str | None = None  # the key the private streams were opened with
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    close_reason: str = ""
    close_code: int = 1008
    errors: int = 0  # error replies in the current window
    window_start: float = 0.0

    def send(self, stream: str, data: dict[str, Any]) -> None:
        self._put(_encode({"stream": stream, "data": data}))

    def error(self, request_id: Any, code: int, message: str) -> None:
        """An error reply; past ``MAX_ERRORS`` in ``ERROR_WINDOW_S`` the connection is closed instead."""
        now = time.monotonic()
        if now - self.window_start >= ERROR_WINDOW_S:
            self.window_start, self.errors = now, 0
        self.errors += 1
        if self.errors > MAX_ERRORS:
            self.close("too many invalid messages")
            return
        self._put(_encode({"id": request_id, "error": {"code": code, "message": message}}))

    def _put(self, frame: bytes) -> None:
        if self.close_reason:
            metrics.ws_dropped("closing", 1)
            return  # closing: nothing more is written
        if self.queue.qsize() >= MAX_QUEUE:
            metrics.ws_dropped("slow_client", 1)
            self.close("client too slow")
            return
        self.queue.put_nowait(frame)

    def close(self, reason: str, code: int = 1008) -> None:
        """Close with ``code`` (1008: policy violation) once what is queued before it has been written."""
        if not self.close_reason:
            self.close_reason, self.close_code = reason, code
            self.queue.put_nowait(None)  # the writer closes the connection


class Hub:
    def __init__(self, service: ExchangeService) -> None:
        self.service = service
        self.wire = service.wire
        self.connections: list[Connection] = []
        self.best: dict[str, tuple[int, int, int, int]] = {}
        # position stream: last lots sent per (account, market index), to tell opened/adjusted/closed
        self.sent_lots: dict[tuple[int, int], int] = {}
        self.liquidating: set[int] = queries.liquidating_accounts(service.engine)
        self.open_interest: dict[str, tuple[int, int]] = {}  # symbol -> (lots sent, time sent)
        # aggregated depth: stream -> (levels changed since the last flush, first seq, last seq)
        self.depth_pending: dict[str, tuple[set[tuple[str, int]], int, int]] = {}
        service.listeners.append(self.on_events)
        service.on_resync.append(self.resync)
        self.rfq = RfqStream(self)

    def resync(self) -> None:
        """The engine was replaced by a new writer's state (an independent gateway after a
        failover): events between were never seen here, so every connection is closed (1012,
        service restart) for its client to subscribe again, and the sent-state caches start over."""
        for conn in self.connections:
            conn.close("the exchange state was resynchronised; subscribe again", 1012)
        self.best.clear()
        self.sent_lots.clear()
        self.open_interest.clear()
        self.liquidating = queries.liquidating_accounts(self.service.engine)

    # ------------------------------------------------------------------ fan-out

    def subscribers(self, stream: str) -> list[Connection]:
        return [c for c in self.connections if stream in c.streams]

    def on_events(self, seq: int, ts_us: int, events: list[Event], steps: list[Steps]) -> None:
        self.rfq.on_events(ts_us, events)
        touched: dict[str, set[tuple[str, int]]] = {}
        positions: set[tuple[int, str]] = set()  # (account, perp symbol) whose position changed
        funded: set[str] = set()
        for ev, step in zip(events, steps, strict=True):
            if isinstance(ev, TriggerAccepted):
                self._order_event(step[0], "orderAccepted", ts_us, OrderStatus.TRIGGER_PENDING)
            elif isinstance(ev, OrderAccepted):
                accepted = step[0]
                assert accepted is not None
                o = ev.order
                if o.order_type == "Limit":
                    touched.setdefault(o.market, set()).add((o.side, o.price))
                kind = "triggerPlaced" if accepted.order.fired else "orderAccepted"
                self._order_event(accepted, kind, ts_us, OrderStatus.NEW)
            elif isinstance(ev, TradeExecuted):
                self._trade(ev, step, ts_us, touched)
                if self.wire.markets[ev.market].spec.market_type == "PERP":
                    positions.add((ev.taker_account, ev.market))
                    positions.add((ev.maker_account, ev.market))
                    if ev.taker_account in self.liquidating:
                        self._liquidation(ev.market, ev.lots if ev.taker_side == "Ask" else -ev.lots, ev.price, ts_us)
            elif isinstance(ev, OrderClosed):
                closed = step[0]
                if closed is not None:
                    placed = closed.order.placed
                    if placed.order_type == "Limit":
                        touched.setdefault(placed.market, set()).add((placed.side, placed.price))
                    if ev.status == OrderStatus.CANCELLED:
                        self._order_event(closed, "orderCancelled", ts_us, ev.status)
                    elif ev.status == OrderStatus.EXPIRED:
                        self._order_event(closed, "orderExpired", ts_us, ev.status, reason=ev.reason)
                    elif ev.status == OrderStatus.TRIGGER_FAILED:
                        self._order_event(closed, "triggerFailed", ts_us, ev.status, reason=ev.reason)
            elif isinstance(ev, OrderModified):  # a resting reduce-only order cut to its position
                cut = step[0]
                if cut is not None:
                    placed = cut.order.placed
                    touched.setdefault(placed.market, set()).add((placed.side, placed.price))
                    status = OrderStatus.PARTIALLY_FILLED if cut.filled_lots else OrderStatus.NEW
                    self._order_event(cut, "orderModified", ts_us, status)
            elif isinstance(ev, (Deposited, Withdrawn)):
                self._balance(ev.account, ev.asset, ts_us)
            elif isinstance(ev, RfqFilled):  # both parties' base and quote balances moved
                m = queries.rfq_market(self.service.engine, ev.market)
                for account in (ev.requester, ev.quoter):
                    for asset in (m.base, m.quote) if m is not None else ():
                        self._balance(account, asset, ts_us)
            elif isinstance(ev, IndexPriceSet):
                self._mark_price(ev, ts_us)
            elif isinstance(ev, Transferred):
                self._balance(ev.source, ev.asset, ts_us)
                self._balance(ev.target, ev.asset, ts_us)
            elif isinstance(ev, PositionTransferred):
                self._liquidation(ev.market, ev.lots, ev.price, ts_us)
                positions.add((ev.account, ev.market))
                positions.add((ev.counterparty, ev.market))
            elif isinstance(ev, PnlSettled):
                positions.update((ev.account, m) for m in self._position_symbols(ev.account))
            elif isinstance(ev, FundingPaid):
                funded.add(ev.market)
            elif isinstance(ev, LiquidationStarted):
                self.liquidating.add(ev.account)
            elif isinstance(ev, LiquidationEnded):
                self.liquidating.discard(ev.account)
            elif isinstance(ev, ApiKeyRemoved):
                for conn in self.connections:  # a removed key's private streams end with it
                    if conn.api_key == ev.public_key:
                        conn.close("API key removed")
        if funded:
            for account, market in list(self.sent_lots):
                symbol = queries.market_at(self.service.engine, market).symbol
                if symbol in funded:
                    positions.add((account, symbol))
        for account, symbol in sorted(positions):
            self._position(account, symbol, ts_us)
        for symbol, levels in touched.items():
            self._depth(symbol, levels, seq, ts_us)
            self._book_ticker(symbol, seq, ts_us)

    def _trade(self, ev: TradeExecuted, steps: Steps, ts_us: int, touched: dict[str, set[tuple[str, int]]]) -> None:
        mw = self.wire.markets[ev.market]
        taker_buys = ev.taker_side == "Bid"
        touched.setdefault(ev.market, set()).add(("Ask" if taker_buys else "Bid", ev.price))
        stream = f"trade.{ev.market}"
        subs = self.subscribers(stream)
        if subs:
            buyer, seller = (
                (ev.taker_order_id, ev.maker_order_id) if taker_buys else (ev.maker_order_id, ev.taker_order_id)
            )
            data = {
                "e": "trade",
                "E": ts_us,
                "s": ev.market,
                "p": mw.price(ev.price),
                "q": mw.qty(ev.lots),
                "b": str(buyer),
                "a": str(seller),
                "t": ev.trade_id,
                "T": ts_us,
                "m": not taker_buys,
            }
            for c in subs:
                c.send(stream, data)
        for step, is_maker, fee in ((steps[0], False, ev.taker_fee), (steps[1], True, ev.maker_fee)):
            if step is None:
                continue
            placed = step.order.placed
            done = placed.lots and step.filled_lots >= placed.lots
            base_fee = placed.side == "Bid" and mw.spec.market_type != "PERP"
            fee_asset = mw.base.symbol if base_fee else mw.quote.symbol
            decimals = mw.base.decimals if base_fee else mw.quote.decimals
            self._order_event(
                step,
                "orderFill",
                ts_us,
                OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
                fill={
                    "t": ev.trade_id,
                    "l": mw.qty(ev.lots),
                    "L": mw.price(ev.price),
                    "m": is_maker,
                    "n": format_atoms(fee, decimals),
                    "N": fee_asset,
                },
            )
        if mw.spec.market_type != "PERP":
            for account in {ev.taker_account, ev.maker_account}:
                self._balances_of(account, mw, ts_us)

    def _order_event(
        self,
        step: OrderStep | None,
        kind: str,
        ts_us: int,
        status: str,
        *,
        reason: str = "",
        fill: dict[str, Any] | None = None,
    ) -> None:
        if step is None:
            return
        order = step.order
        cmd = order.placed
        streams = ("account.orderUpdate", f"account.orderUpdate.{cmd.market}")
        targets = [(c, s) for c in self.connections if c.account == cmd.account for s in streams if s in c.streams]
        if not targets:
            return
        mw = self.wire.markets[cmd.market]
        data: dict[str, Any] = {"e": kind, "E": ts_us, "s": cmd.market}
        if cmd.client_id >= 0:
            data["c"] = cmd.client_id
        data.update({"S": cmd.side, "o": cmd.order_type.upper(), "f": cmd.tif})
        if cmd.lots:
            data["q"] = mw.qty(cmd.lots)
        if cmd.quote_atoms:
            data["Q"] = mw.quote_amount(cmd.quote_atoms)
        if cmd.order_type == "Limit":
            data["p"] = mw.price(cmd.price)
        data.update(
            {
                "X": status,
                "i": str(order.id),
                "z": mw.qty(step.filled_lots),
                "Z": mw.quote_amount(step.filled_quote),
                "V": cmd.stp,
                "T": ts_us,
                "O": "LIQUIDATION_AUTOCLOSE" if cmd.account in self.liquidating else "USER",
                "r": cmd.reduce_only,
                "y": cmd.post_only,
            }
        )
        if cmd.trigger_price or cmd.take_profit_price or cmd.stop_loss_price:
            default_by = "MarkPrice" if mw.spec.market_type == "PERP" else "LastPrice"
            for key, by_key, price, by in (
                ("P", "B", cmd.trigger_price, cmd.trigger_by),
                ("a", "d", cmd.take_profit_price, cmd.take_profit_by),
                ("b", "g", cmd.stop_loss_price, cmd.stop_loss_by),
            ):
                if price:
                    data[key] = mw.price(price)
                    data[by_key] = by or default_by
            if cmd.trigger_price:
                data["Y"] = mw.qty(cmd.lots)
        if reason:
            data["R"] = reason
        strategy_id = queries.strategy_of_order(self.service.engine, order.id)
        if strategy_id >= 0:  # a Scheduled strategy's slice (core.strategies)
            data["H"] = str(strategy_id)
        if fill:
            data.update(fill)
        for c, s in targets:
            c.send(s, data)

    # ------------------------------------------------------------------ margin streams

    def _position_symbols(self, account: int) -> list[str]:
        acct = queries.account(self.service.engine, account)
        markets = queries.markets(self.service.engine)
        held = {markets[mi].symbol for mi in acct.positions} if acct is not None else set()
        held |= {markets[mi].symbol for a, mi in self.sent_lots if a == account}
        return sorted(held)

    def _position_targets(self, account: int, symbol: str) -> list[tuple[Connection, str]]:
        streams = ("account.positionUpdate", f"account.positionUpdate.{symbol}")
        return [(c, s) for c in self.connections if c.account == account for s in streams if s in c.streams]

    def position_frame(self, account: int, symbol: str, ts_us: int, kind: str | None) -> dict[str, Any]:
        """Backpack's position update keys (§5.3) from the engine's position (``l`` is ``"0"``, as
        Backpack has sent since 2025-09-01)."""
        from rucksack.exchange.api.routes.positions import account_of, position_json

        m = queries.market(self.service.engine, symbol)
        acct = account_of(self.service, account)
        p = position_json(self.service, acct, m, acct.positions.get(m.index), liquidation=False)
        data: dict[str, Any] = {"e": kind} if kind else {}
        data.update(
            {
                "E": ts_us,
                "s": symbol,
                "i": p["positionId"],
                "b": p["breakEvenPrice"],
                "B": p["entryPrice"],
                "f": p["imf"],
                "m": p["mmf"],
                "M": p["markPrice"],
                "q": p["netQuantity"],
                "Q": p["netExposureQuantity"],
                "n": p["netExposureNotional"],
                "p": p["pnlRealized"],
                "P": p["pnlUnrealized"],
                "l": "0",
                "T": ts_us,
            }
        )
        return data

    def _position(self, account: int, symbol: str, ts_us: int) -> None:
        m = queries.market(self.service.engine, symbol)
        key = (account, m.index)
        targets = self._position_targets(account, symbol)
        if not targets:
            self.sent_lots.pop(key, None)
            return
        acct = queries.account(self.service.engine, account)
        pos = acct.positions.get(m.index) if acct is not None else None
        lots = pos.lots if pos is not None else 0
        before = self.sent_lots.get(key, 0)
        if lots == 0 and before == 0:
            return
        kind = "positionOpened" if before == 0 else "positionClosed" if lots == 0 else "positionAdjusted"
        if lots:
            self.sent_lots[key] = lots
        else:
            self.sent_lots.pop(key, None)
        data = self.position_frame(account, symbol, ts_us, kind)
        for c, s in targets:
            c.send(s, data)

    def _snapshot_positions(self, conn: Connection, streams: list[str]) -> None:
        """On subscribe: the open positions, one frame each, without ``e`` (clients ignore them)."""
        if conn.account is None:
            return
        acct = queries.account(self.service.engine, conn.account)
        if acct is None:
            return
        now = self.service.clock()
        markets = queries.markets(self.service.engine)
        for stream in streams:
            parts = stream.split(".")
            for mi in sorted(acct.positions):
                pos = acct.positions[mi]
                symbol = markets[mi].symbol
                if not pos.lots or (len(parts) == 3 and parts[2] != symbol):
                    continue
                self.sent_lots[(conn.account, mi)] = pos.lots
                conn.send(stream, self.position_frame(conn.account, symbol, now, None))

    def _liquidation(self, symbol: str, lots: int, price: int, ts_us: int) -> None:
        """One liquidation: ``lots`` signed from the liquidated position (> 0: a long was sold)."""
        subs = self.subscribers("liquidation")
        if not subs or not lots:
            return
        mw = self.wire.markets[symbol]
        data = {
            "e": "liquidation",
            "E": ts_us,
            "q": mw.qty(abs(lots)),
            "p": mw.price(price),
            "S": "Ask" if lots > 0 else "Bid",
            "s": symbol,
            "T": ts_us,
        }
        for c in subs:
            c.send("liquidation", data)

    def _open_interest(self, now: int) -> None:
        for symbol, mw in self.wire.markets.items():
            if mw.spec.market_type != "PERP":
                continue
            stream = f"openInterest.{symbol}"
            subs = self.subscribers(stream)
            if not subs:
                self.open_interest.pop(symbol, None)
                continue
            lots = queries.market(self.service.engine, symbol).open_interest
            sent = self.open_interest.get(symbol)
            if sent is not None and sent[0] == lots and now - sent[1] < OPEN_INTEREST_PERIOD_US:
                continue
            self.open_interest[symbol] = (lots, now)
            data = {"e": "openInterest", "E": now, "s": symbol, "o": mw.qty(lots)}
            for c in subs:
                c.send(stream, data)

    def _depth(self, symbol: str, levels: set[tuple[str, int]], seq: int, ts_us: int) -> None:
        for ms in DEPTH_INTERVALS_MS:  # folded into the next aggregated frame of each subscribed interval
            aggregated = f"depth.{ms}ms.{symbol}"
            if not self.subscribers(aggregated):
                continue
            pending = self.depth_pending.get(aggregated)
            if pending is None:
                self.depth_pending[aggregated] = (set(levels), seq, seq)
            else:
                pending[0].update(levels)
                self.depth_pending[aggregated] = (pending[0], pending[1], seq)
        stream = f"depth.{symbol}"
        subs = self.subscribers(stream)
        if subs:
            self._send_depth(stream, subs, symbol, levels, seq, seq, ts_us)

    def _send_depth(
        self,
        stream: str,
        subs: list[Connection],
        symbol: str,
        levels: set[tuple[str, int]],
        first: int,
        last: int,
        ts_us: int,
    ) -> None:
        mw = self.wire.markets[symbol]
        state = queries.market(self.service.engine, symbol)
        bids: list[list[str]] = []
        asks: list[list[str]] = []
        for side, price in sorted(levels, key=lambda x: x[1]):
            book = state.bids if side == "Bid" else state.asks
            level = book.levels.get(price)
            (bids if side == "Bid" else asks).append([mw.price(price), mw.qty(level.lots if level else 0)])
        data = {"e": "depth", "E": ts_us, "s": symbol, "a": asks, "b": bids, "U": first, "u": last, "T": ts_us}
        for c in subs:
            c.send(stream, data)

    async def depth_tick(self) -> None:
        """Every 200 ms: flush the aggregated depth streams whose interval has ended."""
        step = DEPTH_INTERVALS_MS[0]
        ticks = 0
        while True:
            await asyncio.sleep(step / 1000)
            ticks += 1
            due = tuple(f"depth.{ms}ms." for ms in DEPTH_INTERVALS_MS if ticks % (ms // step) == 0)
            for stream in [s for s in self.depth_pending if s.startswith(due)]:
                levels, first, last = self.depth_pending.pop(stream)
                subs = self.subscribers(stream)
                if subs:
                    symbol = stream.rsplit(".", 1)[1]
                    self._send_depth(stream, subs, symbol, levels, first, last, self.service.clock())

    def _mark_price(self, ev: IndexPriceSet, ts_us: int) -> None:
        stream = f"markPrice.{ev.market}"
        subs = self.subscribers(stream)
        if not subs:
            return
        mw = self.wire.markets[ev.market]
        data: dict[str, Any] = {
            "e": "markPrice",
            "E": ts_us,
            "s": ev.market,
            "p": mw.price(ev.mark_price),
            "i": mw.price(ev.index_price),
            "T": ts_us,
        }
        if mw.spec.market_type == "PERP":
            rates = {r["symbol"]: r for r in _estimates(self.service, ev.market)}
            if ev.market in rates:
                data["f"] = rates[ev.market]["fundingRate"]
                data["n"] = rates[ev.market]["nextFundingTimestamp"]
        for c in subs:
            c.send(stream, data)

    def _book_ticker(self, symbol: str, seq: int, ts_us: int) -> None:
        state = queries.market(self.service.engine, symbol)
        bid, ask = state.bids.best(), state.asks.best()
        best = (bid.price if bid else 0, bid.lots if bid else 0, ask.price if ask else 0, ask.lots if ask else 0)
        if self.best.get(symbol) == best:
            return
        self.best[symbol] = best
        stream = f"bookTicker.{symbol}"
        subs = self.subscribers(stream)
        if not subs:
            return
        mw = self.wire.markets[symbol]
        data = {
            "e": "bookTicker",
            "E": ts_us,
            "s": symbol,
            "a": mw.price(best[2]) if ask else None,
            "A": mw.qty(best[3]),
            "b": mw.price(best[0]) if bid else None,
            "B": mw.qty(best[1]),
            "u": seq,
            "T": ts_us,
        }
        for c in subs:
            c.send(stream, data)

    def _balances_of(self, account: int, mw: Any, ts_us: int) -> None:
        for asset in (mw.base.symbol, mw.quote.symbol):
            self._balance(account, asset, ts_us)

    def _balance(self, account: int, asset: str, ts_us: int) -> None:
        targets = [c for c in self.connections if c.account == account and "account.balanceUpdate" in c.streams]
        if not targets:
            return
        spec = self.wire.assets[asset]
        engine = self.service.engine
        index = queries.asset_index(engine, asset)
        data = {
            "e": "balanceUpdate",
            "E": ts_us,
            "a": asset,
            "A": format_atoms(queries.available(engine, account, index), spec.decimals),
            "L": format_atoms(queries.locked(engine, account, index), spec.decimals),
            "S": "0",
        }
        for c in targets:
            c.send("account.balanceUpdate", data)

    async def tick(self) -> None:
        """Every second: ticker frames; kline frames for subscribed intervals."""
        while True:
            await asyncio.sleep(1.0)
            now = self.service.clock()
            self._open_interest(now)
            for symbol in self.wire.markets:
                stream = f"ticker.{symbol}"
                subs = self.subscribers(stream)
                if subs and queries.market(self.service.engine, symbol).last_price:  # never traded: nothing to say
                    t = await ticker_json(self.service, symbol, 86_400_000_000)
                    data = {
                        "e": "ticker",
                        "E": now,
                        "s": symbol,
                        "o": t["firstPrice"],
                        "c": t["lastPrice"],
                        "h": t["high"],
                        "l": t["low"],
                        "v": t["volume"],
                        "V": t["quoteVolume"],
                        "n": int(t["trades"]),
                    }
                    for c in subs:
                        c.send(stream, data)
                for interval, seconds in KLINE_SECONDS.items():
                    stream = f"kline.{interval}.{symbol}"
                    subs = self.subscribers(stream)
                    if subs:
                        await self._kline(stream, symbol, seconds * 1_000_000, now, subs)
            self._stock_quotes(now)

    def _stock_quotes(self, now: int) -> None:
        """The subscribed stock quote streams (``stock_stream``), one frame each."""
        for security in self.service.spec.securities:
            for stream in stock_stream.names(security):
                subs = self.subscribers(stream)
                if subs:
                    data = stock_stream.frame(self.service, stream, security, now)
                    for c in subs:
                        c.send(stream, data)

    async def _kline(self, stream: str, symbol: str, step: int, now: int, subs: list[Connection]) -> None:
        mw = self.wire.markets[symbol]
        start = now // step * step
        rows = await self.service.store.klines(symbol, step, start, start + step)
        if not rows:
            return
        r = rows[-1]
        data = {
            "e": "kline",
            "E": now,
            "s": symbol,
            "t": iso_seconds(start),
            "T": iso_seconds(start + step),
            "o": mw.price(r["open"]),
            "c": mw.price(r["close"]),
            "h": mw.price(r["high"]),
            "l": mw.price(r["low"]),
            "v": mw.qty(r["lots"]),
            "n": r["n"],
            "X": False,
        }
        for c in subs:
            c.send(stream, data)

    # ------------------------------------------------------------------ connections

    async def serve(self, socket: WebSocket) -> None:
        await socket.accept()
        conn = Connection(socket)
        self.connections.append(conn)
        metrics.ws_connected(1)
        writer = asyncio.create_task(self._writer(conn))
        try:
            while not conn.close_reason:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    conn.close("binary frames are not supported", 1003)
                else:
                    self._handle(conn, text)
            if conn.close_reason:  # the writer sends what was queued, then the close frame
                await asyncio.wait_for(writer, CLOSE_GRACE_S)
        except (WebSocketDisconnect, RuntimeError, TimeoutError):
            pass
        finally:
            self.connections.remove(conn)
            metrics.ws_connected(-1)
            unsent = conn.queue.qsize() - (1 if conn.close_reason else 0)  # less the close sentinel
            metrics.ws_dropped("disconnected", unsent)  # queued, never written
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def _writer(self, conn: Connection) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # the client left: nothing to write
            while True:
                frame = await conn.queue.get()
                if frame is None:
                    await conn.socket.close(code=conn.close_code, reason=conn.close_reason)
                    return
                await conn.socket.send_text(frame.decode())

    def _handle(self, conn: Connection, text: str) -> None:
        if too_deep(text):
            conn.error(None, 4000, f"Invalid JSON: nested deeper than {MAX_DEPTH} levels")
            return
        try:
            msg = msgspec.json.decode(text)
        except msgspec.DecodeError:
            conn.error(None, 4000, "Invalid JSON")
            return
        if not isinstance(msg, dict):
            conn.error(None, 4000, "Invalid message")
            return
        method, params, request_id = msg.get("method"), msg.get("params"), msg.get("id")
        if (
            method not in ("SUBSCRIBE", "UNSUBSCRIBE")
            or not isinstance(params, list)
            or not all(isinstance(p, str) for p in params)
        ):
            conn.error(request_id, 4000, "Invalid request")
            return
        if method == "UNSUBSCRIBE":
            conn.streams.difference_update(params)
            return
        private = [p for p in params if p.startswith("account.")]
        if private:
            try:
                self._authenticate(conn, msg.get("signature"))
            except ApiError as err:
                conn.error(request_id, 4001, err.message)
                return
        invalid = [p for p in params if not self.valid(p)]
        if invalid:  # the valid streams sent with it are still subscribed
            conn.error(request_id, 4006, "Invalid stream")
            params = [p for p in params if p not in invalid]
        new = [p for p in params if p not in conn.streams]
        conn.streams.update(params)
        for stream in params:
            if stream.startswith("bookTicker."):
                self.best.pop(stream.split(".", 1)[1], None)
            elif stream.startswith("openInterest."):
                self.open_interest.pop(stream.split(".", 1)[1], None)  # the next tick sends the current value
        self._snapshot_positions(conn, [p for p in new if p.startswith("account.positionUpdate")])

    def valid(self, stream: str) -> bool:
        """Whether ``stream`` names a stream this hub serves (a SUBSCRIBE of any other is refused)."""
        parts = stream.split(".")
        markets = self.wire.markets
        if parts[0] == "depth" and len(parts) == 3:
            return parts[1] in {f"{ms}ms" for ms in DEPTH_INTERVALS_MS} and parts[2] in markets
        if parts[0] in ("depth", "trade", "ticker", "bookTicker", "markPrice", "openInterest"):
            return len(parts) == 2 and parts[1] in markets
        if stream == "liquidation":
            return True
        if parts[0] == "kline":
            return len(parts) == 3 and parts[1] in KLINE_SECONDS and parts[2] in markets
        if stream.startswith("account.rfqUpdate"):
            return rfq_stream.valid(self.service, stream)
        if stream.startswith(stock_stream.PREFIXES):
            return stock_stream.security_of(self.service, stream) is not None
        if stream in ("account.orderUpdate", "account.balanceUpdate") or stream.startswith(PRIVATE_ACCEPTED):
            return len(parts) == 2 or (len(parts) == 3 and parts[2] in markets)
        return len(parts) == 3 and parts[1] == "orderUpdate" and parts[2] in markets

    def _authenticate(self, conn: Connection, signature: Any) -> None:
        if not (
            isinstance(signature, list) and len(signature) == 4 and all(isinstance(x, (str, int)) for x in signature)
        ):
            raise ApiError(401, "UNAUTHORIZED", "private streams need a signature [key, sig, timestamp, window]")
        api_key, sig, ts, window = (str(x) for x in signature)
        account = queries.account_for_key(self.service.engine, api_key)
        if account is None:
            raise ApiError(401, "UNAUTHORIZED", "Unknown API key")
        self.service.verifier.check(api_key, sig, ts, window, self.service.now_ms(), "subscribe", [], from_query=False)
        conn.account = account
        conn.api_key = api_key
