"""The RFQ state: requests, quotes and fills, with their id counters.

Invariants: ``open`` lists exactly the RFQs in status ``New``, ascending by id; an open RFQ's
``expiry_us`` is after the last command that looked at it (expiry runs first in every RFQ
command and on the scheduler's ``ExpireRfqs``); a quote is ``New`` only while its RFQ is open;
a ``Filled`` RFQ has exactly one fill and one ``Filled`` quote. Nothing here holds funds: an
accepted quote is checked and settled within its one command (``rfq.settle``).

Records are mutable msgspec structs (array-like), so the snapshot carries them as they are.
Everything is kept (the RFQ, quote and fill histories are served from here).
"""

from __future__ import annotations

import msgspec

from rucksack.exchange.core.enums import OrderStatus


class AutoFlags(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """Backpack's autoBorrow, autoBorrowRepay, autoLend, autoLendRedeem of one side."""

    borrow: bool = False
    borrow_repay: bool = False
    lend: bool = False
    lend_redeem: bool = False


class Rfq(msgspec.Struct, array_like=True):
    id: int
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
    auto: AutoFlags
    status: str = OrderStatus.NEW
    reason: str = ""
    filled_lots: int = 0
    filled_quote: int = 0
    fill_price: int = 0
    quote_id: int = 0  # the accepted quote
    closed_us: int = 0


class Quote(msgspec.Struct, array_like=True):
    id: int
    rfq_id: int
    account: int
    bid: int
    ask: int
    client_id: int
    created_us: int
    auto: AutoFlags
    status: str = OrderStatus.NEW


class RfqFill(msgspec.Struct, array_like=True, frozen=True):
    id: int
    rfq_id: int
    quote_id: int
    market: str
    requester: int
    quoter: int
    side: str  # the requester's
    lots: int
    price: int
    quote_atoms: int
    requester_fee: int
    quoter_fee: int
    ts_us: int


class RfqRecord(msgspec.Struct, array_like=True, frozen=True):
    """The snapshot's picture of an :class:`RfqBook` (records in id order)."""

    next_rfq_id: int
    next_quote_id: int
    rfqs: list[Rfq]
    quotes: list[Quote]
    fills: list[RfqFill]
    last_prices: list[tuple[str, int]]


class RfqBook:
    def __init__(self) -> None:
        self.rfqs: dict[int, Rfq] = {}
        self.quotes: dict[int, Quote] = {}
        self.fills: list[RfqFill] = []
        self.open: list[int] = []  # open RFQ ids, ascending
        self.quotes_of: dict[int, list[int]] = {}  # RFQ id -> its quote ids, ascending
        self.last_prices: dict[str, int] = {}  # market -> last RFQ fill price (ticks)
        self.next_rfq_id = 1
        self.next_quote_id = 1

    def record(self) -> RfqRecord:
        return RfqRecord(
            next_rfq_id=self.next_rfq_id,
            next_quote_id=self.next_quote_id,
            rfqs=[msgspec.structs.replace(self.rfqs[i]) for i in sorted(self.rfqs)],  # copies: later commands mutate
            quotes=[msgspec.structs.replace(self.quotes[i]) for i in sorted(self.quotes)],
            fills=list(self.fills),
            last_prices=sorted(self.last_prices.items()),
        )

    @classmethod
    def from_record(cls, rec: RfqRecord) -> RfqBook:
        book = cls()
        book.next_rfq_id, book.next_quote_id = rec.next_rfq_id, rec.next_quote_id
        for rfq in rec.rfqs:
            book.rfqs[rfq.id] = msgspec.structs.replace(rfq)  # a copy: the record stays as taken
            if rfq.status == OrderStatus.NEW:
                book.open.append(rfq.id)
        for quote in rec.quotes:
            book.quotes[quote.id] = msgspec.structs.replace(quote)
            book.quotes_of.setdefault(quote.rfq_id, []).append(quote.id)
        book.fills = list(rec.fills)
        book.last_prices = dict(rec.last_prices)
        return book

    def open_client_rfq(self, account: int, client_id: int) -> Rfq | None:
        for rfq_id in self.open:
            rfq = self.rfqs[rfq_id]
            if rfq.account == account and rfq.client_id == client_id:
                return rfq
        return None

    def open_quotes(self, rfq_id: int) -> list[Quote]:
        return [q for q in (self.quotes[i] for i in self.quotes_of.get(rfq_id, [])) if q.status == OrderStatus.NEW]


def check(book: RfqBook) -> list[str]:
    """The invariants of the module docstring (``core.invariants`` runs them in tests)."""
    problems = []
    if book.open != sorted(i for i, r in book.rfqs.items() if r.status == OrderStatus.NEW):
        problems.append("rfq: open list differs from the RFQs in status New")
    filled = {f.rfq_id for f in book.fills}
    for rfq in book.rfqs.values():
        if (rfq.status == OrderStatus.FILLED) != (rfq.id in filled):
            problems.append(f"rfq {rfq.id}: status {rfq.status} but fill recorded: {rfq.id in filled}")
    for quote in book.quotes.values():
        if quote.status == OrderStatus.NEW and book.rfqs[quote.rfq_id].status != OrderStatus.NEW:
            problems.append(f"quote {quote.id}: open on closed rfq {quote.rfq_id}")
    return problems
