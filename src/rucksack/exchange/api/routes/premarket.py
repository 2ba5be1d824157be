"""Pre-market markets on the wire (Rucksack extension; docs/premarket.md, docs/api.md).

A pre-market is published in ``GET /api/v1/markets`` as what it is to a client, a USDC-margined
perp (``marketType: "PERP"``: ccxt and Backpack's clients know SPOT, PERP and RFQ only, so any
other type would hide it from them), with a ``preMarket`` object saying it is one: its phase, the
mark band, the leverage cap, the listing window and the settlement price. Regular markets carry
no ``preMarket`` key.

``POST /api/v1/operator/premarket/list`` (``operatorPreMarketList``, roles risk or operations;
audited like every operator action) and, in the sandbox, ``POST /api/v1/sandbox/premarket/list``
(admin token) list the real token: ``ListPreMarket``. Body ``symbol`` (the pre-market perp) and
optional ``windowSeconds`` (the reference window; default the configured one).
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import REASONS, ApiError, bad_request
from rucksack.exchange.api.wire import MarketWire, format_atoms
from rucksack.exchange.core import queries
from rucksack.exchange.core.numeric import WAD
from rucksack.exchange.core.premarket.commands import ListPreMarket
from rucksack.exchange.core.premarket.events import PreMarketListed, PreMarketRejected
from rucksack.exchange.service import ExchangeService

MAX_WINDOW_SECONDS = 7 * 86_400


def premarket_json(service: ExchangeService, mw: MarketWire) -> dict[str, Any] | None:
    """The ``preMarket`` object of a pre-market perp (None for any other market)."""
    pre = mw.spec.premarket
    state = queries.premarket(service.engine, mw.symbol)
    if pre is None or state is None:
        return None
    initial = pre.initial_price_ticks
    imf = mw.spec.imf
    so_far = state.weighted_sum // state.weighted_us if state.weighted_us else None
    return {
        "status": state.phase,  # Trading | Listing | Settled
        "spotSymbol": pre.spot_market,
        "initialPrice": mw.price(initial),
        "markPriceBand": {
            "minPrice": mw.price(-(-initial * pre.band_min_ppm // 1_000_000)),
            "maxPrice": mw.price(min(initial * pre.band_max_ppm // 1_000_000, mw.spec.max_price_ticks)),
            "maxChangePerUpdate": format_atoms(pre.step_ppm, 6),
        },
        "maxLeverage": str(WAD // imf.base) if imf is not None and imf.base else None,
        "marginMode": "Isolated",
        "settlement": "CloseAtListing",
        "referenceWindowMs": pre.reference_window_us // 1000,
        "listingStartedAt": state.start_us // 1000 if state.start_us else None,
        "listingEndsAt": state.end_us // 1000 if state.end_us else None,
        "referencePrice": mw.price(so_far) if so_far is not None else None,  # the TWAP so far
        "settlementPrice": mw.price(state.settle_price) if state.settle_price else None,
    }


async def list_premarket(service: ExchangeService, body: Any) -> Any:
    """``ListPreMarket``: open the spot market and start the reference window."""
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    mw = service.wire.market(body.get("symbol"))
    seconds = body.get("windowSeconds", 0)
    if isinstance(seconds, str) and seconds.isdigit():
        seconds = int(seconds)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= MAX_WINDOW_SECONDS:
        raise bad_request(
            f"windowSeconds must be an integer from 1 to {MAX_WINDOW_SECONDS} (0 or none: the configured window)"
        )
    for ev in await service.submit(ListPreMarket(mw.symbol, seconds * 1_000_000)):
        if isinstance(ev, PreMarketRejected):
            if ev.reason == "UnknownMarket":
                raise bad_request(f"{mw.symbol} is not a pre-market", "INVALID_MARKET")
            status, code, message = REASONS[ev.reason]
            raise ApiError(status, code, message)
        if isinstance(ev, PreMarketListed):
            return {"symbol": mw.symbol, "preMarket": premarket_json(service, mw)}
    raise ApiError(500, "SERVER_ERROR", "no listing event")  # pragma: no cover - the core always answers
