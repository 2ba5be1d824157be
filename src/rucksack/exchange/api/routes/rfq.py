"""RFQ: request, quote, accept, refresh, cancel, open RFQs and the RFQ/quote/fill histories
(backpack-api.md §2.3; the core's ``core.rfq``).

Any account may quote (the sandbox's makers do); an RFQ's requester is never shown to makers. An
RFQ symbol is an RFQ-only market (``NVDA.US_USDC_RFQ``) or a spot market (``SOL_USDC`` or
``SOL_USDC_RFQ``). Every request is one journaled command; a refusal is a Backpack error and
changes nothing. The open RFQs and the histories are read from the engine (``queries.rfq_book``),
newest first unless ``sortDirection=Asc``; they honour ``subaccountId`` (own subaccounts only).
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason
from rucksack.exchange.api.routes.common import bool_param, page_params, uint_param
from rucksack.exchange.api.routes.subaccounts import target_account
from rucksack.exchange.api.wire import MarketWire, format_atoms, iso_ms
from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import Command
from rucksack.exchange.core.enums import OrderStatus
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.rfq.book import Quote, Rfq, RfqFill
from rucksack.exchange.core.rfq.commands import AcceptQuote, CancelRfq, RefreshRfq, SubmitQuote, SubmitRfq
from rucksack.exchange.core.rfq.events import QuoteSubmitted, RfqClosed, RfqRejected, RfqSubmitted
from rucksack.exchange.service import ExchangeService

# RFQ rejection reasons -> Backpack errors (the order reasons map through errors.REASONS)
RFQ_REASONS: dict[str, tuple[int, str, str]] = {
    "RfqNotFound": (404, "RESOURCE_NOT_FOUND", "RFQ not found (or no longer open)"),
    "QuoteNotFound": (404, "RESOURCE_NOT_FOUND", "Quote not found (or no longer open)"),
    "SelfQuote": (400, "INVALID_ORDER", "An account cannot quote its own RFQ"),
    "SessionClosed": (
        400,
        "INVALID_MARKET",
        "Market is closed: this security trades only by RFQ inside its stock sessions "
        "(GET /api/v1/stockSessions, /api/v1/stockHolidays)",
    ),
    "UnknownAccount": (400, "INVALID_CLIENT_REQUEST", "Unknown account"),
    "UnknownMarket": (400, "INVALID_MARKET", "Invalid market symbol: not an RFQ or spot market"),
}
MODES = ("AwaitAccept", "Immediate")


def rfq_error(reason: str) -> ApiError:
    return from_reason(reason, RFQ_REASONS)


def market_wire(service: ExchangeService, symbol: Any) -> MarketWire:
    """The wire helper of an RFQ symbol (an RFQ-only market or a spot market)."""
    m = queries.rfq_market(service.engine, symbol) if isinstance(symbol, str) else None
    if m is None:
        raise ApiError(400, "INVALID_MARKET", f"Invalid market symbol: {str(symbol)[:40]!r}")
    return MarketWire(m, service.wire.assets[m.base], service.wire.assets[m.quote])


def _auto(params: dict[str, Any]) -> dict[str, bool]:
    return {
        "auto_borrow": bool_param(params, "autoBorrow"),
        "auto_borrow_repay": bool_param(params, "autoBorrowRepay"),
        "auto_lend": bool_param(params, "autoLend"),
        "auto_lend_redeem": bool_param(params, "autoLendRedeem"),
    }


async def _submit(service: ExchangeService, command: Command) -> list[Event]:
    events = await service.submit(command)
    for ev in events:
        if isinstance(ev, RfqRejected):
            raise rfq_error(ev.reason)
    return events


def _ms(ts_us: int) -> int:
    return ts_us // 1000


def rfq_json(service: ExchangeService, rfq: Rfq, *, history: bool = False) -> dict[str, Any]:
    """Backpack's ``Rfq`` (``RfqHistorical`` with ``history``: + userId, subaccountId, times as strings)."""
    mw = market_wire(service, rfq.market)
    times = {
        "submissionTime": _ms(rfq.submitted_us),
        "expiryTime": _ms(rfq.expiry_us),
        "createdAt": _ms(rfq.submitted_us),
    }
    out: dict[str, Any] = {
        "rfqId": str(rfq.id),
        "clientId": rfq.client_id if rfq.client_id >= 0 else None,
        "symbol": rfq.market,
        "side": rfq.side,
        "price": mw.price(rfq.price) if rfq.price else None,
        "quantity": mw.qty(rfq.lots) if rfq.lots else None,
        "quoteQuantity": mw.quote_amount(rfq.quote_atoms) if rfq.quote_atoms else None,
        "systemOrderType": None,
        "status": rfq.status,
        "executionMode": rfq.mode,
        # Rucksack extensions: what was executed, at which price, by which quote
        "executedQuantity": mw.qty(rfq.filled_lots),
        "executedQuoteQuantity": mw.quote_amount(rfq.filled_quote),
        "fillPrice": mw.price(rfq.fill_price) if rfq.fill_price else None,
        "quoteId": str(rfq.quote_id) if rfq.quote_id else None,
        **times,
    }
    if history:
        owner = queries.owner(service.engine, rfq.account)
        out.update({k: str(v) for k, v in times.items()})
        out["userId"] = owner
        out["subaccountId"] = rfq.account if rfq.account != owner else None
    return out


