"""The stock quote streams ccxt.pro subscribes for tokenized equities (backpack-api.md §5.2):
``stockPrice.<TICKER>``, ``stockIndicativeQuote.<TICKER>`` (``TICKER``: the asset without
``.US``, as ccxt strips it: ``NVDA``) and ``externalTicker.<ASSET>_USDC`` (``NVDA.US_USDC``).

Rucksack has no outside price provider: a security's "external" price is its reference price
(``queries.rfq_reference_price``: the last RFQ fill, else the configured reference), the same
price ``GET /api/v1/stockIndicativeQuote`` and the sandbox's RFQ makers start from.

- ``stockPrice``: ``bid`` = ``ask`` = the reference price;
- ``stockIndicativeQuote``: ``bid`` what a seller would be quoted and ``ask`` what a buyer would
  (``indicative.indicative_price``: the reference moved 10 bp against the requester, rounded to the
  tick in the exchange's favour), ``available`` whether a session is open now, ``session`` its name;
- ``externalTicker``: the ``ticker`` fields with the reference price as open, close, high and low
  and volumes ``"0"`` (there is no outside market whose day we could report).

The hub sends each subscribed stream once a second; ``timestamp`` is ms, ``E`` µs like every stream.
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.routes.rfq import market_wire
from rucksack.exchange.core import queries
from rucksack.exchange.core.rfq.sessions import SecuritySpec
from rucksack.exchange.indicative import indicative_price
from rucksack.exchange.service import ExchangeService

PREFIXES = ("stockPrice", "stockIndicativeQuote", "externalTicker")


def names(security: SecuritySpec) -> list[str]:
    """The three stream names of ``security``, in ``PREFIXES`` order."""
    ticker = security.asset.replace(".US", "")
    return [f"stockPrice.{ticker}", f"stockIndicativeQuote.{ticker}", f"externalTicker.{security.asset}_USDC"]


def security_of(service: ExchangeService, stream: str) -> SecuritySpec | None:
    """The security a stock stream names, or None (not a stock stream, or no such security)."""
    if not stream.startswith(PREFIXES):
        return None
    return next((sec for sec in service.spec.securities if stream in names(sec)), None)


def frame(service: ExchangeService, stream: str, security: SecuritySpec, now: int) -> dict[str, Any]:
    """The data of one frame of ``stream`` (a name in ``names(security)``) at ``now`` (µs)."""
    mw = market_wire(service, security.market)
    reference = queries.rfq_reference_price(service.engine, security.market)
    kind = stream.split(".", 1)[0]
    if kind == "externalTicker":
        last = mw.price(reference)
        day = {"o": last, "c": last, "h": last, "l": last, "v": "0", "V": "0", "n": 0}
        return {"e": kind, "E": now, "s": stream.split(".", 1)[1], **day}
    out: dict[str, Any] = {"e": kind, "E": now, "s": security.asset, "timestamp": now // 1000}
    if kind == "stockPrice":
        out["bid"] = out["ask"] = mw.price(reference)
        return out
    session = queries.rfq_session(service.engine, now)
    out["bid"] = mw.price(indicative_price(reference, "Ask"))  # a seller is quoted this
    out["ask"] = mw.price(indicative_price(reference, "Bid"))  # a buyer is quoted this
    out["available"] = security.session(session) is not None
    out["session"] = session or None
    return out
