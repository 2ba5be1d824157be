"""Subaccounts (a Rucksack extension: Backpack publishes no endpoint for them).

A subaccount is a separate cross-margined wallet owned by a top-level account (core
``CreateAccount(parent)``). Its id is the engine's account id, and that is the ``subaccountId``
the Backpack endpoints accept (capital, capital/collateral, position, account, limits, funding
history). An API key reaches its own account and that account's subaccounts, nothing else: any
other id answers ``404 "Subaccount not found"`` exactly like an id that does not exist.

- ``POST /api/v1/subaccounts`` ``{label?}`` (instruction ``subaccountCreate``) -> ``{subaccountId, label, parentId}``
- ``GET /api/v1/subaccounts`` (``subaccountQueryAll``) -> ``[{subaccountId, label, parentId, createdAt}]``
- ``POST /api/v1/subaccounts/transfer`` ``{fromSubaccountId?, toSubaccountId?, symbol, quantity}``
  (``subaccountTransfer``): a missing side is the main account; checked against the source's margin.
- ``POST /api/v1/subaccounts/apiKeys`` ``{subaccountId, publicKey}`` (``subaccountApiKeyCreate``) and
  ``DELETE`` the same (``subaccountApiKeyDelete``): the main account binds an ED25519 public key to
  one of its subaccounts, or unbinds it. A subaccount's key authenticates *as the subaccount*, as a
  Backpack key made for a subaccount does: any client trades, lends and withdraws there with it,
  and it reaches nothing else (not the main account, not the sibling subaccounts). The list shows
  each subaccount's keys. The private half never reaches the exchange.

Only the main account creates subaccounts, moves funds between them and manages their keys.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason
from rucksack.exchange.api.payload import Num
from rucksack.exchange.api.routes.growth import growth_error
from rucksack.exchange.api.wire import iso_ms, parse_amount
from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import AddApiKey, CreateAccount, RemoveApiKey, Transfer
from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.events import AccountCreated, ApiKeyRejected, TransferRejected
from rucksack.exchange.service import ExchangeService

MAX_SUBACCOUNTS = 100


def not_found() -> ApiError:
    return ApiError(404, "RESOURCE_NOT_FOUND", "Subaccount not found")


def parse_subaccount(value: Any) -> int:
    if isinstance(value, bool):
        raise not_found()
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise not_found()
    return int(text)


def owns(service: ExchangeService, account: int, target: int) -> bool:
    """``target`` is ``account`` itself or one of its subaccounts."""
    if target == account:
        return True
    acct = queries.account(service.engine, target)
    return acct is not None and acct.parent == account and queries.owner(service.engine, target) == account


def target_account(service: ExchangeService, account: int, params: Any) -> int:
    """The wallet a request addresses: ``subaccountId`` if given (own subaccounts only), else the key's."""
    if not isinstance(params, dict):
        return account
    value = params.get("subaccountId")
    if value is None:
        return account
    target = parse_subaccount(value)
    if target == 0:
        return account
    if not owns(service, account, target):
        raise not_found()
    return target


def subaccount_id(service: ExchangeService, account: int) -> int | None:
    acct = queries.account(service.engine, account)
    return account if acct is not None and acct.parent else None


def user_id(service: ExchangeService, account: int) -> int:
    owner = queries.owner(service.engine, account)
    return owner if owner > 0 else account


async def create_subaccount(service: ExchangeService, account: int, params: Any) -> Any:
    label = params.get("label", "")
    if not isinstance(label, str) or isinstance(label, Num) or len(label) > 64:  # a JSON number is a Num
        raise bad_request("label must be a string of at most 64 characters")
    if queries.owner(service.engine, account) != account:
        raise ApiError(400, "INVALID_CLIENT_REQUEST", "a subaccount cannot own subaccounts")
    async with service.accounts_lock:  # the count and the creation it allows, with no other creation between
        count = len(queries.subaccounts(service.engine, account))
        if count >= MAX_SUBACCOUNTS:
            raise ApiError(400, "INVALID_CLIENT_REQUEST", f"at most {MAX_SUBACCOUNTS} subaccounts per account")
        events = await service.submit(CreateAccount(label, parent=account, referral_code=_referral_code(params)))
    created = next((e for e in events if isinstance(e, AccountCreated)), None)
    if created is None:  # a referral code on a subaccount is refused (core/growth/affiliates.py)
        raise growth_error(getattr(events[0], "reason", Reason.UNKNOWN_ACCOUNT))
    return {"subaccountId": created.account, "label": label, "parentId": account}


