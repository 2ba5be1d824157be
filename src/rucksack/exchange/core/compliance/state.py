"""Compliance state: the rules table in force, identities, daily usage, withdrawal protection,
operator keys and the operator audit trail; its snapshot record.

Everything here changes only through compliance commands (``compliance.dispatch``) and the
hooks the capital, lending, account and order commands call (``compliance.checks``). Derived
lookups (``masks``, ``caps``, the rule and entity indexes) are rebuilt from the rest by
``refresh`` and are not in the snapshot. Iteration is over sorted keys where order matters.

Units: amounts in settlement-asset atoms; times in µs of the command's stamp; a day is the UTC
day ``ts_us // DAY_US`` of the command that counts.
"""

from __future__ import annotations

from typing import Final

import msgspec

from rucksack.exchange.core.compliance.rules import (
    LEVELS,
    PRODUCTS,
    ComplianceRules,
    Entity,
    RegionRule,
    check_rules,
    mask,
)

DAY_US: Final = 86_400_000_000
HOUR_US: Final = 3_600_000_000
ALL: Final = mask(list(PRODUCTS))


class Held:
    """A debited withdrawal that waits for its delay (``trigger_at_us``) and/or a review."""

    __slots__ = ("account", "amount", "asset", "day", "review", "trigger_at_us", "value")

    def __init__(
        self, account: int, asset: str, amount: int, trigger_at_us: int, review: bool, day: int, value: int
    ) -> None:
        self.account = account
        self.asset = asset
        self.amount = amount
        self.trigger_at_us = trigger_at_us
        self.review = review
        self.day = day
        self.value = value


class AuditRecord(msgspec.Struct, frozen=True, array_like=True):
    """One operator request (NIST AU-3: what, when, who, outcome)."""

    seq: int
    ts_us: int
    operator_key: str
    instruction: str
    detail: str
    outcome: str


class HeldRecord(msgspec.Struct, frozen=True, array_like=True):
    request_id: str
    account: int
    asset: str
    amount: int
    trigger_at_us: int
    review: bool
    day: int
    value: int


class ComplianceRecord(msgspec.Struct, frozen=True, array_like=True):
    rules: ComplianceRules
    identities: list[tuple[int, int, str]]  # account, level index, region
    usage: list[tuple[int, int, int, int]]  # owner, day, deposited, withdrawn (settlement atoms)
    delays: list[tuple[int, int, int, int]]  # owner, current hours, pending hours (-1 none), pending at µs
    allow: list[tuple[int, str, int]]  # owner, address, effective at µs
    held: list[HeldRecord]
    operators: list[tuple[str, list[str]]]
    audit: list[AuditRecord]


