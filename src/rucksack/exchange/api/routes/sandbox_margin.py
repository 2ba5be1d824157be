"""Sandbox administration of the margin engine's scheduler (X-Admin-Token; Rucksack extension).

Bots rehearse funding, settlement, liquidation and interest without waiting for the clock:

- ``POST /api/v1/sandbox/tick`` ``{"tick": "funding" | "settlement" | "liquidation" | "interest"}``
  journals one ``ApplyFunding`` (the hour after the last one paid: funding of the next interval is
  paid now; the very first tick also sets the funding clock to the current hour first),
  ``SettlePnl``, ``LiquidationSweep`` or ``AccrueInterest`` (the hour after the last one accrued,
  likewise) and answers the number of events it produced.
- ``POST /api/v1/sandbox/tick`` ``{"tick": "strategies", "advanceMs"?: n}`` journals one
  ``CrankStrategies`` at the later of now and the strategy clock, plus ``advanceMs`` (default 0,
  at most a day): every Scheduled strategy slice due by then is sent, so a bot can rehearse a
  whole TWAP in a few calls. The strategy clock never goes back, so later slices stay in order.
- ``POST /api/v1/sandbox/clock`` ``{"advanceMs": n}`` advances the exchange's clock itself (the
  sequencer's stamps and every schedule: day boundaries, hours, points weeks) and journals what
  became due (``sandbox_clock``).
- ``POST /api/v1/sandbox/tick`` ``{"tick": "vaults"}`` journals one ``CrankVaults`` now: vault
  management fees to now, due redemptions paid (unwinding when needed), a NAV sample when due.
- ``POST /api/v1/sandbox/backstop`` ``{"accountId": n, "enabled": true}`` makes an account a
  backstop liquidity provider (stage 2 of liquidation).
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import bad_request, from_reason
from rucksack.exchange.clock import MAX_ADVANCE_US, ClockNotAdvanceable
from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import (
    AccrueInterest,
    ApplyFunding,
    LiquidationSweep,
    SetBackstopProvider,
    SettlePnl,
)
from rucksack.exchange.core.events import AccountRejected
from rucksack.exchange.core.strategies.commands import CrankStrategies
from rucksack.exchange.core.vaults.commands import CrankVaults
from rucksack.exchange.scheduler import due_now
from rucksack.exchange.service import ExchangeService

TICKS = ("funding", "settlement", "liquidation", "interest", "strategies", "vaults")
DAY_MS = 86_400_000


async def sandbox_tick(service: ExchangeService, body: Any) -> Any:
    if not isinstance(body, dict) or body.get("tick") not in TICKS:
        raise bad_request("tick must be funding, settlement, liquidation, interest, strategies or vaults")
    kind = body["tick"]
    count = 0
    if kind == "strategies":
        text = str(body.get("advanceMs", 0))
        advance = int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else -1
        if not 0 <= advance <= DAY_MS:
            raise bad_request("advanceMs must be an integer from 0 to 86400000")
        now = max(service.clock(), queries.strategy_book(service.engine).now_us)
        count = len(await service.submit(CrankStrategies(now + advance * 1000)))
    elif kind == "vaults":  # fees to now, due redemptions paid, a NAV sample (core.vaults)
        count = len(await service.submit(CrankVaults(service.clock())))
    elif kind == "funding":
        last_hour = queries.last_funding_hour(service.engine)
        if last_hour < 0:
            await service.submit(ApplyFunding(service.clock() // 3_600_000_000))
        count = len(await service.submit(ApplyFunding(last_hour + 1)))
    elif kind == "interest":  # one more hour of interest on every pool, as the scheduler's hourly tick
        last_hour = queries.last_accrual_hour(service.engine)
        if last_hour < 0:
            last_hour = service.clock() // 3_600_000_000
            await service.submit(AccrueInterest(last_hour))
        count = len(await service.submit(AccrueInterest(last_hour + 1)))
    elif kind == "settlement":
        count = len(await service.submit(SettlePnl()))
    else:
        count = len(await service.submit(LiquidationSweep()))
    return {"tick": kind, "events": count}


async def sandbox_backstop(service: ExchangeService, body: Any) -> Any:
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    account, enabled = body.get("accountId"), body.get("enabled", True)
    text = str(account)
    if isinstance(account, bool) or not text.isascii() or not text.isdigit() or not 0 < len(text) <= 12:
        raise bad_request("accountId must be a positive integer")
    if not isinstance(enabled, bool):
        raise bad_request("enabled must be a boolean")
    events = await service.submit(SetBackstopProvider(int(text), enabled))
    if isinstance(events[0], AccountRejected):
        raise from_reason(events[0].reason)
    return {"accountId": int(text), "enabled": enabled}


async def sandbox_clock(service: ExchangeService, body: Any) -> Any:
    """``POST /api/v1/sandbox/clock`` ``{"advanceMs": n}`` (0 to 400 days): move the exchange's
    clock forward (``exchange.clock``; never back, never on a production venue), then journal what
    the advance made due at once (``scheduler.due_now``: the day boundary's ``RecomputeFeeTiers``).
    Answers the new time, the total offset from the wall clock and the events journaled."""
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    text = str(body.get("advanceMs", 0))
    advance = int(text) if text.isascii() and text.isdigit() and len(text) <= 11 else -1
    if not 0 <= advance * 1000 <= MAX_ADVANCE_US:
        raise bad_request(f"advanceMs must be an integer from 0 to {MAX_ADVANCE_US // 1000}")
    try:
        now = service.clock.advance(advance * 1000)
    except ClockNotAdvanceable as exc:  # a production venue (its admin routes are not served anyway)
        raise bad_request(str(exc)) from exc
    events = await due_now(service)
    return {"now": now // 1000, "offsetMs": service.clock.offset_us // 1000, "events": len(events)}
