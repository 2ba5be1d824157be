"""OpenAPI operations of the points and affiliate routes (api/routes/growth.py), merged into
``openapi``'s table."""

from __future__ import annotations

from typing import Any

CODE = {"type": "string", "pattern": "^[A-Za-z0-9]{4,16}$"}
SEASON = {"type": "string", "description": "a season's name (default: the season running now)"}
ACCOUNT = {"type": "integer", "minimum": 0, "maximum": (1 << 63) - 1}


def _q(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


GROWTH_OPERATIONS: dict[tuple[str, str], tuple[str, list[dict[str, Any]], dict[str, Any] | None, list[int]]] = {
    ("GET", "/api/v1/points/seasons"): ("Points seasons and the weekly schedule (Rucksack extension)", [], None, []),
    ("GET", "/api/v1/points/leaderboard"): (
        "A season's points leaderboard, best first (Rucksack extension)",
        [_q("season", SEASON), _q("limit", {"type": "integer", "minimum": 0, "maximum": 500})],
        None,
        [400],
    ),
    ("GET", "/api/v1/points"): (
        "Own points, rank and weeks in a season (pointsQuery; Rucksack extension)",
        [_q("season", SEASON)],
        None,
        [400],
    ),
    ("POST", "/api/v1/referral/code"): (
        "Create the account's referral code (referralCodeCreate; Rucksack extension)",
        [],
        {"type": "object", "required": ["code"], "properties": {"code": CODE}},
        [400],
    ),
    ("GET", "/api/v1/referral"): (
        "Referral dashboard: code, rate, referred accounts, earnings (referralQuery; Rucksack extension)",
        [],
        None,
        [],
    ),
    ("POST", "/api/v1/operator/affiliate/rate"): (
        "Operator: an affiliate's approved rate (operatorAffiliateRateSet)",
        [],
        {
            "type": "object",
            "required": ["accountId"],
            "properties": {
                "accountId": ACCOUNT,
                "rate": {"type": ["string", "null"], "description": "fraction, e.g. 0.35; null: the standard"},
            },
        },
        [400, 401, 403],
    ),
    ("POST", "/api/v1/operator/points/link"): (
        "Operator: link owners as one for points and referrals (operatorPointsLink)",
        [],
        {
            "type": "object",
            "required": ["accountIds"],
            "properties": {
                "accountIds": {
                    "anyOf": [
                        {
                            "type": "array",
                            "items": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                            "minItems": 2,
                            "maxItems": 1000,
                        },
                        {"type": "string", "pattern": "^[0-9]{1,18}(,[0-9]{1,18})+$"},
                    ]
                },
                "reason": {"type": "string", "maxLength": 200},
            },
        },
        [400, 401, 403],
    ),
}
