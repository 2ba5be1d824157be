"""Compliance checks the other commands call, and the derived per-account lookups.

Each ``*_refusal`` returns a ``Reason`` ("" when allowed) and changes nothing; the caller emits
its own rejection event, so a refused command changes nothing. Products open to an account are
its region rule's products intersected with its verification level's; a refused region opens
none (orders that only reduce a position stay allowed, so a client can always close out;
withdrawals are limited by level, never by region, so funds can always leave).

Daily limits count settlement-asset value (``MarginCalc.value``, rounded up: in the ledger's
favour) per owner per UTC day of the command's stamp; a day starts at zero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.commands import Deposit, PlaceOrder, Withdraw
from rucksack.exchange.core.compliance.rules import LENDING, LEVELS, MARGIN, PERPS, SPOT, UNLIMITED, valid_region
from rucksack.exchange.core.compliance.state import ALL, DAY_US
from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.markets import FIRST_USER_ACCOUNT

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

NOT_OFFERED = {SPOT: Reason.SPOT_NOT_OFFERED, MARGIN: Reason.MARGIN_NOT_OFFERED, PERPS: Reason.PERPS_NOT_OFFERED}
NOT_OFFERED[LENDING] = Reason.LENDING_NOT_OFFERED
REFUND_PREFIX = "withdrawal-refund:"  # custody's refunds of failed withdrawals: not new money


def order_refusal(s: ExchangeState, c: PlaceOrder) -> str:
    comp = s.compliance
    bits = comp.masks.get(c.account, comp.default_mask)
    if bits == ALL or c.reduce_only:
        return ""
    market = s.market_by_symbol.get(c.market)
    if market is None:
        return ""  # placement refuses it as an unknown market
    need = PERPS if market.is_perp else SPOT | (MARGIN if c.auto_borrow else 0)
    return _refusal(s, c.account, need)


def product_refusal(s: ExchangeState, account: int, need: int) -> str:
    comp = s.compliance
    if comp.masks.get(account, comp.default_mask) & need == need:
        return ""
    return _refusal(s, account, need)


def _refusal(s: ExchangeState, account: int, need: int) -> str:
    owner = s.owner(account)
    if owner < 0:
        return ""  # the command refuses an unknown account itself
    comp = s.compliance
    open_bits, region_bits, _ = comp.products_of(owner)
    if open_bits & need == need:
        return ""
    region = comp.identity(owner)[1]
    if region and comp.is_refused(region):
        return Reason.REGION_REFUSED
    for bit in (SPOT, MARGIN, PERPS, LENDING):
        if need & bit and not region_bits & bit:
            return NOT_OFFERED[bit]
    return Reason.VERIFICATION_REQUIRED


def leverage_refusal(s: ExchangeState, account: int, leverage: int) -> str:
    cap = s.compliance.caps.get(account, s.compliance.default_cap)
    return Reason.LEVERAGE_CAP if cap and leverage > cap else ""


def signup_refusal(s: ExchangeState, region: str, level: str) -> str:
    if level and level not in LEVELS:
        return Reason.INVALID_LEVEL
    if not region:
        return ""
    if not valid_region(region):
        return Reason.INVALID_REGION
    return Reason.REGION_REFUSED if s.compliance.is_refused(region) else ""


def _used(s: ExchangeState, owner: int) -> tuple[int, int]:
    day, deposited, withdrawn = s.compliance.usage.get(owner, (-1, 0, 0))
    return (deposited, withdrawn) if day == s.last_ts_us // DAY_US else (0, 0)


def _count(s: ExchangeState, owner: int, deposited: int, withdrawn: int) -> None:
    dep, wd = _used(s, owner)
    s.compliance.usage[owner] = (s.last_ts_us // DAY_US, dep + deposited, wd + withdrawn)


def deposit_refusal(s: ExchangeState, c: Deposit) -> tuple[str, int]:
    """(reason, value) of a deposit against the owner's daily deposit limit."""
    owner = s.owner(c.account)
    asset = s.asset_index.get(c.asset, -1)
    if owner < 0 or asset < 0 or c.tx_id.startswith(REFUND_PREFIX):
        return "", 0
    comp = s.compliance
    limit = comp.entity(owner).deposit_per_day[comp.identity(owner)[0]]
    value = s.margin.value(asset, c.amount, True)
    if limit != UNLIMITED and _used(s, owner)[0] + value > limit:
        return Reason.DEPOSIT_LIMIT, value
    return "", value


