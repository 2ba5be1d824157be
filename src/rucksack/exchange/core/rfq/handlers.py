"""RFQ command handlers: submit, quote, accept, refresh, cancel, expire.

Every RFQ command first expires the open RFQs whose time is up (at the command's journaled time,
so replay expires exactly the same ones), then checks everything, then changes state; a refused
command emits one ``RfqRejected`` and changes nothing else.

- **submit**: an RFQ market (``spec.rfq_markets``, or a spot market by its symbol or
  ``<symbol>_RFQ``), a side, ``lots`` or ``quote_atoms``, a price only with ``Immediate``; a
  security trades only inside a session of its calendar, with that session's quantity limits.
- **quote**: a two-sided price from another account, the quoter able to pay its side now; an
  ``Immediate`` RFQ executes the first quote within its price bound at once.
- **accept**: the requester takes an open quote (``AwaitAccept``); ``settle`` moves the funds.
- **refresh** extends an open RFQ by ``rfq_ttl_us`` and cancels its quotes; **cancel** ends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from rucksack.exchange.core.enums import OrderStatus, Reason
from rucksack.exchange.core.markets import MarketSpec
from rucksack.exchange.core.rfq import settle as settlement
from rucksack.exchange.core.rfq.book import AutoFlags, Quote, Rfq, RfqFill
from rucksack.exchange.core.rfq.commands import (
    AcceptQuote,
    CancelRfq,
    ExpireRfqs,
    RefreshRfq,
    RfqCommand,
    SubmitQuote,
    SubmitRfq,
)
from rucksack.exchange.core.rfq.events import (
    QuoteClosed,
    QuoteSubmitted,
    RfqClosed,
    RfqFilled,
    RfqRefreshed,
    RfqRejected,
    RfqSubmitted,
)
from rucksack.exchange.core.rfq.sessions import SecuritySpec, session_at

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

CLIENT_ID_LIMIT = 1 << 32
RFQ_NOT_FOUND = "RfqNotFound"
QUOTE_NOT_FOUND = "QuoteNotFound"
SESSION_CLOSED = "SessionClosed"
SELF_QUOTE = "SelfQuote"


def apply(s: ExchangeState, c: RfqCommand, ts_us: int) -> None:
    """Dispatch one RFQ command (after expiring what is due)."""
    expire_due(s, ts_us)
    if isinstance(c, SubmitRfq):
        submit(s, c, ts_us)
    elif isinstance(c, SubmitQuote):
        quote(s, c, ts_us)
    elif isinstance(c, AcceptQuote):
        accept(s, c, ts_us)
    elif isinstance(c, RefreshRfq):
        refresh(s, c, ts_us)
    elif isinstance(c, CancelRfq):
        cancel(s, c, ts_us)
    else:
        assert isinstance(c, ExpireRfqs)


# ---------------------------------------------------------------------- lookups


def rfq_market(s: ExchangeState, symbol: str) -> MarketSpec | None:
    """The market an RFQ on ``symbol`` trades: an RFQ-only market, else a spot market named by
    its symbol or by ``<symbol>_RFQ``."""
    for m in s.spec.rfq_markets:
        if m.symbol == symbol:
            return m
    spot = s.market_by_symbol.get(symbol.removesuffix("_RFQ"))
    if spot is not None and spot.spec.market_type == "SPOT":
        return spot.spec
    return None


def security_of(s: ExchangeState, market: str) -> SecuritySpec | None:
    for security in s.spec.securities:
        if security.market == market:
            return security
    return None


def session_reason(s: ExchangeState, m: MarketSpec, lots: int, ts_us: int) -> str:
    """Why an RFQ on ``m`` for ``lots`` (0: not known yet) cannot trade now ("" when it can)."""
    security = security_of(s, m.symbol)
    if security is None:
        return ""
    assert s.spec.calendar is not None  # validate_spec: securities come with a calendar
    session = security.session(session_at(s.spec.calendar, ts_us))
    if session is None:
        return SESSION_CLOSED
    if lots and (lots < session.min_lots or (session.max_lots and lots > session.max_lots)):
        return Reason.INVALID_QUANTITY
    return ""


def reject(s: ExchangeState, account: int, rfq_id: int, client_id: int, reason: str) -> None:
    s.events.append(RfqRejected(account, rfq_id, client_id, reason))


def _account_reason(s: ExchangeState, account: int) -> str:
    acct = s.ledger.accounts.get(account)
    if acct is None or s.owner(account) < 0:
        return Reason.UNKNOWN_ACCOUNT
    return Reason.ACCOUNT_LIQUIDATING if acct.liquidating else ""


# ---------------------------------------------------------------------- submit


def submit(s: ExchangeState, c: SubmitRfq, ts_us: int) -> None:
    m = rfq_market(s, c.market)
    reason = _submit_reason(s, c, m, ts_us)
    if reason:
        reject(s, c.account, 0, c.client_id, reason)
        return
    book = s.rfq
    rfq_id = book.next_rfq_id
    book.next_rfq_id = rfq_id + 1
    auto = AutoFlags(c.auto_borrow, c.auto_borrow_repay, c.auto_lend, c.auto_lend_redeem)
    expiry = ts_us + s.spec.rfq_ttl_us
    rfq = Rfq(
        rfq_id, c.account, c.market, c.side, c.lots, c.quote_atoms, c.price, c.client_id, c.mode, ts_us, expiry, auto
    )
    book.rfqs[rfq_id] = rfq
    book.open.append(rfq_id)
    s.events.append(
        RfqSubmitted(
            rfq_id, c.account, c.market, c.side, c.lots, c.quote_atoms, c.price, c.client_id, c.mode, ts_us, expiry
        )
    )


def _submit_reason(s: ExchangeState, c: SubmitRfq, m: MarketSpec | None, ts_us: int) -> str:
    if m is None:
        return Reason.UNKNOWN_MARKET
    if not m.trading:
        return Reason.MARKET_CLOSED
    if c.side not in ("Bid", "Ask") or c.mode not in ("AwaitAccept", "Immediate"):
        return Reason.INVALID_ORDER
    if (c.lots > 0) == (c.quote_atoms > 0) or c.lots < 0 or c.quote_atoms < 0:
        return Reason.INVALID_QUANTITY
    if c.lots and (c.lots < m.min_lots or c.lots > m.max_lots):
        return Reason.INVALID_QUANTITY
    if c.quote_atoms and c.quote_atoms < max(1, m.min_notional_atoms):
        return Reason.INVALID_QUANTITY
    if c.price and c.mode != "Immediate":
        return Reason.INVALID_ORDER  # a price bound only means something to an Immediate RFQ
    if c.price < 0 or (c.price and (c.price < m.min_price_ticks or c.price > m.max_price_ticks)):
        return Reason.INVALID_PRICE
    if c.client_id != -1:
        if not 0 <= c.client_id < CLIENT_ID_LIMIT:
            return Reason.INVALID_ORDER
        if s.rfq.open_client_rfq(c.account, c.client_id) is not None:
            return Reason.DUPLICATE_CLIENT_ID
    return _account_reason(s, c.account) or session_reason(s, m, c.lots, ts_us)


# ---------------------------------------------------------------------- quote


def quote(s: ExchangeState, c: SubmitQuote, ts_us: int) -> None:
    book = s.rfq
    rfq = book.rfqs.get(c.rfq_id)
    reason = _quote_reason(s, c, rfq, ts_us)
    if reason:
        reject(s, c.account, c.rfq_id, c.client_id, reason)
        return
    assert rfq is not None
    for old in book.open_quotes(rfq.id):
        if old.account == c.account:  # a maker's new quote replaces its last one
            _close_quote(s, old, OrderStatus.CANCELLED)
    quote_id = book.next_quote_id
    book.next_quote_id = quote_id + 1
    auto = AutoFlags(c.auto_borrow, c.auto_borrow_repay, c.auto_lend, c.auto_lend_redeem)
    q = Quote(quote_id, rfq.id, c.account, c.bid, c.ask, c.client_id, ts_us, auto)
    book.quotes[quote_id] = q
    book.quotes_of.setdefault(rfq.id, []).append(quote_id)
    s.events.append(QuoteSubmitted(quote_id, rfq.id, c.account, c.bid, c.ask, c.client_id, ts_us))
    if rfq.mode == "Immediate" and _within_bound(rfq, q):
        reason = execute(s, rfq, q, ts_us)
        if reason:  # the requester cannot pay now: its RFQ ends (the quote was good)
            _close_rfq(s, rfq, OrderStatus.CANCELLED, reason, ts_us)


def _within_bound(rfq: Rfq, q: Quote) -> bool:
    if not rfq.price:
        return True
    return q.ask <= rfq.price if rfq.side == "Bid" else q.bid >= rfq.price


def _quote_reason(s: ExchangeState, c: SubmitQuote, rfq: Rfq | None, ts_us: int) -> str:
    if rfq is None or rfq.status != OrderStatus.NEW:
        return RFQ_NOT_FOUND
    m = rfq_market(s, rfq.market)
    assert m is not None
    if s.owner(c.account) < 0 or s.owner(c.account) == s.owner(rfq.account):
        return SELF_QUOTE if s.owner(c.account) >= 0 else Reason.UNKNOWN_ACCOUNT
    for price in (c.bid, c.ask):
        if price < m.min_price_ticks or price > m.max_price_ticks:
            return Reason.INVALID_PRICE
    if c.bid > c.ask:
        return Reason.INVALID_PRICE
    if c.client_id != -1 and not 0 <= c.client_id < CLIENT_ID_LIMIT:
        return Reason.INVALID_ORDER
    reason = _account_reason(s, c.account) or session_reason(s, m, 0, ts_us)
    if reason:
        return reason
    # the quoter must be able to pay its side of the trade now
    q = Quote(
        0,
        rfq.id,
        c.account,
        c.bid,
        c.ask,
        c.client_id,
        ts_us,
        AutoFlags(c.auto_borrow, c.auto_borrow_repay, c.auto_lend, c.auto_lend_redeem),
    )
    _, legs = _legs(s, rfq, q, m)
    if isinstance(legs, str):
        return legs
    quoter = legs[1] if rfq.side == "Bid" else legs[0]
    return settlement.check_leg(s, quoter)


# ---------------------------------------------------------------------- accept and execute


def accept(s: ExchangeState, c: AcceptQuote, ts_us: int) -> None:
    book = s.rfq
    q = book.quotes.get(c.quote_id)
    rfq: Rfq | None = None
    if c.rfq_id >= 0:
        rfq = book.rfqs.get(c.rfq_id)
    elif c.client_id >= 0:
        rfq = book.open_client_rfq(c.account, c.client_id)
    elif q is not None:
        rfq = book.rfqs.get(q.rfq_id)
    if rfq is None or rfq.account != c.account or rfq.status != OrderStatus.NEW:
        reject(s, c.account, c.rfq_id, c.client_id, RFQ_NOT_FOUND)
        return
    if q is None or q.rfq_id != rfq.id or q.status != OrderStatus.NEW:
        reject(s, c.account, rfq.id, c.client_id, QUOTE_NOT_FOUND)
        return
    reason = execute(s, rfq, q, ts_us)
    if reason:
        reject(s, c.account, rfq.id, c.client_id, reason)


def _legs(
    s: ExchangeState, rfq: Rfq, q: Quote, m: MarketSpec
) -> tuple[int, tuple[settlement.Leg, settlement.Leg] | str]:
    """(price, (buyer leg, seller leg)) of ``rfq`` filled by ``q``, or a reason it cannot fill."""
    price = q.ask if rfq.side == "Bid" else q.bid
    lots = rfq.lots or rfq.quote_atoms // (price * m.lot_tick_atoms)
    if lots < m.min_lots or lots > m.max_lots:
        return price, Reason.INVALID_QUANTITY
    base, quote_asset = s.asset_index[m.base], s.asset_index[m.quote]
    base_atoms, quote_atoms = lots * m.lot_atoms, lots * price * m.lot_tick_atoms
    accounts = s.ledger.accounts
    requester, quoter = accounts[rfq.account], accounts[q.account]
    if rfq.side == "Bid":
        buyer = settlement.Leg(requester, rfq.auto, quote_asset, quote_atoms, base, base_atoms)
        seller = settlement.Leg(quoter, q.auto, base, base_atoms, quote_asset, quote_atoms)
    else:
        buyer = settlement.Leg(quoter, q.auto, quote_asset, quote_atoms, base, base_atoms)
        seller = settlement.Leg(requester, rfq.auto, base, base_atoms, quote_asset, quote_atoms)
    return price, (buyer, seller)


def execute(s: ExchangeState, rfq: Rfq, q: Quote, ts_us: int) -> str:
    """Settle ``rfq`` against ``q`` (``rfq.settle``); a reason when it cannot, nothing changed then."""
    m = rfq_market(s, rfq.market)
    assert m is not None
    price, legs = _legs(s, rfq, q, m)
    if isinstance(legs, str):
        return legs
    buyer, seller = legs
    lots = buyer.got_amount // m.lot_atoms
    reason = session_reason(s, m, lots, ts_us)
    for leg in (buyer, seller):
        reason = reason or settlement.check_leg(s, leg)
    if reason:
        return reason
    taker_ppm = s.spot_taker_ppm
    maker_ppm = s.spot_maker_ppm
    requester_buys = rfq.side == "Bid"
    buyer_ppm = (taker_ppm if requester_buys else maker_ppm)[buyer.acct.tier]
    seller_ppm = (maker_ppm if requester_buys else taker_ppm)[seller.acct.tier]
    buyer_fee, seller_fee = settlement.settle(s, m, buyer, seller, buyer_ppm, seller_ppm)
    requester_fee, quoter_fee = (buyer_fee, seller_fee) if requester_buys else (seller_fee, buyer_fee)
    book = s.rfq
    notional = buyer.paid_amount
    fill_id = s.next_trade_id  # RFQ fills share the trade id sequence with book trades
    s.next_trade_id = fill_id + 1
    fill = RfqFill(
        fill_id,
        rfq.id,
        q.id,
        rfq.market,
        rfq.account,
        q.account,
        rfq.side,
        lots,
        price,
        notional,
        requester_fee,
        quoter_fee,
        ts_us,
    )
    book.fills.append(fill)
    book.last_prices[m.symbol] = price
    rfq.filled_lots, rfq.filled_quote, rfq.fill_price, rfq.quote_id = lots, notional, price, q.id
    s.events.append(RfqFilled(*msgspec.structs.astuple(fill)))  # the event states the fill as recorded
    _close_quote(s, q, OrderStatus.FILLED)
    _close_rfq(s, rfq, OrderStatus.FILLED, "", ts_us)
    return ""


# ---------------------------------------------------------------------- refresh, cancel, expire


def refresh(s: ExchangeState, c: RefreshRfq, ts_us: int) -> None:
    rfq = s.rfq.rfqs.get(c.rfq_id)
    if rfq is None or rfq.account != c.account or rfq.status != OrderStatus.NEW:
        reject(s, c.account, c.rfq_id, -1, RFQ_NOT_FOUND)
        return
    m = rfq_market(s, rfq.market)
    assert m is not None
    reason = session_reason(s, m, rfq.lots, ts_us)
    if reason:
        reject(s, c.account, c.rfq_id, -1, reason)
        return
    for q in s.rfq.open_quotes(rfq.id):
        _close_quote(s, q, OrderStatus.CANCELLED)
    rfq.expiry_us = ts_us + s.spec.rfq_ttl_us
    s.events.append(RfqRefreshed(rfq.id, rfq.account, rfq.expiry_us))


def cancel(s: ExchangeState, c: CancelRfq, ts_us: int) -> None:
    book = s.rfq
    rfq: Rfq | None = None
    if c.rfq_id >= 0:
        rfq = book.rfqs.get(c.rfq_id)
    elif c.client_id >= 0:
        rfq = book.open_client_rfq(c.account, c.client_id)
    if rfq is None or rfq.account != c.account or rfq.status != OrderStatus.NEW:
        reject(s, c.account, c.rfq_id, c.client_id, RFQ_NOT_FOUND)
        return
    _close_rfq(s, rfq, OrderStatus.CANCELLED, Reason.USER_CANCELLED, ts_us)


def expire_due(s: ExchangeState, ts_us: int) -> None:
    book = s.rfq
    for rfq_id in [i for i in book.open if book.rfqs[i].expiry_us <= ts_us]:
        _close_rfq(s, book.rfqs[rfq_id], OrderStatus.EXPIRED, "", ts_us)


def _close_rfq(s: ExchangeState, rfq: Rfq, status: str, reason: str, ts_us: int) -> None:
    book = s.rfq
    quote_status = OrderStatus.EXPIRED if status == OrderStatus.EXPIRED else OrderStatus.CANCELLED
    for q in book.open_quotes(rfq.id):
        _close_quote(s, q, quote_status)
    rfq.status, rfq.reason, rfq.closed_us = status, reason, ts_us
    book.open.remove(rfq.id)
    s.events.append(RfqClosed(rfq.id, rfq.account, status, reason))


def _close_quote(s: ExchangeState, q: Quote, status: str) -> None:
    q.status = status
    s.events.append(QuoteClosed(q.id, q.rfq_id, q.account, status))
