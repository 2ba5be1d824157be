"""Operator actions for compliance, withdrawal review, operator keys and the audit trail
(Rucksack extension; docs/compliance.md, docs/api.md). Each route's roles are in
``api.app.OPERATOR``; every change is a journaled command, and every operator request that changes
something is recorded in the journaled audit trail by the dispatcher (``RecordOperatorAction``).

- ``POST /api/v1/operator/keys`` (admin): register an operator key with roles, or remove it
  (``roles`` empty); ``GET /api/v1/operator/keys``: the keys and their roles.
- ``POST /api/v1/operator/identity`` (compliance): an account's ``level`` and/or ``region``.
- ``GET /api/v1/operator/compliance/accounts`` (compliance, operations): identified accounts, or
  one account's profile (``accountId``).
- ``GET /api/v1/operator/compliance/rules``: the rules in force; ``POST .../rules``,
  ``POST .../refused``, ``POST .../limits`` (compliance) change them.
- ``GET /api/v1/operator/withdrawals`` (operations, compliance): held withdrawals;
  ``POST /api/v1/operator/withdrawals/review`` (operations): approve or reject one.
- ``GET /api/v1/operator/audit`` (compliance, admin): the audit trail, filtered;
  ``GET /api/v1/operator/audit/export``: all of it, each record chained to the one before by
  SHA-256 (a changed or missing record breaks every later hash).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason, not_found
from rucksack.exchange.api.routes.common import int_param
from rucksack.exchange.api.routes.compliance import profile
from rucksack.exchange.api.routes.subaccounts import parse_public_key
from rucksack.exchange.api.wire import format_atoms, iso_ms
from rucksack.exchange.core import queries
from rucksack.exchange.core.compliance.commands import (
    ReviewWithdrawal,
    SetIdentity,
    SetLevelLimits,
    SetOperatorKey,
    SetRegionRefused,
    SetRegionRule,
)
from rucksack.exchange.core.compliance.dispatch import ROLES
from rucksack.exchange.core.compliance.events import ComplianceRejected, WithdrawalCancelled
from rucksack.exchange.core.compliance.rules import LEVELS, PRODUCTS, UNLIMITED, RegionRule
from rucksack.exchange.core.compliance.state import AuditRecord
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.numeric import DecimalError, parse_decimal
from rucksack.exchange.service import ExchangeService


def _refused(events: list[Event]) -> None:
    for ev in events:
        if isinstance(ev, ComplianceRejected):
            raise from_reason(ev.reason)


def _account(params: Any) -> int:
    value = params.get("accountId")
    if isinstance(value, bool) or not str(value).isdigit() or len(str(value)) > 18:
        raise bad_request("accountId is required (an integer)")
    return int(str(value))


def _usd(service: ExchangeService, value: Any, key: str) -> int:
    if value in ("unlimited", "-1", -1):
        return UNLIMITED
    if not isinstance(value, str) or len(value) > 40:
        raise bad_request(f"{key} is a decimal string (USD) or unlimited")
    try:
        return parse_decimal(value, service.wire.assets[service.spec.settlement_asset].decimals)
    except DecimalError as exc:
        raise bad_request(f"{key}: {exc}") from None


# -- operator keys ---------------------------------------------------------------------------------


async def keys_set(service: ExchangeService, body: Any) -> Any:
    key = parse_public_key(body.get("publicKey"))
    roles = body.get("roles", [])
    if not isinstance(roles, list) or any(r not in ROLES for r in roles):
        raise bad_request(f"roles must be a list of {', '.join(ROLES)} (empty: remove the key)")
    if key == service.operator_key:
        raise bad_request("the admin key given at start has every role already")
    events = await service.submit(SetOperatorKey(key, sorted(set(roles))))
    for ev in events:
        if isinstance(ev, ComplianceRejected):
            raise not_found("no such operator key") if not roles else bad_request("invalid operator key or roles")
    return {"publicKey": key, "roles": sorted(set(roles))}


async def keys_list(service: ExchangeService, body: Any) -> Any:
    comp = queries.compliance(service.engine)
    admin = [{"publicKey": service.operator_key, "roles": ["admin", *ROLES[:3]], "admin": True}]
    return admin + [{"publicKey": k, "roles": r, "admin": False} for k, r in sorted(comp.operators.items())]


# -- identities and rules --------------------------------------------------------------------------


async def identity_set(service: ExchangeService, body: Any) -> Any:
    account = _account(body)
    level, region = body.get("level", ""), body.get("region", "")
    if not isinstance(level, str) or not isinstance(region, str) or not (level or region):
        raise bad_request("level (none, basic, full) and/or region (ISO 3166) is required")
    if len(level) > 8 or len(region) > 8:
        raise bad_request("level or region too long")
    _refused(await service.submit(SetIdentity(account, level, region.upper())))
    return profile(service, account)


async def accounts_review(service: ExchangeService, body: Any) -> Any:
    engine = service.engine
    if body.get("accountId") is not None:
        account = _account(body)
        if queries.owner(engine, account) < 0:
            raise not_found("no such account")
        return profile(service, account)
    comp = queries.compliance(engine)
    return [
        {"accountId": a, "level": LEVELS[lv], "region": rg, "rule": comp.rule(rg).name}
        for a, (lv, rg) in sorted(comp.identities.items())
    ]


async def rules_get(service: ExchangeService, body: Any) -> Any:
    rules = queries.compliance(service.engine).rules
    settle = service.wire.assets[service.spec.settlement_asset]

    def amount(atoms: int) -> str:
        return "unlimited" if atoms == UNLIMITED else format_atoms(atoms, settle.decimals)

    return {
        "levels": list(LEVELS),
        "levelProducts": {lv: rules.level_products[i] for i, lv in enumerate(LEVELS)},
        "unidentifiedLevel": rules.unidentified_level,
        "reviewThreshold": amount(rules.review_threshold),
        "maxDelayHours": rules.max_delay_hours,
        "entities": [
            {
                "id": e.id,
                "name": e.name,
                "licence": e.licence,
                "depositPerDay": dict(zip(LEVELS, map(amount, e.deposit_per_day), strict=True)),
                "withdrawalPerDay": dict(zip(LEVELS, map(amount, e.withdrawal_per_day), strict=True)),
                "travelRuleThreshold": amount(e.travel_rule_threshold),
                "source": e.source,
            }
            for e in rules.entities
        ],
        "rules": [
            {
                "name": r.name,
                "regions": r.regions,
                "entity": r.entity,
                "products": r.products,
                "maxLeverage": r.max_leverage,
                "source": r.source,
            }
            for r in rules.rules
        ],
        "refused": [{"region": r.region, "source": r.source} for r in rules.refused],
    }


async def rule_set(service: ExchangeService, body: Any) -> Any:
    name, entity, source = body.get("name"), body.get("entity"), body.get("source", "")
    regions, products, lev = body.get("regions", []), body.get("products"), body.get("maxLeverage", 0)
    if not isinstance(name, str) or not name or not isinstance(entity, str) or not isinstance(source, str):
        raise bad_request("name and entity are required strings")
    if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions) or len(regions) > 300:
        raise bad_request("regions must be a list of ISO 3166 codes")
    if not isinstance(products, list) or any(p not in PRODUCTS for p in products):
        raise bad_request(f"products must be a list of {', '.join(PRODUCTS)}")
    if isinstance(lev, bool) or not str(lev).isdigit() or int(str(lev)) > service.spec.risk.max_leverage:
        raise bad_request(f"maxLeverage is a whole number from 0 (the venue's) to {service.spec.risk.max_leverage}")
    rule = RegionRule(name[:64], [r.upper() for r in regions], entity, list(products), int(str(lev)), source[:500])
    _refused(await service.submit(SetRegionRule(rule)))
    return await rules_get(service, {})


async def refused_set(service: ExchangeService, body: Any) -> Any:
    region, refused, source = body.get("region"), body.get("refused"), body.get("source", "")
    if not isinstance(region, str) or not isinstance(refused, bool) or not isinstance(source, str):
        raise bad_request("region (string) and refused (boolean) are required")
    _refused(await service.submit(SetRegionRefused(region.upper()[:8], refused, source[:500])))
    return await rules_get(service, {})


async def limits_set(service: ExchangeService, body: Any) -> Any:
    entity, level = body.get("entity"), body.get("level")
    if not isinstance(entity, str) or level not in LEVELS:
        raise bad_request(f"entity and level ({', '.join(LEVELS)}) are required")
    deposit = _usd(service, body.get("depositPerDay"), "depositPerDay")
    withdrawal = _usd(service, body.get("withdrawalPerDay"), "withdrawalPerDay")
    _refused(await service.submit(SetLevelLimits(entity, str(level), deposit, withdrawal)))
    return await rules_get(service, {})


# -- held withdrawals ------------------------------------------------------------------------------


async def withdrawals_held(service: ExchangeService, body: Any) -> Any:
    comp = queries.compliance(service.engine)
    custody = service.custody
    out = []
    for rid, h in sorted(comp.held.items()):
        wid = rid.removeprefix("withdrawal:")
        row = custody.db.withdrawal(int(wid)) if custody is not None and wid.isdigit() else None
        asset = service.wire.assets[h.asset]
        out.append(
            {
                "id": int(wid) if wid.isdigit() else rid,
                "accountId": h.account,
                "symbol": h.asset,
                "quantity": format_atoms(h.amount, asset.decimals),
                "triggerAt": iso_ms(h.trigger_at_us),
                "review": h.review,
                "toAddress": row["to_address"] if row else None,
                "recipientInformation": json.loads(row["recipient"]) if row and row.get("recipient") else None,
            }
        )
    return out


async def withdrawal_review(service: ExchangeService, body: Any) -> Any:
    wid, approve = body.get("id"), body.get("approve")
    if isinstance(wid, bool) or not str(wid).isdigit() or len(str(wid)) > 18 or not isinstance(approve, bool):
        raise bad_request("id (integer) and approve (boolean) are required")
    events = await service.submit(ReviewWithdrawal(f"withdrawal:{int(str(wid))}", approve))
    _refused(events)
    cancelled = any(isinstance(ev, WithdrawalCancelled) for ev in events)
    if cancelled and service.custody is not None:
        service.custody.db.update_withdrawal(int(str(wid)), status="cancelled", error="rejected in review")
    return {"id": int(str(wid)), "approved": approve}


# -- the audit trail -------------------------------------------------------------------------------


def _record(r: AuditRecord) -> dict[str, Any]:
    return {
        "seq": r.seq,
        "timestamp": iso_ms(r.ts_us),
        "operatorKey": r.operator_key,
        "instruction": r.instruction,
        "detail": r.detail,
        "outcome": r.outcome,
    }


async def audit_query(service: ExchangeService, body: Any) -> Any:
    trail = queries.compliance(service.engine).audit
    key, instruction = body.get("operatorKey"), body.get("instruction")
    from_ms = int_param(body, "from", 0)
    to_ms = int_param(body, "to", 1 << 62)
    limit = int_param(body, "limit", 100, lo=1, hi=1000)
    offset = int_param(body, "offset", 0)
    rows = [
        r
        for r in reversed(trail)
        if (key is None or r.operator_key == key)
        and (instruction is None or r.instruction == instruction)
        and from_ms * 1000 <= r.ts_us <= to_ms * 1000
    ]
    return [_record(r) for r in rows[offset : offset + limit]]


async def audit_export(service: ExchangeService, body: Any) -> Any:
    prev = "0" * 64
    out = []
    for r in queries.compliance(service.engine).audit:
        rec = _record(r)
        prev = hashlib.sha256((prev + json.dumps(rec, sort_keys=True, separators=(",", ":"))).encode()).hexdigest()
        out.append({**rec, "hash": prev})
    return {"records": out, "head": prev}


def detail(params: Any) -> str:
    """An operator request's body as the audit trail records it (sorted JSON, bounded)."""
    try:
        return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)[:2000]
    except (TypeError, ValueError):
        raise ApiError(400, "INVALID_CLIENT_REQUEST", "body is not JSON") from None
