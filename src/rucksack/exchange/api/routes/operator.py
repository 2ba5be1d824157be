"""Operator actions, signed with the operator key (Rucksack extension; docs/api.md).

A venue's operator -- in production the only way to move the index by hand, open an account or
make a backstop provider -- signs each request exactly like Backpack's API signing, with the
**operator key**: an ED25519 key whose public half is given at start (``rucksack serve
--operator-key``) and whose secret never reaches the server. Headers ``X-API-Key`` (the operator's
public key), ``X-Signature``, ``X-Timestamp``, ``X-Window``; the signing string is
``instruction=<operator instruction>&<sorted body fields>&timestamp=..&window=..``. Every action
is a journaled command (``SetIndexPrice``, ``CreateAccount`` + ``AddApiKey``,
``SetBackstopProvider``) through the sequencer like any request, so replay sees it.

- ``POST /api/v1/operator/price`` (``operatorIndexPrice``; ``symbol``, ``price``): ``SetIndexPrice``
  on every market the feed symbol drives;
- ``POST /api/v1/operator/accounts`` (``operatorAccountCreate``; ``publicKey``, ``label``):
  ``CreateAccount`` and ``AddApiKey``, never a deposit (funds arrive on chain);
- ``POST /api/v1/operator/backstop`` (``operatorBackstop``; ``accountId``, ``enabled``):
  ``SetBackstopProvider``;
- ``POST /api/v1/operator/reserves/snapshot`` (``operatorReservesSnapshot``): a proof-of-reserves
  snapshot now.

Without ``--operator-key`` every operator path answers 403 ``FORBIDDEN``.
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request
from rucksack.exchange.api.routes.reserves import wants_zk
from rucksack.exchange.api.routes.sandbox import sandbox_create_account
from rucksack.exchange.api.routes.sandbox_margin import sandbox_backstop
from rucksack.exchange.core.commands import SetIndexPrice
from rucksack.exchange.feeds.index import index_targets
from rucksack.exchange.reserves_export import publish_now
from rucksack.exchange.service import ExchangeService


async def set_index_price(service: ExchangeService, body: Any) -> Any:
    """Move a feed symbol's reference price now: ``SetIndexPrice`` on every market it drives,
    each checked against its price limits before any moves (also ``sandbox price``)."""
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    mw = service.wire.market(body.get("symbol"))
    ticks = mw.parse_price(body.get("price"))
    feed = service.feed
    if feed is None or mw.symbol not in feed.symbols:
        raise bad_request(f"no price feed drives {mw.symbol} on this server")
    targets = [(market, ticks * num // den) for market, num, den in index_targets(service, feed)[mw.symbol]]
    for market, price in targets:  # every market it drives must accept the price: check all before any moves
        limit = service.wire.markets[market]
        if not limit.spec.min_price_ticks <= price <= limit.spec.max_price_ticks:
            raise ApiError(
                400,
                "INVALID_PRICE",
                f"price must be within {market}'s limits {limit.price(limit.spec.min_price_ticks)}"
                f"..{limit.price(limit.spec.max_price_ticks)}",
            )
    feed.set(mw.symbol, ticks)
    for market, price in targets:
        await service.submit(SetIndexPrice(market, price))  # at once, not at the next feed step
    return {"symbol": mw.symbol, "price": mw.price(ticks)}


async def create_account(service: ExchangeService, body: Any) -> Any:
    """An account bound to the customer's public key, with nothing in it (deposits come on chain)."""
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    if set(body) - {"publicKey", "label", "region", "level", "referralCode"}:
        raise bad_request(
            "only publicKey, label, region, level and referralCode may be given: the operator grants no funds"
        )
    if body.get("region") and not body.get("level"):
        body = {**body, "level": "none"}  # verified later, after review (POST /api/v1/operator/identity)
    return await sandbox_create_account(service, {**body, "fund": {}})


async def backstop(service: ExchangeService, body: Any) -> Any:
    return await sandbox_backstop(service, body)


async def reserves_snapshot(service: ExchangeService, body: Any) -> Any:
    return await publish_now(service, zk=wants_zk(body))