def count_deposit(s: ExchangeState, account: int, value: int) -> None:
    if value:
        _count(s, s.owner(account), value, 0)


def withdrawal_refusal(s: ExchangeState, c: Withdraw) -> tuple[str, int]:
    """(reason, value) of a withdrawal: the daily limit of the owner's level, and the Travel Rule
    (at or above the entity's threshold the beneficiary must be given)."""
    owner = s.owner(c.account)
    asset = s.asset_index.get(c.asset, -1)
    if owner < 0 or asset < 0:
        return "", 0
    comp = s.compliance
    entity = comp.entity(owner)
    limit = entity.withdrawal_per_day[comp.identity(owner)[0]]
    value = s.margin.value(asset, c.amount, True)
    if limit != UNLIMITED and _used(s, owner)[1] + value > limit:
        return Reason.WITHDRAWAL_LIMIT, value
    travel = entity.travel_rule_threshold
    if c.address and travel != UNLIMITED and value >= travel and not c.beneficiary:
        return Reason.RECIPIENT_INFORMATION_REQUIRED, value
    return "", value


def count_withdrawal(s: ExchangeState, account: int, value: int) -> None:
    _count(s, s.owner(account), 0, value)


def uncount_withdrawal(s: ExchangeState, owner: int, day: int, value: int) -> None:
    """Give a cancelled withdrawal's value back to the day it counted on (if that is today)."""
    found = s.compliance.usage.get(owner)
    if found is not None and found[0] == day:
        s.compliance.usage[owner] = (day, found[1], max(0, found[2] - value))


# -- identities and the derived lookups ---------------------------------------------------------


def set_identity(s: ExchangeState, owner: int, level: int, region: str) -> None:
    s.compliance.identities[owner] = (level, region)
    refresh_owner(s, owner, clamp=True)


def refresh_owner(s: ExchangeState, owner: int, clamp: bool) -> None:
    """Recompute the product mask and leverage cap of ``owner`` and its subaccounts; with
    ``clamp``, lower a leverage limit above the cap to it (0, the venue's maximum, counts as above)."""
    comp = s.compliance
    bits = comp.products_of(owner)[0]
    cap = comp.account_rule(owner).max_leverage
    for account, acct in sorted(s.ledger.accounts.items()):
        if account != owner and acct.parent != owner:
            continue
        comp.masks[account] = bits
        comp.caps[account] = cap
        if clamp and cap and (acct.leverage_limit == 0 or acct.leverage_limit > cap):
            acct.leverage_limit = cap


def refresh_all(s: ExchangeState, clamp: bool) -> None:
    """After a rule change (or a restore): every lookup again, every identified owner, and the
    unidentified accounts' caps."""
    comp = s.compliance
    comp.index_rules()
    comp.masks.clear()
    comp.caps.clear()
    for owner in sorted(comp.identities):
        refresh_owner(s, owner, clamp)
    cap = comp.default_cap
    if clamp and cap:
        for account, acct in sorted(s.ledger.accounts.items()):
            lev = acct.leverage_limit
            if account >= FIRST_USER_ACCOUNT and account not in comp.caps and (lev == 0 or lev > cap):
                acct.leverage_limit = cap


def inherit(s: ExchangeState, account: int, parent: int) -> None:
    """A new subaccount gets its owner's mask and cap (and leverage limit capped)."""
    comp = s.compliance
    if parent in comp.masks:
        comp.masks[account] = comp.masks[parent]
        comp.caps[account] = comp.caps[parent]
    cap = comp.caps.get(account, comp.default_cap)
    if cap:
        s.ledger.account(account).leverage_limit = cap
