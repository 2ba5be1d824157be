"""Apply a compliance command: identities, rule changes, withdrawal protection, operator keys
and the audit trail. A refused command emits ``ComplianceRejected`` and changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import msgspec

from rucksack.exchange.core.compliance import withdrawals
from rucksack.exchange.core.compliance.checks import refresh_all, set_identity
from rucksack.exchange.core.compliance.commands import (
    CancelWithdrawal,
    ComplianceCommand,
    RecordOperatorAction,
    ReleaseWithdrawals,
    ReviewWithdrawal,
    SetIdentity,
    SetLevelLimits,
    SetOperatorKey,
    SetRegionRefused,
    SetRegionRule,
    SetWithdrawalAddress,
    SetWithdrawalDelay,
)
from rucksack.exchange.core.compliance.events import (
    ComplianceRejected,
    IdentitySet,
    OperatorActionRecorded,
    OperatorKeySet,
    RulesChanged,
)
from rucksack.exchange.core.compliance.rules import LEVELS, ComplianceRules, RefusedRegion, check_rules, valid_region
from rucksack.exchange.core.compliance.state import AuditRecord
from rucksack.exchange.core.enums import Reason

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

ROLES: Final = ("compliance", "risk", "operations", "admin")
MAX_DETAIL: Final = 2000


def apply(s: ExchangeState, c: ComplianceCommand) -> None:
    if isinstance(c, ReleaseWithdrawals):
        withdrawals.release(s)
    elif isinstance(c, SetIdentity):
        _set_identity(s, c)
    elif isinstance(c, SetWithdrawalDelay):
        withdrawals.set_delay(s, c)
    elif isinstance(c, SetWithdrawalAddress):
        withdrawals.set_address(s, c)
    elif isinstance(c, CancelWithdrawal):
        withdrawals.cancel(s, c)
    elif isinstance(c, ReviewWithdrawal):
        withdrawals.review(s, c)
    elif isinstance(c, SetRegionRule):
        rules = s.compliance.rules
        kept = [r for r in rules.rules if r.name != c.rule.name]
        _change_rules(s, msgspec.structs.replace(rules, rules=[*kept, c.rule]), f"rule {c.rule.name}")
    elif isinstance(c, SetRegionRefused):
        _set_refused(s, c)
    elif isinstance(c, SetLevelLimits):
        _set_limits(s, c)
    elif isinstance(c, SetOperatorKey):
        _set_operator(s, c)
    elif isinstance(c, RecordOperatorAction):
        comp = s.compliance
        comp.audit.append(
            AuditRecord(s.last_seq, s.last_ts_us, c.operator_key, c.instruction, c.detail[:MAX_DETAIL], c.outcome[:200])
        )
        s.events.append(OperatorActionRecorded(len(comp.audit) - 1))


def _set_identity(s: ExchangeState, c: SetIdentity) -> None:
    comp = s.compliance
    reason = ""
    if s.owner(c.account) != c.account:
        reason = Reason.UNKNOWN_ACCOUNT  # identities belong to top-level accounts
    elif c.level and c.level not in LEVELS:
        reason = Reason.INVALID_LEVEL
    elif c.region and not valid_region(c.region):
        reason = Reason.INVALID_REGION
    if reason:
        s.events.append(ComplianceRejected(c.account, "SetIdentity", reason))
        return
    level, region = comp.identity(c.account)
    level = LEVELS.index(c.level) if c.level else level
    region = c.region or region
    set_identity(s, c.account, level, region)
    s.events.append(IdentitySet(c.account, LEVELS[level], region, comp.account_rule(c.account).entity))


def _change_rules(s: ExchangeState, rules: ComplianceRules, what: str) -> None:
    if check_rules(rules):
        s.events.append(ComplianceRejected(0, what, Reason.INVALID_RULE))
        return
    s.compliance.rules = rules
    refresh_all(s, clamp=True)
    s.events.append(RulesChanged(what))


def _set_refused(s: ExchangeState, c: SetRegionRefused) -> None:
    rules = s.compliance.rules
    kept = [r for r in rules.refused if r.region != c.region]
    refused = sorted([*kept, RefusedRegion(c.region, c.source)] if c.refused else kept, key=lambda r: r.region)
    _change_rules(s, msgspec.structs.replace(rules, refused=refused), f"refused {c.region}")


def _set_limits(s: ExchangeState, c: SetLevelLimits) -> None:
    rules = s.compliance.rules
    if c.level not in LEVELS or all(e.id != c.entity for e in rules.entities):
        s.events.append(ComplianceRejected(0, "SetLevelLimits", Reason.INVALID_RULE))
        return
    i = LEVELS.index(c.level)
    entities = []
    for e in rules.entities:
        if e.id == c.entity:
            dep, wd = list(e.deposit_per_day), list(e.withdrawal_per_day)
            dep[i], wd[i] = c.deposit_per_day, c.withdrawal_per_day
            e = msgspec.structs.replace(e, deposit_per_day=dep, withdrawal_per_day=wd)
        entities.append(e)
    _change_rules(s, msgspec.structs.replace(rules, entities=entities), f"limits {c.entity} {c.level}")


def _set_operator(s: ExchangeState, c: SetOperatorKey) -> None:
    ops = s.compliance.operators
    if set(c.roles) - set(ROLES) or len(c.public_key) != 44 or (not c.roles and c.public_key not in ops):
        s.events.append(ComplianceRejected(0, "SetOperatorKey", Reason.INVALID_SETTING))
        return
    if c.roles:
        ops[c.public_key] = sorted(set(c.roles))
    else:
        del ops[c.public_key]
    s.events.append(OperatorKeySet(c.public_key, sorted(set(c.roles))))
