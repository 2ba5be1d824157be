"""Compliance, user side: what is open to the account and why, the withdrawal security delay, the
withdrawal address allow-list, cancelling a held withdrawal (docs/compliance.md, docs/api.md).

- ``GET /api/v1/account/compliance`` (``accountComplianceQuery``; Rucksack extension): region,
  level, entity, each product open or not with the reason, leverage cap, daily limits and use.
- ``GET /api/v1/compliance/regions`` (public; Rucksack extension): each region the rules name with
  its rule, entity, products and leverage cap, and the refused regions (the web sign-up's choices).
- ``GET | POST | PATCH /wapi/v1/capital/withdrawals/delay`` (``withdrawalDelayQuery``,
  ``withdrawalDelayCreate``, ``withdrawalDelayUpdate``; Backpack): ``withdrawalDelayHours`` and
  ``twoFactorToken`` (Rucksack has no second factor yet: the signed request authenticates, the
  token must be present and is not checked). GET answers 204 when no delay is set; POST 409 when
  one exists; PATCH 404 when none does. Lowering takes effect after the current delay period.
- ``GET | POST | DELETE /wapi/v1/capital/withdrawals/addresses`` (Rucksack extension):
  the allow-list; withdrawals to a listed address skip the delay once the address has been
  listed for the delay in force when it was added.
- ``DELETE /wapi/v1/capital/withdrawals`` (``withdrawalCancel``; Rucksack extension): ``id`` of a
  withdrawal still in its delay or review; the funds come back.

Every change is a journaled command; the core decides (``core/compliance``).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason
from rucksack.exchange.api.wire import format_atoms, iso_ms
from rucksack.exchange.core import queries
from rucksack.exchange.core.compliance.commands import CancelWithdrawal, SetWithdrawalAddress, SetWithdrawalDelay
from rucksack.exchange.core.compliance.events import ComplianceRejected, WithdrawalCancelled
from rucksack.exchange.core.compliance.rules import BITS, LEVELS, PRODUCTS, UNLIMITED, mask
from rucksack.exchange.core.compliance.state import DAY_US
from rucksack.exchange.service import ExchangeService

NO_CONTENT = Response(b"", status_code=204)
PRODUCT_NAMES = {
    "spot": "spot trading",
    "margin": "margin trading and borrowing",
    "perps": "perpetual futures",
    "lending": "lending",
}


def _usd(service: ExchangeService, atoms: int) -> str:
    if atoms == UNLIMITED:
        return "unlimited"
    return format_atoms(atoms, service.wire.assets[service.spec.settlement_asset].decimals)


def profile(service: ExchangeService, account: int) -> dict[str, Any]:
    """The compliance profile of ``account``'s owner: what is open and why."""
    engine = service.engine
    comp = queries.compliance(engine)
    owner = queries.owner(engine, account)
    level, region = comp.identity(owner)
    rule = comp.account_rule(owner)
    entity = comp.entity(owner)
    refused = bool(region) and comp.is_refused(region)
    level_bits = mask(comp.rules.level_products[level])
    where = f"residents of {region}" if region else "accounts without a declared region"
    products = []
    for product in PRODUCTS:
        bit = BITS[product]
        if refused:
            why = f"{region} is a refused region ({_refused_source(comp.rules.refused, region)})"
        elif not bit & mask(rule.products):
            why = f"{entity.name} does not offer {PRODUCT_NAMES[product]} to {where} (rule {rule.name}: {rule.source})"
        elif not bit & level_bits:
            needs = next((lv for i, lv in enumerate(LEVELS) if bit & mask(comp.rules.level_products[i])), "-")
            why = f"verification level {LEVELS[level]} does not open it; level {needs} does"
        else:
            why = f"offered by {entity.name} to {where} at level {LEVELS[level]} (rule {rule.name}: {rule.source})"
        open_ = not refused and bool(bit & mask(rule.products) & level_bits)
        products.append({"product": product, "open": open_, "why": why})
    day, deposited, withdrawn = comp.usage.get(owner, (-1, 0, 0))
    if day != service.clock() // DAY_US:
        deposited = withdrawn = 0
    cap = rule.max_leverage
    return {
        "accountId": owner,
        "region": region or None,
        "level": LEVELS[level],
        "refused": refused,
        "entity": {"id": entity.id, "name": entity.name, "licence": entity.licence},
        "rule": rule.name,
        "source": rule.source,
        "products": products,
        "maxLeverage": str(cap or service.spec.risk.max_leverage),
        "limits": {
            "depositPerDay": _usd(service, entity.deposit_per_day[level]),
            "withdrawalPerDay": _usd(service, entity.withdrawal_per_day[level]),
            "depositedToday": _usd(service, deposited),
            "withdrawnToday": _usd(service, withdrawn),
            "travelRuleThreshold": _usd(service, entity.travel_rule_threshold),
            "reviewThreshold": _usd(service, comp.rules.review_threshold),
        },
    }


def _refused_source(refused: Any, region: str) -> str:
    country = region.partition("-")[0]
    return next((r.source for r in refused if r.region in (region, country)), "refused")


