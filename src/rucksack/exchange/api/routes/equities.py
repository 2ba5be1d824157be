"""Tokenized equities (backpack-api.md §2.4): securities, stock sessions and holidays, and the
indicative quote ccxt asks before every stock RFQ.

The session calendar is config data (``[calendar]`` in the exchange TOML, ``core.rfq.sessions``);
the core checks each RFQ command against it at the command's journaled time, and these endpoints
publish the same data. ``/api/v1/market-sessions`` and ``/api/v1/market-holidays`` answer the same
lists as ``stockSessions`` and ``stockHolidays``.

Indicative quote: ``rucksack.exchange.indicative`` (the policy the sandbox's RFQ makers quote by).
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request
from rucksack.exchange.api.routes.rfq import market_wire
from rucksack.exchange.core import queries
from rucksack.exchange.core.rfq.sessions import Calendar, SecuritySpec, local_time
from rucksack.exchange.indicative import indicative_price
from rucksack.exchange.service import ExchangeService


def _calendar(service: ExchangeService) -> Calendar | None:
    return service.spec.calendar


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}:00"


async def securities(service: ExchangeService, params: dict[str, str]) -> Any:
    out = []
    for sec in service.spec.securities:
        mw = market_wire(service, sec.market)
        out.append(
            {
                "asset": sec.asset,
                "name": sec.name,
                "cusip": sec.cusip,
                "sessions": [
                    {
                        "name": s.name,
                        "minQuantity": mw.qty(s.min_lots),
                        "maxQuantity": mw.qty(s.max_lots) if s.max_lots else None,
                        "stepSize": mw.spec.step_size,
                    }
                    for s in sec.sessions
                ],
            }
        )
    return out


async def stock_sessions(service: ExchangeService, params: dict[str, str]) -> Any:
    calendar = _calendar(service)
    if calendar is None:
        return []
    return [
        {
            "name": s.name,
            "startTime": _hhmm(s.start_minute),
            "endTime": _hhmm(s.end_minute),
            "startWeekday": s.start_weekday,
            "endWeekday": s.end_weekday,
            "timezone": calendar.timezone,
        }
        for s in calendar.sessions
    ]


async def stock_holidays(service: ExchangeService, params: dict[str, str]) -> Any:
    calendar = _calendar(service)
    if calendar is None:
        return []
    return [
        {
            "date": h.date,
            "startTime": _hhmm(h.close_minute),  # closed from here (00:00: the whole day) ...
            "endTime": "23:59:59",  # ... to the end of the day
            "name": h.name,
            "timezone": calendar.timezone,
        }
        for h in calendar.holidays
    ]


def _security(service: ExchangeService, symbol: Any) -> SecuritySpec:
    for sec in service.spec.securities:
        if symbol in (sec.asset, sec.market):
            return sec
    raise ApiError(400, "INVALID_SYMBOL", f"Not a listed security: {str(symbol)[:40]!r}")


async def stock_indicative_quote(service: ExchangeService, params: dict[str, str]) -> Any:
    sec = _security(service, params.get("symbol"))
    side = params.get("side")
    if side not in ("Bid", "Ask"):
        raise bad_request("side must be Bid or Ask")
    mw = market_wire(service, sec.market)
    lots = mw.parse_qty(params["quantity"]) if params.get("quantity") is not None else 0
    now = service.clock()
    calendar = _calendar(service)
    session_name = queries.rfq_session(service.engine, now)
    session = sec.session(session_name)
    price = indicative_price(queries.rfq_reference_price(service.engine, sec.market), side)
    out: dict[str, Any] = {
        "available": session is not None,
        "symbol": sec.asset,
        "side": side,
        "session": session_name or None,
        "price": mw.price(price),
        "estimatedPrice": mw.price(price),
        "publishedAt": now // 1000,
    }
    if session is None:
        assert calendar is not None
        date, _, _ = local_time(calendar, now)
        holiday = next((h.name for h in calendar.holidays if h.date == date), None)
        out["reason"] = "holiday" if holiday else "sessionClosed"
        return out
    out["quantityFilter"] = {
        "minQuantity": mw.qty(session.min_lots),
        "maxQuantity": mw.qty(session.max_lots) if session.max_lots else None,
        "stepSize": mw.spec.step_size,
    }
    if lots:
        out["quoteQuantity"] = mw.quote_amount(lots * price * mw.spec.lot_tick_atoms)
        if lots < session.min_lots or (session.max_lots and lots > session.max_lots):
            out["available"], out["reason"] = False, "quantityOutOfRange"
    return out


PUBLIC = {
    ("GET", "/api/v1/securities"): securities,
    ("GET", "/api/v1/stockSessions"): stock_sessions,
    ("GET", "/api/v1/stockHolidays"): stock_holidays,
    ("GET", "/api/v1/market-sessions"): stock_sessions,
    ("GET", "/api/v1/market-holidays"): stock_holidays,
    ("GET", "/api/v1/stockIndicativeQuote"): stock_indicative_quote,
}
