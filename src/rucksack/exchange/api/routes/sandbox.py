"""Sandbox administration (X-Admin-Token): funded accounts and reference prices."""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import bad_request
from rucksack.exchange.api.routes.growth import growth_error
from rucksack.exchange.api.routes.subaccounts import parse_public_key
from rucksack.exchange.api.wire import parse_amount
from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import (
    AddApiKey,
    CreateAccount,
    Deposit,
)
from rucksack.exchange.core.events import AccountCreated, AccountRejected, ApiKeyRejected, DepositRejected
from rucksack.exchange.core.markets import MAX_AMOUNT_ATOMS
from rucksack.exchange.service import ExchangeService


async def sandbox_create_account(service: ExchangeService, body: Any) -> Any:
    """Create an account bound to the caller's public key and fund it with sandbox deposits
    (``autoLend``: on unless false, as on Backpack)."""
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    public_key = parse_public_key(body.get("publicKey"))
    auto_lend = body.get("autoLend", True)
    if not isinstance(auto_lend, bool):
        raise bad_request("autoLend must be true or false")
    fund = body.get("fund", {})
    if not isinstance(fund, dict):
        raise bad_request("fund must be an object of asset -> decimal quantity")
    amounts = [
        (service.wire.asset(sym), parse_amount(qty, service.wire.asset(sym), f"fund.{sym}"))
        for sym, qty in fund.items()
    ]
    for asset, atoms in amounts:  # refused before the account exists, not after
        if atoms > MAX_AMOUNT_ATOMS:
            raise bad_request(f"fund.{asset.symbol}: at most {MAX_AMOUNT_ATOMS} atoms per deposit")
    region, level = _identity(body)
    code = _referral_code(body)
    async with service.accounts_lock:  # the key check and the account it guards, with no signup between
        if queries.account_for_key(service.engine, public_key) is not None:
            raise bad_request("that public key is already registered")
        events = await service.submit(
            CreateAccount(str(body.get("label", ""))[:64], 0, region, level, auto_lend=auto_lend, referral_code=code)
        )
        refused = next((e for e in events if isinstance(e, AccountRejected)), None)
        if refused is not None:  # a refused region (core/compliance) or referral code: no account is opened
            raise growth_error(refused.reason)
        created = next(e for e in events if isinstance(e, AccountCreated))
        account = created.account
        events = await service.submit(AddApiKey(account, public_key))
    if isinstance(events[0], ApiKeyRejected):  # cannot happen under the lock; kept as the engine's word
        raise bad_request(f"publicKey rejected: {events[0].reason}")
    for asset, atoms in amounts:
        events = await service.submit(Deposit(account, asset.symbol, atoms, f"sandbox:{account}:{asset.symbol}"))
        if isinstance(events[0], DepositRejected):  # e.g. the exchange would hold more than 2**60 atoms
            reason = events[0].reason
            raise bad_request(f"account {account} was created, but its {asset.symbol} grant was refused: {reason}")
    return {"accountId": account, "apiKey": public_key, **({"region": region, "level": level} if region else {})}


def _referral_code(body: dict[str, Any]) -> str:
    """``referralCode`` (optional): the sign-up is tied to that code's account for good."""
    code = body.get("referralCode") or ""
    if not isinstance(code, str) or len(code) > 16:
        raise bad_request("referralCode must be a referral code (4 to 16 characters, A-Z and 0-9)")
    return code.strip().upper()


def _identity(body: dict[str, Any]) -> tuple[str, str]:
    """``region`` (ISO 3166, optional: none leaves the account unidentified, the rules'
    ``unidentified_level``) and ``level`` (none, basic, full; default full in the sandbox)."""
    region, level = body.get("region", ""), body.get("level", "")
    if not isinstance(region, str) or not isinstance(level, str) or len(region) > 8 or len(level) > 8:
        raise bad_request("region and level are strings")
    if level and not region:
        raise bad_request("level needs a region")
    return region.upper(), (level or "full") if region else ""


# What "start trading" in the web front end grants: no admin token, so the caller picks nothing but its key.
SIGNUP_FUND = {"USDC": "100000", "SOL": "500", "BTC": "2", "ETH": "40"}


async def sandbox_signup(service: ExchangeService, body: Any) -> Any:
    """Self-service sandbox account (no admin token): the caller's public key, a fixed demo grant.

    The browser generates the ED25519 key pair and sends only ``publicKey``; ``fund`` is refused so
    the grant stays the same for everyone. ``region`` (and ``level``, default full) sign up as a
    resident of a region: a refused region fails here (403 ``FORBIDDEN``). Sandbox mode only (403
    otherwise, like the other paths).
    """
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    if set(body) - {"publicKey", "label", "region", "level", "referralCode"}:
        raise bad_request(
            "only publicKey (and label, region, level, referralCode) may be given; the sandbox grant is fixed"
        )
    fund = {sym: qty for sym, qty in SIGNUP_FUND.items() if sym in service.wire.assets}
    return await sandbox_create_account(service, {**body, "fund": fund})


async def sandbox_set_price(service: ExchangeService, body: Any) -> Any:
    """Move the reference price the demo makers quote around (``rucksack sandbox price``)."""
    from rucksack.exchange.api.routes.operator import set_index_price  # (it imports this module)

    return await set_index_price(service, body)
