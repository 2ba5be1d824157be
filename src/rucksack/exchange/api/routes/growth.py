"""Points seasons and affiliates (Rucksack extensions; docs/api.md "Points and affiliates",
docs/points.md; the core's ``core.growth``).

Public: ``GET /api/v1/points/seasons`` (the seasons and the weekly schedule) and ``GET
/api/v1/points/leaderboard`` (``season?``, ``limit?``: one season's standings, best first).
Signed: ``GET /api/v1/points`` (``pointsQuery``: the caller's owner's points, rank and weeks in a
season, and the open week so far), ``POST /api/v1/referral/code`` (``referralCodeCreate``
``{code}``), ``GET /api/v1/referral`` (``referralQuery``: the code, rate, referred accounts with
their volume, fees and the earnings from them, owed and paid). Operator (audited):
``POST /api/v1/operator/affiliate/rate`` ``{accountId, rate}`` (a decimal fraction, or null for
the standard rate) and ``POST /api/v1/operator/points/link`` ``{accountIds, reason?}``.

Points belong to the owner (the main account): a subaccount's key reads its main account's.
Every change is one journaled command; a refusal is a Backpack error and changes nothing.
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason
from rucksack.exchange.api.routes.common import uint_param
from rucksack.exchange.api.wire import format_atoms
from rucksack.exchange.core import queries
from rucksack.exchange.core.growth.book import WeekPoints
from rucksack.exchange.core.growth.commands import CreateReferralCode, LinkAccounts, SetAffiliateRate
from rucksack.exchange.core.growth.events import GrowthRejected
from rucksack.exchange.core.growth.points import RANKS
from rucksack.exchange.core.growth.spec import DISTRIBUTION_DELAY_US, HOUR_US, WEEK_US
from rucksack.exchange.core.numeric import PPM, DecimalError, parse_decimal
from rucksack.exchange.service import ExchangeService

US_PER_MS = 1000
MAX_LEADERBOARD = 500
GROWTH_REASONS: dict[str, tuple[int, str, str]] = {
    "InvalidReferralCode": (400, "INVALID_CLIENT_REQUEST", "A referral code is 4 to 16 characters, A-Z and 0-9"),
    "ReferralCodeTaken": (400, "INVALID_CLIENT_REQUEST", "That referral code is taken"),
    "ReferralCodeExists": (400, "INVALID_CLIENT_REQUEST", "This account already has a referral code"),
    "UnknownReferralCode": (400, "INVALID_CLIENT_REQUEST", "Unknown referral code"),
    "SelfReferral": (400, "INVALID_CLIENT_REQUEST", "Self-referral is not allowed"),
    "ReferralSubaccount": (
        400,
        "INVALID_CLIENT_REQUEST",
        "A subaccount shares its main account's referrer; it cannot use a referral code",
    ),
    "InvalidAffiliateRate": (400, "INVALID_CLIENT_REQUEST", "The rate must be a fraction from 0 to 0.5"),
    "InvalidLink": (400, "INVALID_CLIENT_REQUEST", "Linking needs accounts of at least two owners"),
    "TooManyEntries": (400, "INVALID_CLIENT_REQUEST", "Too many accounts (at most 1000)"),
}


def growth_error(reason: str) -> ApiError:
    return from_reason(reason, GROWTH_REASONS)


def _usdc(service: ExchangeService, atoms: int) -> str:
    spec = queries.spec(service.engine)
    return format_atoms(atoms, spec.assets[spec.asset_index(spec.settlement_asset)].decimals)


def _season_param(service: ExchangeService, params: dict[str, Any]) -> int:
    """``season`` by name, else the season running now (-1: none)."""
    seasons = queries.spec(service.engine).growth.seasons
    name = params.get("season")
    if name is None:
        return queries.points_season(service.engine, service.clock())
    for i, s in enumerate(seasons):
        if s.name == name:
            return i
    raise bad_request(f"unknown season {str(name)[:40]!r}")


def _rank_name(rank: int) -> str | None:
    return RANKS[rank] if rank >= 0 else None


async def seasons(service: ExchangeService, params: dict[str, str]) -> Any:
    now = service.clock()
    current = queries.points_season(service.engine, now)
    book = queries.growth_book(service.engine)
    week_end = now // WEEK_US * WEEK_US
    return {
        "seasons": [
            {
                "name": s.name,
                "start": s.start_us // US_PER_MS,
                "end": s.end_us // US_PER_MS if s.end_us else None,
                "current": i == current,
            }
            for i, s in enumerate(queries.spec(service.engine).growth.seasons)
        ],
        "nextSnapshot": (week_end + WEEK_US) // US_PER_MS,
        "nextDistribution": _next_distribution(now) // US_PER_MS,
        "lastSnapshot": book.last_snapshot_us // US_PER_MS or None,
        "lastDistribution": book.last_distributed_us // US_PER_MS or None,
        "ranks": list(RANKS),
    }


def _next_distribution(now: int) -> int:
    due = now // WEEK_US * WEEK_US + DISTRIBUTION_DELAY_US
    return due if due > now else due + WEEK_US


async def leaderboard(service: ExchangeService, params: dict[str, str]) -> Any:
    season = _season_param(service, params)
    limit = min(uint_param(params, "limit", 100), MAX_LEADERBOARD)
    if season < 0:
        return {"season": None, "ranked": 0, "entries": []}
    standings = queries.growth_book(service.engine).standings.get(season, {})
    ranked = sorted(
        ((st.points, owner, st.rank) for owner, st in standings.items() if st.points > 0), key=lambda t: (-t[0], t[1])
    )
    return {
        "season": queries.spec(service.engine).growth.seasons[season].name,
        "ranked": len(ranked),
        "entries": [
            {"position": i + 1, "accountId": owner, "points": str(points), "rank": _rank_name(rank)}
            for i, (points, owner, rank) in enumerate(ranked[:limit])
        ],
    }


def _week_json(w: WeekPoints) -> dict[str, Any]:
    return {
        "weekEnd": w.week_end_us // US_PER_MS,
        "volume": str(w.volume),
        "lend": str(w.lend),
        "hold": str(w.hold),
        "points": str(w.total),
    }


async def points(service: ExchangeService, account: int, params: Any) -> Any:
    owner = queries.owner(service.engine, account)
    season = _season_param(service, params)
    book = queries.growth_book(service.engine)
    standings = book.standings.get(season, {}) if season >= 0 else {}
    mine = standings.get(owner)
    ahead = sum(1 for st in standings.values() if mine is not None and st.points > mine.points)
    pending = book.pending.get(owner)
    return {
        "accountId": owner,
        "season": queries.spec(service.engine).growth.seasons[season].name if season >= 0 else None,
        "points": str(mine.points if mine else 0),
        "rank": _rank_name(mine.rank) if mine else None,
        "position": ahead + 1 if mine and mine.points > 0 else None,
        "ranked": sum(1 for st in standings.values() if st.points > 0),
        "weeks": [_week_json(w) for w in (mine.weeks if mine else [])],
        "pending": _week_json(pending) if pending is not None else None,
        "openWeek": {
            "volume": _usdc(service, book.week_volume.get(owner, 0)),
            "lendUsdcHours": _usdc(service, book.week_lend.get(owner, 0)),
            "holdUsdcHours": _usdc(service, book.week_hold.get(owner, 0)),
            "lastSampleHour": book.last_sample_hour * HOUR_US // US_PER_MS if book.last_sample_hour >= 0 else None,
        },
    }


async def create_code(service: ExchangeService, account: int, params: Any) -> Any:
    code = params.get("code") if isinstance(params, dict) else None
    if not isinstance(code, str) or len(code) > 16:
        raise bad_request("code must be a string of 4 to 16 characters, A-Z and 0-9")
    owner = queries.owner(service.engine, account)
    events = await service.submit(CreateReferralCode(owner, code.upper()))
    refused = next((e for e in events if isinstance(e, GrowthRejected)), None)
    if refused is not None:
        raise growth_error(refused.reason)
    return {"code": code.upper(), "accountId": owner}


def _rate(ppm: int) -> str:
    return format_atoms(ppm, 6)


async def referral(service: ExchangeService, account: int, params: Any) -> Any:
    engine = service.engine
    owner = queries.owner(engine, account)
    book = queries.growth_book(engine)
    mine = book.referrals.get(owner)
    referred = sorted((a, r) for a, r in book.referrals.items() if r.referrer == owner)
    return {
        "accountId": owner,
        "code": book.code_of.get(owner),
        "rate": _rate(queries.affiliate_rate(engine, owner)),
        "approvedRate": owner in book.rates,
        "referredBy": mine.referrer if mine is not None else None,
        "referred": [
            {
                "accountId": a,
                "since": r.since_us // US_PER_MS,
                "volume": _usdc(service, r.volume),
                "fees": _usdc(service, r.fees),
                "earnings": _usdc(service, r.earned_micro // PPM),
            }
            for a, r in referred
        ],
        "earnings": _usdc(service, sum(r.earned_micro for _, r in referred) // PPM),
        "owed": _usdc(service, book.owed.get(owner, 0) // PPM),
        "paid": _usdc(service, book.paid.get(owner, 0)),
    }


def _account_id(value: Any, field: str) -> int:
    text = str(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, str))
        or not (text.isascii() and text.isdigit())
        or len(text) > 18
    ):
        raise bad_request(f"{field} must be an account id")
    return int(text)


async def set_rate(service: ExchangeService, body: Any) -> Any:
    account = _account_id(body.get("accountId"), "accountId")
    rate = body.get("rate")
    try:
        ppm = -1 if rate is None else parse_decimal(str(rate), 6)
    except DecimalError:
        raise growth_error("InvalidAffiliateRate") from None
    events = await service.submit(SetAffiliateRate(account, ppm))
    refused = next((e for e in events if isinstance(e, GrowthRejected)), None)
    if refused is not None:
        raise growth_error(refused.reason)
    return {"accountId": account, "rate": _rate(queries.affiliate_rate(service.engine, account))}


async def link(service: ExchangeService, body: Any) -> Any:
    ids = body.get("accountIds")
    if isinstance(ids, str):  # "1000,1001": how the web console sends it (one signed string)
        ids = ids.split(",")
    if not isinstance(ids, list) or not ids:
        raise bad_request("accountIds must be a list of account ids")
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 200:
        raise bad_request("reason must be a string of at most 200 characters")
    events = await service.submit(LinkAccounts([_account_id(a, "accountIds") for a in ids], reason))
    refused = next((e for e in events if isinstance(e, GrowthRejected)), None)
    if refused is not None:
        raise growth_error(refused.reason)
    return {"owners": getattr(events[0], "owners", []), "reason": reason}


PUBLIC = {
    ("GET", "/api/v1/points/seasons"): seasons,
    ("GET", "/api/v1/points/leaderboard"): leaderboard,
}
PRIVATE = {
    ("GET", "/api/v1/points"): ("pointsQuery", points),
    ("POST", "/api/v1/referral/code"): ("referralCodeCreate", create_code),
    ("GET", "/api/v1/referral"): ("referralQuery", referral),
}