def quote_json(service: ExchangeService, q: Quote, *, history: bool = False) -> dict[str, Any]:
    rfq = queries.rfq_book(service.engine).rfqs[q.rfq_id]
    mw = market_wire(service, rfq.market)
    out: dict[str, Any] = {
        "rfqId": str(q.rfq_id),
        "quoteId": str(q.id),
        "clientId": q.client_id if q.client_id >= 0 else None,
        "bidPrice": mw.price(q.bid),
        "askPrice": mw.price(q.ask),
        "status": q.status,
        "createdAt": _ms(q.created_us),
    }
    if history:
        owner = queries.owner(service.engine, q.account)
        out["userId"] = owner
        out["subaccountId"] = q.account if q.account != owner else None
        out["symbol"] = rfq.market
    return out


def fill_json(service: ExchangeService, f: RfqFill, *, quoter: bool) -> dict[str, Any]:
    """One RFQ fill as the requester (``quoter`` False) or the quoter sees it."""
    mw = market_wire(service, f.market)
    book = queries.rfq_book(service.engine)
    account = f.quoter if quoter else f.requester
    buys = (f.side == "Bid") != quoter
    owner = queries.owner(service.engine, account)
    fee_asset = mw.base if buys else mw.quote
    client_id = book.quotes[f.quote_id].client_id if quoter else book.rfqs[f.rfq_id].client_id
    return {
        "userId": owner,
        "subaccountId": account if account != owner else None,
        "rfqId": str(f.rfq_id),
        "quoteId": str(f.quote_id),
        "clientId": client_id if client_id >= 0 else None,
        "tradeId": f.id,
        "symbol": f.market,
        "side": "Bid" if buys else "Ask",
        "fillPrice": mw.price(f.price),
        "fillQuantity": mw.qty(f.lots),
        "fillQuoteQuantity": mw.quote_amount(f.quote_atoms),
        "fee": _atoms(f.quoter_fee if quoter else f.requester_fee, fee_asset.decimals),
        "feeSymbol": fee_asset.symbol,
        "fillType": "User",
        "isMaker": quoter,
        "filledAt": iso_ms(f.ts_us),
        "timestamp": _ms(f.ts_us),
    }


def _atoms(atoms: int, decimals: int) -> str:
    return format_atoms(atoms, decimals)


# ---------------------------------------------------------------------- commands


