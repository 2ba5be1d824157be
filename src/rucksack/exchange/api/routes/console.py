"""The operator console's API (Rucksack extension; docs/api.md, "Operator console").

Signed with an operator key like every operator route (``api.app.OPERATOR``): GETs sign their
query, POSTs their JSON body. Every change is a journaled command, so replay and the audit trail
see it:

- markets: ``GET /api/v1/operator/markets`` (status, reason, since, index/mark, open orders, the
  circuit breaker's band); ``POST /api/v1/operator/market/status`` ``{symbol, status: Open |
  Halted | Delisted, cancelOrders?, reason?}`` -> ``SetMarketStatus`` (open = list or resume; a
  halt keeps open orders unless ``cancelOrders``; a delisting cancels them);
- alerts: ``GET /api/v1/operator/alerts`` (``status?``, ``typology?``), ``GET
  /api/v1/operator/alert`` (``id``), ``POST /api/v1/operator/alert/resolve`` ``{id, resolution:
  Dismissed | Reported | Actioned, note?}`` -> ``ResolveAlert``;
- ``GET /api/v1/operator/insuranceFund``: the liquidity fund's balances;
- fee tiers: ``GET /api/v1/operator/feeTiers`` (rates and 30-day volume thresholds); ``POST
  /api/v1/operator/vipLevel`` ``{accountId, vipLevel}`` (or the older ``POST
  /api/v1/operator/feeTier`` ``{accountId, tier}``) -> ``SetFeeTier``: the owner's VIP level.
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import REASONS, ApiError, bad_request
from rucksack.exchange.api.routes.common import uint_param
from rucksack.exchange.api.wire import format_atoms
from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import ResolveAlert, SetFeeTier, SetMarketStatus
from rucksack.exchange.core.events import (
    AlertResolutionRejected,
    FeeTierRejected,
    FeeTierSet,
    MarketStatusChanged,
    MarketStatusRejected,
)
from rucksack.exchange.core.market_status import BOOK_STATE
from rucksack.exchange.service import ExchangeService
from rucksack.exchange.surveillance.monitor import Surveillance


def _monitor(service: ExchangeService) -> Surveillance:
    live = service.surveillance
    if live is None:
        raise ApiError(503, "SERVICE_UNAVAILABLE", "market surveillance is not running on this server")
    return live.monitor


def _refused(reason: str) -> ApiError:
    status, code, message = REASONS.get(reason, (400, "INVALID_CLIENT_REQUEST", reason))
    return ApiError(status, code, message)


async def markets(service: ExchangeService, params: dict[str, Any]) -> Any:
    breaker = queries.spec(service.engine).circuit_breaker
    out = []
    for mw in service.wire.markets.values():
        m = queries.market(service.engine, mw.symbol)
        status, reason, since_us = queries.market_status(service.engine, mw.symbol)
        out.append(
            {
                "symbol": mw.symbol,
                "marketType": mw.spec.market_type,
                "status": status,
                "orderBookState": BOOK_STATE[status] if mw.spec.trading else "Closed",
                "reason": reason,
                "since": since_us // 1000 if since_us else None,
                "indexPrice": mw.price(m.index_price) if m.index_price else None,
                "markPrice": mw.price(m.mark) if m.mark else None,
                "lastPrice": mw.price(m.last_price) if m.last_price else None,
                "openOrders": len(m.bids.orders()) + len(m.asks.orders()),
                "openInterest": mw.qty(m.open_interest),
                "circuitBreakerBand": format_atoms(breaker.band_ppm, 6),
                "circuitBreakerWindowSeconds": breaker.window_us // 1_000_000,
            }
        )
    return out


async def set_market_status(service: ExchangeService, body: dict[str, Any]) -> Any:
    mw = service.wire.market(body.get("symbol"))
    status = body.get("status")
    cancel = body.get("cancelOrders", False)
    reason = body.get("reason", "")
    if status not in BOOK_STATE:
        raise bad_request("status must be Open, Halted or Delisted")
    if not isinstance(cancel, bool):
        raise bad_request("cancelOrders must be a boolean")
    if not isinstance(reason, str) or len(reason) > 200:
        raise bad_request("reason must be a string of at most 200 characters")
    events = await service.submit(SetMarketStatus(mw.symbol, status, cancel, reason or "Operator"))
    for ev in events:
        if isinstance(ev, MarketStatusRejected):
            raise _refused(ev.reason)
        if isinstance(ev, MarketStatusChanged):
            return {
                "symbol": ev.market,
                "status": ev.status,
                "orderBookState": BOOK_STATE[ev.status],
                "reason": ev.reason,
                "cancelledOrders": ev.cancelled,
            }
    raise ApiError(500, "SERVER_ERROR", "no status event")  # pragma: no cover - the core always answers


async def alerts(service: ExchangeService, params: dict[str, Any]) -> Any:
    status, typology = params.get("status"), params.get("typology")
    return _monitor(service).alert_list(status or None, typology or None)


async def alert(service: ExchangeService, params: dict[str, Any]) -> Any:
    found = _monitor(service).alert(str(params.get("id", "")))
    if found is None:
        raise ApiError(404, "RESOURCE_NOT_FOUND", "Alert not found")
    return found


async def resolve_alert(service: ExchangeService, body: dict[str, Any]) -> Any:
    monitor = _monitor(service)
    alert_id, resolution, note = body.get("id"), body.get("resolution"), body.get("note", "")
    if not isinstance(alert_id, str) or not monitor.has_alert(alert_id):
        raise ApiError(404, "RESOURCE_NOT_FOUND", "Alert not found")
    if not isinstance(note, str) or not isinstance(resolution, str):
        raise bad_request("resolution and note must be strings")
    events = await service.submit(ResolveAlert(alert_id, resolution, note))
    for ev in events:
        if isinstance(ev, AlertResolutionRejected):
            raise _refused(ev.reason)
    return monitor.alert(alert_id)  # released (and so applied) before submit returned


async def insurance_fund(service: ExchangeService, params: dict[str, Any]) -> Any:
    account_id = queries.insurance_fund_account(service.engine)
    acct = queries.account_or_empty(service.engine, account_id)
    spec = queries.spec(service.engine)
    return {
        "accountId": account_id,
        "balances": {
            asset.symbol: format_atoms(acct.assets[i].available, asset.decimals) for i, asset in enumerate(spec.assets)
        },
    }


async def fee_tiers(service: ExchangeService, params: dict[str, Any]) -> Any:
    settle = service.wire.assets[service.spec.settlement_asset].decimals
    return [
        {
            "tier": i,
            "name": t.name,
            "spotMaker": format_atoms(t.spot_maker_ppm, 6),
            "spotTaker": format_atoms(t.spot_taker_ppm, 6),
            "futuresMaker": format_atoms(t.futures_maker_ppm, 6),
            "futuresTaker": format_atoms(t.futures_taker_ppm, 6),
            "spotVolume": format_atoms(t.spot_volume, settle),
            "futuresVolume": format_atoms(t.futures_volume, settle),
        }
        for i, t in enumerate(queries.fee_tiers(service.engine))
    ]


async def set_fee_tier(service: ExchangeService, body: dict[str, Any]) -> Any:
    """``{accountId, tier}``: the older spelling of ``vipLevel`` (the same ``SetFeeTier``)."""
    account, level = await _set_vip(service, body, "tier")
    return {"accountId": account, "tier": level}


async def set_vip_level(service: ExchangeService, body: dict[str, Any]) -> Any:
    """``{accountId, vipLevel}``: the account's owner never pays above tier ``vipLevel`` (0 removes
    it); its tier in force is the highest of that, its volume tier and an NFT perk (core.tiers)."""
    account, level = await _set_vip(service, body, "vipLevel")
    tier = queries.account_or_empty(service.engine, account).tier
    return {"accountId": account, "vipLevel": level, "feeTierIndex": tier}


async def _set_vip(service: ExchangeService, body: dict[str, Any], name: str) -> tuple[int, int]:
    """JSON numbers arrive as their exact text (api.payload), hence ``uint_param``."""
    if body.get("accountId") is None or body.get(name) is None:
        raise bad_request(f"accountId and {name} are required")
    account, level = uint_param(body, "accountId", 0, bits=62), uint_param(body, name, 0, bits=31)
    if queries.account(service.engine, account) is None or queries.owner(service.engine, account) < 0:
        raise ApiError(404, "RESOURCE_NOT_FOUND", "Account not found")
    events = await service.submit(SetFeeTier(account, level))
    for ev in events:
        if isinstance(ev, FeeTierRejected):
            raise _refused(ev.reason)
        if isinstance(ev, FeeTierSet):
            return ev.account, ev.tier
    raise ApiError(500, "SERVER_ERROR", "no fee tier event")  # pragma: no cover
