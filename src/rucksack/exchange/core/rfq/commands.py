"""RFQ commands (journaled like every command; ``core.commands.Command`` includes them).

Prices are ticks and quantities lots of the RFQ's market, ``quote_atoms`` quote-asset atoms;
``client_id`` < 0 means none; ids are the engine's RFQ and quote counters.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from rucksack.exchange.core.enums import Side

ExecutionMode = Literal["AwaitAccept", "Immediate"]


class SubmitRfq(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Ask makers for a price: ``lots`` or ``quote_atoms`` (one of them); ``price`` (ticks) is
    the bound an ``Immediate`` RFQ executes the first good enough quote at."""

    account: int
    market: str
    side: Side
    lots: int = 0
    quote_atoms: int = 0
    price: int = 0
    client_id: int = -1
    mode: ExecutionMode = "AwaitAccept"
    auto_borrow: bool = False
    auto_borrow_repay: bool = False
    auto_lend: bool = False
    auto_lend_redeem: bool = False


class SubmitQuote(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A maker's two-sided price for an open RFQ (replaces its earlier quote on that RFQ)."""

    account: int
    rfq_id: int
    bid: int
    ask: int
    client_id: int = -1
    auto_borrow: bool = False
    auto_borrow_repay: bool = False
    auto_lend: bool = False
    auto_lend_redeem: bool = False


class AcceptQuote(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The requester takes ``quote_id`` (its RFQ named by ``rfq_id`` or ``client_id``, or found
    from the quote)."""

    account: int
    quote_id: int
    rfq_id: int = -1
    client_id: int = -1


class RefreshRfq(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Keep an open RFQ open for another ``rfq_ttl_us``; its quotes are cancelled (makers quote anew)."""

    account: int
    rfq_id: int


class CancelRfq(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    rfq_id: int = -1
    client_id: int = -1


class ExpireRfqs(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Scheduler tick (every second): expire the open RFQs whose expiry is at or before the
    command's time."""


RfqCommand = SubmitRfq | SubmitQuote | AcceptQuote | RefreshRfq | CancelRfq | ExpireRfqs
RFQ_COMMANDS = (SubmitRfq, SubmitQuote, AcceptQuote, RefreshRfq, CancelRfq, ExpireRfqs)
