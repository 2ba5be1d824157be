"""The compliance rules table: legal entities, region rules, refused regions, verification levels.

Plain data (msgspec structs), loaded from the ``[compliance]`` table of the exchange config
(``config/compliance.py``) and carried in the engine state, where operator commands change it
(``SetRegionRule``, ``SetRegionRefused``, ``SetLevelLimits``): the journal holds every change, so
replay reproduces every decision, and the snapshot holds the table as it stands.

Invariants: a region code is ISO 3166-1 alpha-2 (``JP``) or an ISO 3166-2 subdivision
(``UA-43``); exactly one region rule is the ``default`` (``regions`` empty) and serves every
region no other rule names; a region is named by at most one rule. Amounts are settlement-asset
atoms (USDC) per UTC day; ``-1`` is "no limit". ``max_leverage`` 0 means the venue's maximum.
"""

from __future__ import annotations

from typing import Final

import msgspec

LEVELS: Final = ("none", "basic", "full")
"""Verification levels, lowest first (spec regulated-venue §3: L0 / L1 / L2)."""
PRODUCTS: Final = ("spot", "margin", "perps", "lending")
"""Products a region rule opens: spot orders; margin = borrowing (spot orders with autoBorrow,
Borrow); perps = orders on perpetual futures; lending = Lend and autoLend."""
SPOT: Final = 1
MARGIN: Final = 2
PERPS: Final = 4
LENDING: Final = 8
BITS: Final = {"spot": SPOT, "margin": MARGIN, "perps": PERPS, "lending": LENDING}
UNLIMITED: Final = -1
DEFAULT_RULE: Final = "default"


class Entity(msgspec.Struct, frozen=True, array_like=True):
    """A legal entity and what it allows per verification level (lists indexed like LEVELS)."""

    id: str
    name: str
    licence: str
    deposit_per_day: list[int]  # settlement atoms per UTC day by level; -1: no limit
    withdrawal_per_day: list[int]
    travel_rule_threshold: int  # settlement atoms; a withdrawal at or above it needs beneficiary details
    source: str = ""


class RegionRule(msgspec.Struct, frozen=True, array_like=True):
    """Which entity serves ``regions`` and what it offers their residents."""

    name: str
    regions: list[str]  # empty: the default rule (every region no other rule names)
    entity: str
    products: list[str]  # subset of PRODUCTS
    max_leverage: int  # 0: the venue's maximum
    source: str = ""


class RefusedRegion(msgspec.Struct, frozen=True, array_like=True):
    region: str
    source: str = ""


class ComplianceRules(msgspec.Struct, frozen=True, array_like=True):
    entities: list[Entity] = []
    rules: list[RegionRule] = []
    refused: list[RefusedRegion] = []
    level_products: list[list[str]] = msgspec.field(default_factory=lambda: [list(PRODUCTS)] * 3)  # by level
    unidentified_level: str = "full"  # an account created without a region (demo makers, old journals)
    review_threshold: int = UNLIMITED  # settlement atoms: a withdrawal at or above it waits for an operator
    max_delay_hours: int = 720


def permissive() -> ComplianceRules:
    """Rules that refuse nothing: one entity, every product, no limit (tests and bare specs)."""
    entity = Entity("venue", "venue", "", [UNLIMITED] * 3, [UNLIMITED] * 3, UNLIMITED)
    return ComplianceRules([entity], [RegionRule(DEFAULT_RULE, [], "venue", list(PRODUCTS), 0)])


def valid_region(region: str) -> bool:
    """ISO 3166-1 alpha-2 (``JP``) or an ISO 3166-2 subdivision (``UA-43``), upper case."""
    head, sep, tail = region.partition("-")
    ok_head = len(head) == 2 and head.isascii() and head.isalpha() and head.isupper()
    ok_tail = not sep or (0 < len(tail) <= 3 and tail.isascii() and tail.isalnum() and tail.upper() == tail)
    return ok_head and ok_tail


def mask(products: list[str]) -> int:
    m = 0
    for p in products:
        m |= BITS.get(p, 0)
    return m


def check_rules(rules: ComplianceRules) -> str:
    """Why ``rules`` is not a valid table ("" when it is)."""
    entities = {e.id for e in rules.entities}
    if len(entities) != len(rules.entities):
        return "duplicate entity id"
    for e in rules.entities:
        if len(e.deposit_per_day) != len(LEVELS) or len(e.withdrawal_per_day) != len(LEVELS):
            return f"entity {e.id}: limits need one value per level {LEVELS}"
        if min(e.deposit_per_day + e.withdrawal_per_day) < UNLIMITED:
            return f"entity {e.id}: a limit is -1 (none) or >= 0"
    seen: set[str] = set()
    defaults = 0
    for r in rules.rules:
        if r.entity not in entities:
            return f"rule {r.name}: unknown entity {r.entity}"
        if set(r.products) - set(PRODUCTS):
            return f"rule {r.name}: products are {PRODUCTS}"
        if r.max_leverage < 0:
            return f"rule {r.name}: max_leverage >= 0"
        defaults += not r.regions
        for region in r.regions:
            if not valid_region(region) or region in seen:
                return f"rule {r.name}: region {region!r} is invalid or named twice"
            seen.add(region)
    if defaults != 1:
        return "exactly one region rule must be the default (no regions)"
    if len({r.name for r in rules.rules}) != len(rules.rules):
        return "duplicate rule name"
    if any(not valid_region(r.region) for r in rules.refused):
        return "a refused region is not a region code"
    if len(rules.level_products) != len(LEVELS) or any(set(p) - set(PRODUCTS) for p in rules.level_products):
        return f"level_products: one product list per level {LEVELS}"
    if rules.unidentified_level not in LEVELS:
        return f"unidentified_level is one of {LEVELS}"
    return ""
