"""The ``[compliance]`` table of the exchange config -> ``core.compliance.rules.ComplianceRules``.

USD amounts are decimal strings converted exactly to settlement-asset atoms (USDC: 1 USD = 1
USDC, an assumption stated in docs/compliance.md); ``"unlimited"`` is no limit. No table: the
permissive rules (nothing refused), so configs written before compliance keep working.
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.core.compliance.rules import (
    LEVELS,
    UNLIMITED,
    ComplianceRules,
    Entity,
    RefusedRegion,
    RegionRule,
    check_rules,
    permissive,
)
from rucksack.exchange.core.markets import SpecError
from rucksack.exchange.core.numeric import DecimalError, parse_decimal

_KEYS = {"levels", "unidentified_level", "review_threshold", "max_delay_hours", "level_products"}
_KEYS |= {"entities", "rules", "refused"}


def load_compliance(raw: dict[str, Any] | None, decimals: int) -> ComplianceRules:
    if raw is None:
        return permissive()
    unknown = set(raw) - _KEYS
    if unknown:
        raise SpecError(f"compliance: unknown keys {sorted(unknown)}")
    if list(raw.get("levels", LEVELS)) != list(LEVELS):
        raise SpecError(f"compliance: levels are {list(LEVELS)}")

    def usd(value: Any, where: str) -> int:
        if value == "unlimited":
            return UNLIMITED
        try:
            return parse_decimal(str(value), decimals)
        except DecimalError as exc:
            raise SpecError(f"compliance {where}: {exc}") from None

    try:
        rules = ComplianceRules(
            entities=[
                Entity(
                    id=e["id"],
                    name=e.get("name", e["id"]),
                    licence=e.get("licence", ""),
                    deposit_per_day=[usd(v, f"{e['id']}.deposit_per_day") for v in e["deposit_per_day"]],
                    withdrawal_per_day=[usd(v, f"{e['id']}.withdrawal_per_day") for v in e["withdrawal_per_day"]],
                    travel_rule_threshold=usd(e.get("travel_rule_threshold", "unlimited"), e["id"]),
                    source=e.get("source", ""),
                )
                for e in raw.get("entities", [])
            ],
            rules=[
                RegionRule(
                    name=r["name"],
                    regions=list(r.get("regions", [])),
                    entity=r["entity"],
                    products=list(r["products"]),
                    max_leverage=int(r.get("max_leverage", 0)),
                    source=r.get("source", ""),
                )
                for r in raw.get("rules", [])
            ],
            refused=[RefusedRegion(r["region"], r.get("source", "")) for r in raw.get("refused", [])],
            level_products=[list(raw.get("level_products", {}).get(level, [])) for level in LEVELS],
            unidentified_level=raw.get("unidentified_level", "full"),
            review_threshold=usd(raw.get("review_threshold", "unlimited"), "review_threshold"),
            max_delay_hours=int(raw.get("max_delay_hours", 720)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"compliance: {exc!r}") from None
    problem = check_rules(rules)
    if problem:
        raise SpecError(f"compliance: {problem}")
    return rules