async def regions(service: ExchangeService, params: dict[str, str]) -> Any:
    """Public: what a newcomer may declare and what each region opens (no account needed)."""
    rules = queries.compliance(service.engine).rules
    names = {e.id: e.name for e in rules.entities}
    served = [
        {
            "region": region,
            "rule": r.name,
            "entity": r.entity,
            "entityName": names.get(r.entity, r.entity),
            "products": r.products,
            "maxLeverage": str(r.max_leverage or service.spec.risk.max_leverage),
        }
        for r in rules.rules
        for region in r.regions
    ]
    refused = [{"region": r.region, "source": r.source} for r in rules.refused]
    return {"regions": sorted(served, key=lambda x: x["region"]), "refused": sorted(refused, key=lambda x: x["region"])}


async def account_compliance(service: ExchangeService, account: int, params: Any) -> Any:
    return profile(service, account)


# -- the withdrawal delay (Backpack) --------------------------------------------------------------


def delay_body(service: ExchangeService, account: int) -> dict[str, Any] | None:
    comp = queries.compliance(service.engine)
    owner = queries.owner(service.engine, account)
    if owner not in comp.delays:
        return None
    current, pending, at = comp.delay(owner, service.clock())
    return {
        "currentWithdrawalDelayHours": current,
        "pendingWithdrawalDelayHours": pending if pending >= 0 else None,
        "pendingWithdrawalDelayHoursEnabledAt": iso_ms(at) if pending >= 0 else None,
    }


async def delay_query(service: ExchangeService, account: int, params: Any) -> Any:
    body = delay_body(service, account)
    return NO_CONTENT if body is None else body


def _hours(params: Any) -> int:
    hours = params.get("withdrawalDelayHours")
    if isinstance(hours, bool) or not isinstance(hours, (int, str)) or not str(hours).isdigit():
        raise bad_request("withdrawalDelayHours must be a whole number of hours")
    token = params.get("twoFactorToken")
    if not isinstance(token, str) or not token or len(token) > 64:
        raise bad_request("twoFactorToken is required (a string)")
    return int(hours)


async def _set_delay(service: ExchangeService, account: int, params: Any, create: bool) -> None:
    hours = _hours(params)
    events = await service.submit(SetWithdrawalDelay(account, min(hours, 1 << 31), create))
    for ev in events:
        if isinstance(ev, ComplianceRejected):
            raise from_reason(ev.reason)


async def delay_create(service: ExchangeService, account: int, params: Any) -> Any:
    await _set_delay(service, account, params, create=True)
    return None


async def delay_update(service: ExchangeService, account: int, params: Any) -> Any:
    await _set_delay(service, account, params, create=False)
    return delay_body(service, account)


# -- the address allow-list (Rucksack extension) -------------------------------------------------


def _address(params: Any) -> str:
    from rucksack.chains.addresses import InvalidAddress, validate_address
    from rucksack.exchange.custody.keys import BLOCKCHAIN_OF, chain_for_blockchain

    chain = chain_for_blockchain(str(params.get("blockchain") or ""))
    if chain is None:
        raise bad_request("blockchain is required (e.g. Solana)")
    try:
        address = validate_address(chain, str(params.get("address") or ""))
    except InvalidAddress as exc:
        raise bad_request(f"Invalid {params.get('blockchain')} address: {exc}") from None
    return f"{BLOCKCHAIN_OF[chain.key]}:{address}"


def _address_rows(service: ExchangeService, account: int) -> list[dict[str, Any]]:
    comp = queries.compliance(service.engine)
    book = comp.allow.get(queries.owner(service.engine, account), {})
    out = []
    for key, at in sorted(book.items()):
        blockchain, _, address = key.partition(":")
        out.append({"blockchain": blockchain, "address": address, "effectiveAt": iso_ms(at)})
    return out


async def addresses(service: ExchangeService, account: int, params: Any) -> Any:
    return _address_rows(service, account)


async def _set_address(service: ExchangeService, account: int, params: Any, allowed: bool) -> Any:
    events = await service.submit(SetWithdrawalAddress(account, _address(params), allowed))
    for ev in events:
        if isinstance(ev, ComplianceRejected):
            if not allowed:
                raise ApiError(404, "RESOURCE_NOT_FOUND", "That address is not on the allow-list")
            raise from_reason(ev.reason)
    return _address_rows(service, account)


async def address_add(service: ExchangeService, account: int, params: Any) -> Any:
    return await _set_address(service, account, params, allowed=True)


async def address_remove(service: ExchangeService, account: int, params: Any) -> Any:
    return await _set_address(service, account, params, allowed=False)


# -- cancelling a held withdrawal (Rucksack extension) -------------------------------------------


async def withdrawal_cancel(service: ExchangeService, account: int, params: Any) -> Any:
    from rucksack.exchange.api.routes.account import chain_withdrawal

    wid = params.get("id")
    if isinstance(wid, bool) or not str(wid).isdigit() or len(str(wid)) > 18:
        raise bad_request("id (the withdrawal's id) is required")
    events = await service.submit(CancelWithdrawal(account, f"withdrawal:{int(str(wid))}"))
    for ev in events:
        if isinstance(ev, ComplianceRejected):
            raise from_reason(ev.reason)
    if not any(isinstance(ev, WithdrawalCancelled) for ev in events):  # pragma: no cover - the core says one
        raise bad_request("the withdrawal was not cancelled")
    custody = service.custody
    if custody is None:
        return None
    custody.db.update_withdrawal(int(str(wid)), status="cancelled", error="cancelled by the account")
    row = custody.db.withdrawal(int(str(wid)))
    return chain_withdrawal(service, row) if row is not None else None
