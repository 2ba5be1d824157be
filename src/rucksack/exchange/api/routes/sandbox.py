"""Sandbox administration (X-Admin-Token): funded accounts and reference prices."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from rucksack.exchange.api.errors import bad_request
from rucksack.exchange.api.service import ExchangeService
from rucksack.exchange.api.wire import parse_amount
from rucksack.exchange.core.commands import (
    AddApiKey,
    CreateAccount,
    Deposit,
)
from rucksack.exchange.core.events import AccountCreated, ApiKeyRejected


async def sandbox_create_account(service: ExchangeService, body: Any) -> Any:
    """Create an account bound to the caller's public key and fund it with sandbox deposits."""
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    public_key = body.get("publicKey")
    if not isinstance(public_key, str):
        raise bad_request("publicKey (base64 ED25519 public key) is required")
    if public_key in service.engine.api_keys:
        raise bad_request("that public key is already registered")
    fund = body.get("fund", {})
    if not isinstance(fund, dict):
        raise bad_request("fund must be an object of asset -> decimal quantity")
    amounts = [
        (service.wire.asset(sym), parse_amount(qty, service.wire.asset(sym), f"fund.{sym}"))
        for sym, qty in fund.items()
    ]
    try:
        raw = base64.b64decode(public_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_request("publicKey must be standard base64") from exc
    if len(raw) != 32 or base64.b64encode(raw).decode() != public_key:
        raise bad_request("publicKey must be a 32-byte ED25519 public key in standard base64")
    events = await service.submit(CreateAccount(str(body.get("label", ""))[:64]))
    created = next(e for e in events if isinstance(e, AccountCreated))
    account = created.account
    events = await service.submit(AddApiKey(account, public_key))
    if isinstance(events[0], ApiKeyRejected):
        raise bad_request(f"publicKey rejected: {events[0].reason}")
    for asset, atoms in amounts:
        await service.submit(Deposit(account, asset.symbol, atoms, f"sandbox:{account}:{asset.symbol}"))
    return {"accountId": account, "apiKey": public_key}


async def sandbox_set_price(service: ExchangeService, body: Any) -> Any:
    """Move the reference price the demo makers quote around (``rucksack sandbox price``)."""
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    mw = service.wire.market(body.get("symbol"))
    ticks = mw.parse_price(body.get("price"))
    if service.feed is None or mw.symbol not in service.feed.prices:
        raise bad_request(f"no price feed drives {mw.symbol} on this server")
    service.feed.set(mw.symbol, ticks)
    from rucksack.exchange.core.commands import SetIndexPrice
    from rucksack.exchange.makers import index_targets

    for market, num, den in index_targets(service, service.feed).get(mw.symbol, []):
        await service.submit(SetIndexPrice(market, ticks * num // den))  # at once, not at the next feed step
    return {"symbol": mw.symbol, "price": mw.price(ticks)}