def _referral_code(params: dict[str, Any]) -> str:
    code = params.get("referralCode") or ""
    if not isinstance(code, str) or len(code) > 16:
        raise bad_request("referralCode must be a referral code")
    return code.upper()


def parse_public_key(value: Any) -> str:
    """A 32-byte ED25519 public key in canonical standard base64 (44 characters), or a 400."""
    if not isinstance(value, str):
        raise bad_request("publicKey (base64 ED25519 public key) is required")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_request("publicKey must be standard base64") from exc
    if len(raw) != 32 or base64.b64encode(raw).decode() != value:
        raise bad_request("publicKey must be a 32-byte ED25519 public key in standard base64")
    return value


def _main_only(service: ExchangeService, account: int, what: str) -> None:
    if queries.owner(service.engine, account) != account:
        raise ApiError(400, "INVALID_CLIENT_REQUEST", f"{what} are made by the main account")


def _own_subaccount(service: ExchangeService, account: int, params: Any) -> int:
    target = target_account(service, account, {"subaccountId": params.get("subaccountId")})
    if target == account:
        raise bad_request("subaccountId must name one of your subaccounts")
    return target


async def add_api_key(service: ExchangeService, account: int, params: Any) -> Any:
    _main_only(service, account, "subaccount keys")
    target = _own_subaccount(service, account, params)
    key = parse_public_key(params.get("publicKey"))
    async with service.accounts_lock:  # never between a sign-up's key check and its AddApiKey
        if queries.account_for_key(service.engine, key) is not None:
            raise bad_request("that public key is already registered")
        events = await service.submit(AddApiKey(target, key))
    if isinstance(events[0], ApiKeyRejected):
        raise bad_request(f"publicKey rejected: {events[0].reason}")
    return {"subaccountId": target, "publicKey": key}


async def remove_api_key(service: ExchangeService, account: int, params: Any) -> Any:
    _main_only(service, account, "subaccount keys")
    target = _own_subaccount(service, account, params)
    key = parse_public_key(params.get("publicKey"))
    events = await service.submit(RemoveApiKey(target, key))
    if isinstance(events[0], ApiKeyRejected):
        raise ApiError(404, "RESOURCE_NOT_FOUND", "no such key on that subaccount")
    return {"subaccountId": target, "publicKey": key}


def keys_by_account(service: ExchangeService) -> dict[int, list[str]]:
    return queries.api_keys_by_account(service.engine)


async def list_subaccounts(service: ExchangeService, account: int, params: Any) -> Any:
    labels = await service.store.subaccounts(account)
    keys = keys_by_account(service)
    out = []
    for a in queries.subaccounts(service.engine, account):
        label, created_us = labels.get(a, ("", 0))
        out.append(
            {
                "subaccountId": a,
                "label": label,
                "parentId": account,
                "createdAt": iso_ms(created_us) if created_us else None,
                "apiKeys": keys.get(a, []),
            }
        )
    return out


async def transfer(service: ExchangeService, account: int, params: Any) -> Any:
    _main_only(service, account, "transfers")
    source = target_account(service, account, {"subaccountId": params.get("fromSubaccountId")})
    target = target_account(service, account, {"subaccountId": params.get("toSubaccountId")})
    asset = service.wire.asset(params.get("symbol"))
    amount = parse_amount(params.get("quantity"), asset)
    if source == target:
        raise bad_request("fromSubaccountId and toSubaccountId must differ")
    events = await service.submit(Transfer(account, source, target, asset.symbol, amount))
    for ev in events:
        if isinstance(ev, TransferRejected):
            if ev.reason == Reason.UNKNOWN_ACCOUNT:
                raise not_found()
            raise from_reason(ev.reason)
    return None