class ComplianceState:
    def __init__(self, rules: ComplianceRules) -> None:
        problem = check_rules(rules)
        if problem:
            raise ValueError(f"compliance rules: {problem}")
        self.rules = rules
        self.identities: dict[int, tuple[int, str]] = {}  # top-level account -> (level index, region)
        self.usage: dict[int, tuple[int, int, int]] = {}  # owner -> (day, deposited, withdrawn)
        self.delays: dict[int, tuple[int, int, int]] = {}  # owner -> (current, pending or -1, pending at)
        self.allow: dict[int, dict[str, int]] = {}  # owner -> address -> effective at µs
        self.held: dict[str, Held] = {}  # request id -> held withdrawal
        self.operators: dict[str, list[str]] = {}  # operator public key -> roles
        self.audit: list[AuditRecord] = []
        # derived (refresh): product mask and leverage cap per account (subaccounts too)
        self.masks: dict[int, int] = {}
        self.caps: dict[int, int] = {}
        self.default_mask = ALL
        self.default_cap = 0
        self.rule_of: dict[str, RegionRule] = {}
        self.default_rule = rules.rules[0]
        self.entity_of: dict[str, Entity] = {}
        self.refused: set[str] = set()
        self.index_rules()

    def index_rules(self) -> None:
        """Rebuild the rule, entity and refused-region lookups from ``rules``."""
        rules = self.rules
        self.rule_of = {region: r for r in rules.rules for region in r.regions}
        self.default_rule = next(r for r in rules.rules if not r.regions)
        self.entity_of = {e.id: e for e in rules.entities}
        self.refused = {r.region for r in rules.refused}
        level = LEVELS.index(rules.unidentified_level)
        self.default_mask = self.region_mask(self.default_rule) & mask(rules.level_products[level])
        self.default_cap = self.default_rule.max_leverage

    def rule(self, region: str) -> RegionRule:
        """The rule serving ``region``: its own, else its country's, else the default."""
        found = self.rule_of.get(region) or self.rule_of.get(region.partition("-")[0])
        return found if found is not None else self.default_rule

    def is_refused(self, region: str) -> bool:
        return region in self.refused or region.partition("-")[0] in self.refused

    def region_mask(self, rule: RegionRule) -> int:
        return mask(rule.products)

    def identity(self, owner: int) -> tuple[int, str]:
        """(level index, region) of a top-level account; "" region: unidentified."""
        found = self.identities.get(owner)
        return found if found is not None else (LEVELS.index(self.rules.unidentified_level), "")

    def account_rule(self, owner: int) -> RegionRule:
        region = self.identity(owner)[1]
        return self.rule(region) if region else self.default_rule

    def products_of(self, owner: int) -> tuple[int, int, int]:
        """(open mask, region mask, level mask) of a top-level account."""
        level, region = self.identity(owner)
        if region and self.is_refused(region):
            return 0, 0, mask(self.rules.level_products[level])
        region_bits = self.region_mask(self.account_rule(owner))
        level_bits = mask(self.rules.level_products[level])
        return region_bits & level_bits, region_bits, level_bits

    def entity(self, owner: int) -> Entity:
        return self.entity_of[self.account_rule(owner).entity]

    def delay(self, owner: int, ts_us: int) -> tuple[int, int, int]:
        """(current, pending or -1, pending at) with a pending change whose time came applied."""
        current, pending, at = self.delays.get(owner, (0, -1, 0))
        if pending >= 0 and ts_us >= at:
            return pending, -1, 0
        return current, pending, at

    def record(self) -> ComplianceRecord:
        return ComplianceRecord(
            rules=self.rules,
            identities=[(a, lv, rg) for a, (lv, rg) in sorted(self.identities.items())],
            usage=[(a, *u) for a, u in sorted(self.usage.items())],
            delays=[(a, *d) for a, d in sorted(self.delays.items())],
            allow=[(a, addr, at) for a, book in sorted(self.allow.items()) for addr, at in sorted(book.items())],
            held=[
                HeldRecord(rid, h.account, h.asset, h.amount, h.trigger_at_us, h.review, h.day, h.value)
                for rid, h in sorted(self.held.items())
            ],
            operators=sorted((k, list(r)) for k, r in self.operators.items()),
            audit=list(self.audit),
        )

    def load(self, rec: ComplianceRecord) -> None:
        """Restore from a snapshot record (the caller refreshes the derived lookups)."""
        self.rules = rec.rules
        self.index_rules()
        self.identities = {a: (lv, rg) for a, lv, rg in rec.identities}
        self.usage = {a: (d, dep, wd) for a, d, dep, wd in rec.usage}
        self.delays = {a: (c, p, at) for a, c, p, at in rec.delays}
        self.allow = {}
        for a, addr, at in rec.allow:
            self.allow.setdefault(a, {})[addr] = at
        self.held = {
            h.request_id: Held(h.account, h.asset, h.amount, h.trigger_at_us, h.review, h.day, h.value)
            for h in rec.held
        }
        self.operators = {k: list(r) for k, r in rec.operators}
        self.audit = list(rec.audit)