async def rfq_submit(service: ExchangeService, account: int, params: Any) -> Any:
    mw = market_wire(service, params.get("symbol"))
    side = params.get("side")
    if side not in ("Bid", "Ask"):
        raise bad_request("side must be Bid or Ask")
    mode = params.get("executionMode", "AwaitAccept")
    if mode not in MODES:
        raise bad_request("executionMode must be AwaitAccept or Immediate")
    quantity, quote_quantity, price = params.get("quantity"), params.get("quoteQuantity"), params.get("price")
    if (quantity is None) == (quote_quantity is None):
        raise ApiError(400, "INVALID_QUANTITY", "Give exactly one of quantity and quoteQuantity")
    if price is not None and mode != "Immediate":
        raise ApiError(400, "INVALID_ORDER", "price is a bound for Immediate RFQs only")
    command = SubmitRfq(
        account,
        params["symbol"],
        side,
        lots=mw.parse_qty(quantity) if quantity is not None else 0,
        quote_atoms=mw.parse_quote(quote_quantity) if quote_quantity is not None else 0,
        price=mw.parse_price(price) if price is not None else 0,
        client_id=uint_param(params, "clientId", -1, bits=32),
        mode=mode,
        **_auto(params),
    )
    events = await _submit(service, command)
    rfq_id = next(ev.rfq_id for ev in events if isinstance(ev, RfqSubmitted))
    return rfq_json(service, queries.rfq_book(service.engine).rfqs[rfq_id])


async def quote_submit(service: ExchangeService, account: int, params: Any) -> Any:
    rfq_id = uint_param(params, "rfqId", -1)
    rfq = queries.rfq_book(service.engine).rfqs.get(rfq_id)
    if rfq is None:
        raise rfq_error("RfqNotFound")
    mw = market_wire(service, rfq.market)
    for key in ("bidPrice", "askPrice"):
        if params.get(key) is None:
            raise bad_request(f"{key} is required")
    command = SubmitQuote(
        account,
        rfq_id,
        bid=mw.parse_price(params["bidPrice"], "bidPrice"),
        ask=mw.parse_price(params["askPrice"], "askPrice"),
        client_id=uint_param(params, "clientId", -1, bits=32),
        **_auto(params),
    )
    events = await _submit(service, command)
    quote_id = next(ev.quote_id for ev in events if isinstance(ev, QuoteSubmitted))
    return quote_json(service, queries.rfq_book(service.engine).quotes[quote_id])


async def quote_accept(service: ExchangeService, account: int, params: Any) -> Any:
    quote_id = uint_param(params, "quoteId", -1)
    if quote_id < 0:
        raise bad_request("quoteId is required")
    command = AcceptQuote(
        account, quote_id, rfq_id=uint_param(params, "rfqId", -1), client_id=uint_param(params, "clientId", -1, bits=32)
    )
    await _submit(service, command)
    book = queries.rfq_book(service.engine)
    return rfq_json(service, book.rfqs[book.quotes[quote_id].rfq_id])


async def rfq_refresh(service: ExchangeService, account: int, params: Any) -> Any:
    rfq_id = uint_param(params, "rfqId", -1)
    if rfq_id < 0:
        raise bad_request("rfqId is required")
    await _submit(service, RefreshRfq(account, rfq_id))
    return rfq_json(service, queries.rfq_book(service.engine).rfqs[rfq_id])


async def rfq_cancel(service: ExchangeService, account: int, params: Any) -> Any:
    rfq_id, client_id = uint_param(params, "rfqId", -1), uint_param(params, "clientId", -1, bits=32)
    if rfq_id < 0 and client_id < 0:
        raise bad_request("rfqId or clientId is required")
    events = await _submit(service, CancelRfq(account, rfq_id=rfq_id, client_id=client_id))
    closed = next(
        ev.rfq_id
        for ev in events
        if isinstance(ev, RfqClosed) and ev.account == account and ev.status == OrderStatus.CANCELLED
    )
    return rfq_json(service, queries.rfq_book(service.engine).rfqs[closed])


# ---------------------------------------------------------------------- queries


async def rfqs_query(service: ExchangeService, account: int, params: Any) -> Any:
    """The account's open RFQs, each with its open quotes (``{rfq, quotes}``, as bpx's RfqWithQuotes)."""
    account = target_account(service, account, params)
    book = queries.rfq_book(service.engine)
    symbol, rfq_id = params.get("symbol"), uint_param(params, "rfqId", -1)
    out = []
    for open_id in book.open:
        rfq = book.rfqs[open_id]
        if rfq.account != account or (symbol is not None and rfq.market != symbol) or rfq_id not in (-1, rfq.id):
            continue
        out.append(
            {"rfq": rfq_json(service, rfq), "quotes": [quote_json(service, q) for q in book.open_quotes(rfq.id)]}
        )
    return out


