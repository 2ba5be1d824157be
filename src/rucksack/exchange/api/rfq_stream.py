"""The ``account.rfqUpdate[.<symbol>]`` WebSocket stream (backpack-api.md §5.3), fed by released
RFQ events like the hub's other streams.

Who hears what:
- an RFQ opened or refreshed goes to every subscriber (``rfqActive`` / ``rfqRefreshed``): they are
  the makers; the requester's own frame carries its ``C`` (client id), the makers' frames never
  name the requester;
- the requester hears each new quote (``rfqCandidate``: ``u`` the quote, ``p`` its price on the
  requester's side) and its RFQ's end (``rfqFilled``, ``rfqCancelled`` with ``X`` Cancelled or
  Expired);
- a quoter hears its quote's end: ``quoteAccepted`` (filled) or ``quoteCancelled``.

``E``/``T`` are µs like every stream here; ``w`` (quote deadline) and ``W`` (expiry) are ms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rucksack.exchange.api.routes.rfq import market_wire
from rucksack.exchange.core import queries
from rucksack.exchange.core.enums import OrderStatus
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.rfq.book import Rfq
from rucksack.exchange.core.rfq.events import (
    QuoteClosed,
    QuoteSubmitted,
    RfqClosed,
    RfqFilled,
    RfqRefreshed,
    RfqSubmitted,
)

if TYPE_CHECKING:
    from rucksack.exchange.api.ws import Hub

STREAM = "account.rfqUpdate"


class RfqStream:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.service = hub.service

    def on_events(self, ts_us: int, events: list[Event]) -> None:
        for ev in events:
            if isinstance(ev, RfqSubmitted):
                self._broadcast(ev.rfq_id, "rfqActive", ts_us)
            elif isinstance(ev, RfqRefreshed):
                self._broadcast(ev.rfq_id, "rfqRefreshed", ts_us)
            elif isinstance(ev, QuoteSubmitted):
                rfq = self._rfq(ev.rfq_id)
                price = ev.ask if rfq.side == "Bid" else ev.bid
                self._send(rfq.account, rfq, "rfqCandidate", ts_us, u=str(ev.quote_id), p=self._price(rfq, price))
            elif isinstance(ev, RfqFilled):
                rfq = self._rfq(ev.rfq_id)
                mw = market_wire(self.service, rfq.market)
                fill: dict[str, Any] = {
                    "u": str(ev.quote_id),
                    "p": mw.price(ev.price),
                    "l": mw.qty(ev.lots),
                    "L": mw.quote_amount(ev.quote_atoms),
                }
                self._send(ev.requester, rfq, "rfqFilled", ts_us, X=OrderStatus.FILLED, **fill)
                self._send(ev.quoter, rfq, "quoteAccepted", ts_us, X=OrderStatus.FILLED, maker=True, **fill)
            elif isinstance(ev, RfqClosed) and ev.status != OrderStatus.FILLED:
                self._send(ev.account, self._rfq(ev.rfq_id), "rfqCancelled", ts_us, X=ev.status)
            elif isinstance(ev, QuoteClosed) and ev.status != OrderStatus.FILLED:
                rfq = self._rfq(ev.rfq_id)
                self._send(ev.account, rfq, "quoteCancelled", ts_us, X=ev.status, u=str(ev.quote_id), maker=True)

    def _rfq(self, rfq_id: int) -> Rfq:
        return queries.rfq_book(self.service.engine).rfqs[rfq_id]

    def _price(self, rfq: Rfq, ticks: int) -> str:
        return market_wire(self.service, rfq.market).price(ticks)

    def frame(self, rfq: Rfq, kind: str, ts_us: int, *, maker: bool, **extra: Any) -> dict[str, Any]:
        mw = market_wire(self.service, rfq.market)
        data: dict[str, Any] = {
            "e": kind,
            "E": ts_us,
            "R": str(rfq.id),
            "s": rfq.market,
            "S": rfq.side,
            "w": rfq.expiry_us // 1000,
            "W": rfq.expiry_us // 1000,
            "X": rfq.status if rfq.status == OrderStatus.NEW else extra.get("X", rfq.status),
            "T": ts_us,
        }
        if rfq.lots:
            data["q"] = mw.qty(rfq.lots)
        if rfq.quote_atoms:
            data["Q"] = mw.quote_amount(rfq.quote_atoms)
        if not maker and rfq.client_id >= 0:
            data["C"] = str(rfq.client_id)
        data.update((k, v) for k, v in extra.items() if k != "X")
        return data

    def _send(self, account: int, rfq: Rfq, kind: str, ts_us: int, *, maker: bool = False, **extra: Any) -> None:
        frame = None
        for conn, stream in self._subscribers():
            if conn.account == account and self._wants(stream, rfq):
                frame = frame or self.frame(rfq, kind, ts_us, maker=maker, **extra)
                conn.send(stream, frame)

    def _broadcast(self, rfq_id: int, kind: str, ts_us: int) -> None:
        rfq = self._rfq(rfq_id)
        for conn, stream in self._subscribers():
            if self._wants(stream, rfq):
                conn.send(stream, self.frame(rfq, kind, ts_us, maker=conn.account != rfq.account))

    def _subscribers(self) -> list[tuple[Any, str]]:
        return [(c, s) for c in self.hub.connections for s in c.streams if s == STREAM or s.startswith(STREAM + ".")]

    @staticmethod
    def _wants(stream: str, rfq: Rfq) -> bool:
        return stream == STREAM or stream == f"{STREAM}.{rfq.market}"


def valid(service: Any, stream: str) -> bool:
    """``account.rfqUpdate`` or ``account.rfqUpdate.<RFQ symbol>`` (equity symbols hold a dot)."""
    if stream == STREAM:
        return True
    symbol = stream.removeprefix(STREAM + ".")
    return stream.startswith(STREAM + ".") and queries.rfq_market(service.engine, symbol) is not None
