"""Vaults (vaults-growth.md §1.1; the core's ``core.vaults``; docs/vaults.md).

Backpack's vault endpoints, on Rucksack's vaults: ``GET /api/v1/vaults`` and
``/api/v1/vaults/history`` (public), ``POST /api/v1/vault/mint``, ``POST``/``DELETE
/api/v1/vault/redeem``, ``GET /api/v1/vault/redeems/pending`` and ``GET /api/v1/vault/nav``
(signed, Backpack's instructions). Rucksack extensions (docs/api.md): ``POST /api/v1/vault``
(``vaultCreate``: anyone may lead a vault), ``GET /api/v1/vault/positions``
(``vaultPositionQuery``: the caller's shares, value and fees) and the extra fields of a vault.

Every change is one journaled command; a refusal is a Backpack error and changes nothing. The
leader trades the vault's account (a subaccount of the leader, ``accountId``) like any
subaccount: with an API key bound to it (``POST /api/v1/subaccounts/apiKeys``) or
``subaccountId`` on a leader key, so every real client works unchanged.

Quantities on the wire: asset amounts in the asset's decimals, vault tokens (shares) with
``book.SHARE_DECIMALS`` decimals, NAV per token in settlement-asset units rounded down, fees as
decimal fractions (``"0.1"`` = 10%).
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason, not_found
from rucksack.exchange.api.routes.common import uint_param
from rucksack.exchange.api.wire import format_atoms, parse_amount
from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import Command
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.numeric import DecimalError, parse_decimal
from rucksack.exchange.core.vaults.book import SHARE_DECIMALS, Vault
from rucksack.exchange.core.vaults.commands import CancelVaultRedeem, CreateVault, VaultDeposit, VaultRedeem
from rucksack.exchange.core.vaults.events import (
    CANCELLED,
    REDEEMED,
    REQUESTED,
    VaultMinted,
    VaultRedeemCancelled,
    VaultRedeemed,
    VaultRedeemRequested,
    VaultRejected,
)
from rucksack.exchange.service import ExchangeService

MS = 1000
INTERVALS_MS = {"1d": 86_400_000, "1w": 7 * 86_400_000, "1month": 30 * 86_400_000, "1year": 365 * 86_400_000}
VAULT_REASONS: dict[str, tuple[int, str, str]] = {
    "UnknownVault": (404, "RESOURCE_NOT_FOUND", "Vault not found"),
    "VaultLocked": (400, "INVALID_CLIENT_REQUEST", "The lock-up since your last deposit has not passed"),
    "VaultRedeemPending": (400, "INVALID_CLIENT_REQUEST", "A redeem request is already pending for this vault"),
    "VaultNoRedeemPending": (404, "RESOURCE_NOT_FOUND", "No pending redeem request for this vault"),
    "VaultLeaderMinimumShare": (
        400,
        "INVALID_CLIENT_REQUEST",
        "The vault's leader must keep its minimum share of the vault: this would break it",
    ),
    "VaultFull": (400, "INVALID_CLIENT_REQUEST", "The deposit would take the vault above its deposit cap"),
    "VaultInsolvent": (400, "INVALID_CLIENT_REQUEST", "The vault's NAV is not positive: no new deposits"),
    "VaultAccount": (400, "INVALID_CLIENT_REQUEST", "A vault's account moves capital only by vault mint and redeem"),
    "InvalidVault": (400, "INVALID_CLIENT_REQUEST", "Invalid vault parameters"),
}


def vault_error(reason: str) -> ApiError:
    return from_reason(reason, VAULT_REASONS)


async def _submit(service: ExchangeService, command: Command) -> list[Event]:
    events = await service.submit(command)
    for ev in events:
        if isinstance(ev, VaultRejected):
            raise vault_error(ev.reason)
    return events


def _body(params: Any) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise bad_request("the body must be a JSON object")
    return params


def _vault(service: ExchangeService, params: dict[str, Any]) -> Vault:
    vid = uint_param(params, "vaultId", -1, bits=32)
    if vid < 0:
        raise bad_request("vaultId is required")
    v = queries.vault_book(service.engine).vaults.get(vid)
    if v is None:
        raise not_found("Vault not found")
    return v


def _fraction(params: dict[str, Any], key: str, default: int) -> int:
    """A decimal fraction ("0.1") as parts per million."""
    value = params.get(key)
    if value is None:
        return default
    try:
        ppm = parse_decimal(str(value), 6) if isinstance(value, (str, int)) and not isinstance(value, bool) else -1
    except DecimalError:
        ppm = -1
    if not 0 <= ppm <= 1_000_000:
        raise bad_request(f"{key} must be a decimal fraction between 0 and 1 (at most 6 decimals)")
    return ppm


def _settle(service: ExchangeService) -> Any:
    spec = queries.spec(service.engine)
    return spec.assets[queries.settle_asset(service.engine)]


def _shares(shares: int) -> str:
    return format_atoms(shares, SHARE_DECIMALS)


def _per_share(service: ExchangeService, value: int, shares: int) -> str:
    """Settlement units per vault token, rounded down."""
    decimals = _settle(service).decimals
    return format_atoms(value * 10**SHARE_DECIMALS // shares if shares else 10**decimals, decimals)


def vault_json(service: ExchangeService, v: Vault) -> dict[str, Any]:
    """Backpack's ``Vault`` plus Rucksack's fields (docs/api.md)."""
    settle = _settle(service)
    value = queries.vault_nav(service.engine, v)
    cap_left = max(v.deposit_cap - value, 0) if v.deposit_cap else None
    peak = max((s.nav * 10**SHARE_DECIMALS // s.shares for s in v.samples if s.shares), default=0)
    now = value * 10**SHARE_DECIMALS // v.shares if v.shares else 0
    first = next((s for s in v.samples if s.shares), None)
    start = first.nav * 10**SHARE_DECIMALS // first.shares if first else 0
    return {
        "id": v.id,
        "vaultToken": f"RSV{v.id}",
        "symbol": settle.symbol,
        "mintsEnabled": True,
        "redeemsEnabled": True,
        "minMintQuantity": format_atoms(1, settle.decimals),
        "minRedeemTokens": _shares(1),
        "redeemDelayMs": v.redeem_delay_us // MS,
        "tokenStepSize": _shares(1),
        "remainingMintQuantity": format_atoms(cap_left, settle.decimals) if cap_left is not None else None,
        # Rucksack extensions
        "name": v.name,
        "leader": v.leader,
        "accountId": v.account,
        "protocol": v.protocol,
        "nav": _per_share(service, value, v.shares),
        "vaultEquity": format_atoms(value, settle.decimals),
        "tokenCirculatingSupply": _shares(v.shares),
        "managementFee": format_atoms(v.management_fee_ppm, 6),
        "performanceFee": format_atoms(v.performance_fee_ppm, 6),
        "leaderMinShare": format_atoms(v.leader_min_ppm, 6),
        "lockupMs": v.lockup_us // MS,
        "createdAt": v.created_us // MS,
        "pendingRedeems": len(v.queue),
        "halted": v.halted or None,  # why the vault is halted (its risk limits), null while it runs
        # since inception and from the highest sampled NAV per token, parts of one ("0.05" = 5%)
        "performance": format_atoms((now - start) * 10**6 // start, 6) if start else "0",
        "drawdown": format_atoms((peak - now) * 10**6 // peak, 6) if peak > now else "0",
    }


# ---------------------------------------------------------------------- public


async def vaults(service: ExchangeService, params: dict[str, str]) -> Any:
    book = queries.vault_book(service.engine)
    return [vault_json(service, book.vaults[i]) for i in sorted(book.vaults)]


async def vaults_history(service: ExchangeService, params: dict[str, str]) -> Any:
    v = _vault(service, dict(params))
    interval = params.get("interval", "1month")
    if interval not in INTERVALS_MS:
        raise bad_request("interval must be 1d, 1w, 1month or 1year")
    since = queries.last_ts_us(service.engine) - INTERVALS_MS[interval] * MS
    decimals = _settle(service).decimals
    return [
        {
            "vaultId": v.id,
            "timestamp": s.ts_us // MS,
            "nav": _per_share(service, s.nav, s.shares),
            "vaultEquity": format_atoms(s.nav, decimals),
            "tokenCirculatingSupply": _shares(s.shares),
        }
        for s in v.samples
        if s.ts_us >= since
    ]


# ---------------------------------------------------------------------- signed


async def vault_create(service: ExchangeService, account: int, params: Any) -> Any:
    body = _body(params)
    name = body.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        raise bad_request("name must be 1 to 64 characters")
    settle = _settle(service)
    command = CreateVault(
        account,
        name,
        parse_amount(body.get("quantity"), settle),
        management_fee_ppm=_fraction(body, "managementFee", 0),
        performance_fee_ppm=_fraction(body, "performanceFee", 0),
        leader_min_ppm=_fraction(body, "leaderMinShare", 50_000),
        lockup_us=uint_param(body, "lockupMs", 0, bits=40) * MS,
        redeem_delay_us=uint_param(body, "redeemDelayMs", 0, bits=40) * MS,
        deposit_cap=parse_amount(body["depositCap"], settle, "depositCap") if body.get("depositCap") else 0,
    )
    events = await _submit(service, command)
    minted = next(ev for ev in events if isinstance(ev, VaultMinted))
    return vault_json(service, queries.vault_book(service.engine).vaults[minted.vault_id])


async def vault_mint(service: ExchangeService, account: int, params: Any) -> Any:
    body = _body(params)
    v = _vault(service, body)
    asset = service.wire.asset(body.get("symbol"))
    amount = parse_amount(body.get("quantity"), asset)
    events = await _submit(service, VaultDeposit(account, v.id, asset.symbol, amount))
    m = next(ev for ev in events if isinstance(ev, VaultMinted))
    return {
        "vaultId": v.id,
        "symbol": m.asset,
        "quantity": format_atoms(m.amount, asset.decimals),
        "value": format_atoms(m.value, _settle(service).decimals),
        "vaultTokenQuantity": _shares(m.shares),
        "nav": _per_share(service, m.nav, m.total_shares),
        "timestamp": queries.last_ts_us(service.engine) // MS,
    }


def _redeem_json(service: ExchangeService, ev: Event, ts_us: int) -> dict[str, Any]:
    """Backpack's ``VaultRedeem``."""
    settle = _settle(service)
    if isinstance(ev, VaultRedeemed):
        return {
            "status": REDEEMED,
            "vaultId": ev.vault_id,
            "vaultTokenQuantity": _shares(ev.shares),
            "timestamp": ts_us // MS,
            "vaultToken": f"RSV{ev.vault_id}",
            "symbol": settle.symbol,
            "quantity": format_atoms(ev.amount, settle.decimals),
            "nav": _per_share(service, ev.nav, ev.total_shares),
            "performanceFeeTokens": _shares(ev.fee_shares),  # Rucksack extension
        }
    if isinstance(ev, VaultRedeemCancelled):
        return {"status": CANCELLED, "vaultId": ev.vault_id, "timestamp": ts_us // MS, "reason": ev.reason}
    assert isinstance(ev, VaultRedeemRequested)
    return {
        "status": REQUESTED,
        "vaultId": ev.vault_id,
        "vaultTokenQuantity": _shares(ev.shares),
        "timestamp": ts_us // MS,
        "dueAt": ev.due_us // MS,  # Rucksack extension
    }


async def vault_redeem(service: ExchangeService, account: int, params: Any) -> Any:
    body = _body(params)
    v = _vault(service, body)
    quantity = body.get("vaultTokenQuantity")
    shares = 0
    if quantity is not None:
        shares = _parse_shares(quantity)
    events = await _submit(service, VaultRedeem(account, v.id, shares))
    ts = queries.last_ts_us(service.engine)
    mine = [ev for ev in events if isinstance(ev, VaultRedeemed) and ev.account == account]
    requested = next(ev for ev in events if isinstance(ev, VaultRedeemRequested))
    return _redeem_json(service, mine[0] if mine else requested, ts)


def _parse_shares(value: Any) -> int:
    try:
        shares = parse_decimal(str(value), SHARE_DECIMALS) if isinstance(value, (str, int)) else -1
    except DecimalError:
        shares = -1
    if isinstance(value, bool) or shares <= 0 or shares > 10**30:
        raise ApiError(
            400,
            "INVALID_QUANTITY",
            f"vaultTokenQuantity must be a positive decimal (at most {SHARE_DECIMALS} decimals)",
        )
    return shares


async def vault_redeem_cancel(service: ExchangeService, account: int, params: Any) -> Any:
    body = _body(params)
    v = _vault(service, body)
    events = await _submit(service, CancelVaultRedeem(account, v.id))
    ev = next(ev for ev in events if isinstance(ev, VaultRedeemCancelled))
    return _redeem_json(service, ev, queries.last_ts_us(service.engine))


def _own(service: ExchangeService, account: int, v: Vault) -> None:
    """Backpack: only the vault's own account may ask; here its leader may too."""
    if account not in (v.account, v.leader):
        raise ApiError(403, "FORBIDDEN", "Only the vault's own account or its leader may query this")


async def vault_pending_redeems(service: ExchangeService, account: int, params: Any) -> Any:
    v = _vault(service, _body(params))
    _own(service, account, v)
    return [
        {
            "status": REQUESTED,
            "vaultId": v.id,
            "accountId": r.account,
            "vaultTokenQuantity": _shares(r.shares or v.depositors[r.account].shares),
            "timestamp": r.requested_us // MS,
            "dueAt": r.due_us // MS,
        }
        for r in v.queue
    ]


async def vault_nav(service: ExchangeService, account: int, params: Any) -> Any:
    """Backpack's ``VaultNav``. Rucksack mints and redeems at the NAV of the command itself (no
    TWAP: the NAV is marked at the index inside the command), so ``twapNav``, ``mintNav`` and
    ``redeemNav`` equal ``nav``."""
    v = _vault(service, _body(params))
    _own(service, account, v)
    value = queries.vault_nav(service.engine, v)
    acct = queries.account_or_empty(service.engine, v.account)
    equity = queries.margin(service.engine, acct).equity
    per = _per_share(service, value, v.shares)
    decimals = _settle(service).decimals
    return {
        "nav": per,
        "twapNav": per,
        "mintNav": per,
        "redeemNav": per,
        "vaultEquity": format_atoms(value, decimals),
        "netEquity": format_atoms(equity, decimals),
        "tokenCirculatingSupply": _shares(v.shares),
        "lastCrankTimestamp": v.fee_clock_us // MS,
    }


async def vault_positions(service: ExchangeService, account: int, params: Any) -> Any:
    """Rucksack extension: the caller's share of every vault it holds, valued now."""
    book = queries.vault_book(service.engine)
    decimals = _settle(service).decimals
    out = []
    for vid in sorted(book.vaults):
        v = book.vaults[vid]
        d = v.depositors.get(account)
        if d is None:
            continue
        fee_shares, amount, _ = queries.vault_redeem_quote(service.engine, v, d, d.shares)
        gross = d.shares * queries.vault_nav(service.engine, v) // v.shares
        pending = next((r for r in v.queue if r.account == account), None)
        out.append(
            {
                "vaultId": v.id,
                "name": v.name,
                "vaultTokenQuantity": _shares(d.shares),
                "value": format_atoms(max(gross, 0), decimals),
                "redeemValue": format_atoms(amount, decimals),  # after the performance fee
                "performanceFeeTokens": _shares(fee_shares),
                "highWaterValue": format_atoms(d.basis, decimals),
                "deposited": format_atoms(d.deposited, decimals),
                "withdrawn": format_atoms(d.withdrawn, decimals),
                "pnl": format_atoms(max(gross, 0) + d.withdrawn - d.deposited, decimals),
                "lockedUntil": (d.last_deposit_us + v.lockup_us) // MS,
                "pendingRedeem": _shares(pending.shares or d.shares) if pending else None,
                "isLeader": account == v.leader,
            }
        )
    return out


PUBLIC = {
    ("GET", "/api/v1/vaults"): vaults,
    ("GET", "/api/v1/vaults/history"): vaults_history,
}
PRIVATE = {
    ("POST", "/api/v1/vault"): ("vaultCreate", vault_create),
    ("POST", "/api/v1/vault/mint"): ("vaultMint", vault_mint),
    ("POST", "/api/v1/vault/redeem"): ("vaultRedeemRequest", vault_redeem),
    ("DELETE", "/api/v1/vault/redeem"): ("vaultRedeemCancel", vault_redeem_cancel),
    ("GET", "/api/v1/vault/redeems/pending"): ("vaultPendingRedeemsQuery", vault_pending_redeems),
    ("GET", "/api/v1/vault/nav"): ("vaultNavQuery", vault_nav),
    ("GET", "/api/v1/vault/positions"): ("vaultPositionQuery", vault_positions),
}