def _page(rows: list[Any], params: Any) -> list[Any]:
    limit, offset, ascending = page_params(params)
    if not ascending:
        rows = rows[::-1]
    return rows[offset : offset + limit]


def _side(params: Any) -> str | None:
    side = params.get("side")
    if side not in (None, "Bid", "Ask"):
        raise bad_request("side must be Bid or Ask")
    return side  # type: ignore[no-any-return]


async def rfq_history(service: ExchangeService, account: int, params: Any) -> Any:
    account = target_account(service, account, params)
    book = queries.rfq_book(service.engine)
    symbol, status, side, rfq_id = (
        params.get("symbol"),
        params.get("status"),
        _side(params),
        uint_param(params, "rfqId", -1),
    )
    rows = [
        r
        for _, r in sorted(book.rfqs.items())
        if r.account == account
        and symbol in (None, r.market)
        and status in (None, r.status)
        and side in (None, r.side)
        and rfq_id in (-1, r.id)
    ]
    return [rfq_json(service, r, history=True) for r in _page(rows, params)]


async def quote_history(service: ExchangeService, account: int, params: Any) -> Any:
    account = target_account(service, account, params)
    book = queries.rfq_book(service.engine)
    symbol, status, quote_id = params.get("symbol"), params.get("status"), uint_param(params, "quoteId", -1)
    rows = [
        q
        for _, q in sorted(book.quotes.items())
        if q.account == account
        and symbol in (None, book.rfqs[q.rfq_id].market)
        and status in (None, q.status)
        and quote_id in (-1, q.id)
    ]
    return [quote_json(service, q, history=True) for q in _page(rows, params)]


def _fills(service: ExchangeService, account: int, params: Any, *, quoter: bool) -> list[dict[str, Any]]:
    fill_type = params.get("fillType")
    if fill_type not in (None, "User", "CollateralConversion"):
        raise bad_request("fillType must be User or CollateralConversion")
    if fill_type == "CollateralConversion":
        return []  # no collateral conversion is settled by RFQ here
    account = target_account(service, account, params)
    book = queries.rfq_book(service.engine)
    symbol, side, quote_id = params.get("symbol"), _side(params), uint_param(params, "quoteId", -1)
    rows = [
        fill_json(service, f, quoter=quoter)
        for f in book.fills
        if (f.quoter if quoter else f.requester) == account
        and symbol in (None, f.market)
        and quote_id in (-1, f.quote_id)
    ]
    return _page([r for r in rows if side in (None, r["side"])], params)


async def rfq_fill_history(service: ExchangeService, account: int, params: Any) -> Any:
    return _fills(service, account, params, quoter=False)


async def quote_fill_history(service: ExchangeService, account: int, params: Any) -> Any:
    return _fills(service, account, params, quoter=True)


PRIVATE = {
    ("POST", "/api/v1/rfq"): ("rfqSubmit", rfq_submit),
    ("POST", "/api/v1/rfq/quote"): ("quoteSubmit", quote_submit),
    ("POST", "/api/v1/rfq/accept"): ("quoteAccept", quote_accept),
    ("POST", "/api/v1/rfq/refresh"): ("rfqRefresh", rfq_refresh),
    ("POST", "/api/v1/rfq/cancel"): ("rfqCancel", rfq_cancel),
    ("GET", "/api/v1/rfqs"): ("rfqQuery", rfqs_query),
    ("GET", "/wapi/v1/history/rfq"): ("rfqHistoryQueryAll", rfq_history),
    ("GET", "/wapi/v1/history/quote"): ("quoteHistoryQueryAll", quote_history),
    ("GET", "/wapi/v1/history/rfq/fill"): ("rfqFillHistoryQueryAll", rfq_fill_history),
    ("GET", "/wapi/v1/history/quote/fill"): ("quoteFillHistoryQueryAll", quote_fill_history),
}
