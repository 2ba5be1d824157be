"""RFQ events (``core.events.Event`` includes them). Times are µs, prices ticks, quantities lots."""

from __future__ import annotations

import msgspec


class RfqSubmitted(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    rfq_id: int
    account: int
    market: str
    side: str
    lots: int
    quote_atoms: int
    price: int
    client_id: int
    mode: str
    submitted_us: int
    expiry_us: int


class RfqRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Any refused RFQ command (submit, quote, accept, refresh, cancel); nothing changed."""

    account: int
    rfq_id: int
    client_id: int
    reason: str


class QuoteSubmitted(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    quote_id: int
    rfq_id: int
    account: int
    bid: int
    ask: int
    client_id: int
    ts_us: int


class RfqRefreshed(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    rfq_id: int
    account: int
    expiry_us: int


class RfqFilled(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """An accepted quote settled: the requester (taker) and the quoter (maker) traded ``lots`` at
    ``price``; fees as a book trade's (each on what it receives, rounded up)."""

    fill_id: int
    rfq_id: int
    quote_id: int
    market: str
    requester: int
    quoter: int
    side: str  # the requester's side
    lots: int
    price: int
    quote_atoms: int
    requester_fee: int
    quoter_fee: int
    ts_us: int


class RfqClosed(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """An RFQ ended: ``Filled``, ``Cancelled`` or ``Expired``."""

    rfq_id: int
    account: int
    status: str
    reason: str


class QuoteClosed(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A quote ended: ``Filled`` (accepted), ``Cancelled`` (replaced, or its RFQ ended) or ``Expired``."""

    quote_id: int
    rfq_id: int
    account: int
    status: str


RfqEvent = RfqSubmitted | RfqRejected | QuoteSubmitted | RfqRefreshed | RfqFilled | RfqClosed | QuoteClosed
