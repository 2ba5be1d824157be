"""Surveillance's findings into the core, for points: the trades in an alert's evidence earn no
points (docs/points.md). Surveillance runs outside the core, so its flags enter it as journaled
``FlagTrades`` commands: ``flag_ticks`` looks at the alert queue every few seconds and sends the
trades the core has not flagged yet. A dismissed alert (the operator found nothing wrong) flags
nothing; a flag already sent is not taken back. The core ignores a trade flagged twice and one
that earned nothing anyway (one owner, or owners linked when it was made).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import Command
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.growth.commands import FlaggedTrade, FlagTrades
from rucksack.exchange.surveillance.monitor import Surveillance

MAX_PER_COMMAND = 500


def flags_due(monitor: Surveillance, engine: Engine) -> list[FlagTrades]:
    """One ``FlagTrades`` per alert with evidence trades the core has not flagged yet."""
    flagged = queries.growth_book(engine).flagged
    out: list[FlagTrades] = []
    with monitor.lock:
        alerts = [monitor.alerts[i] for i in monitor.order]
        for alert in alerts:
            if alert.status == "Dismissed":
                continue
            trades = []
            for fill in alert.trades:
                if fill.trade_id in flagged:
                    continue
                notional = fill.lots * fill.price * queries.market(engine, fill.market).lot_tick_atoms
                trades.append(FlaggedTrade(fill.trade_id, fill.buyer, fill.seller, notional, fill.ts_us))
            if trades:
                out.append(FlagTrades(alert.alert_id, trades[:MAX_PER_COMMAND]))
    return out


async def flag_ticks(
    monitor: Surveillance,
    engine: Callable[[], Engine],
    submit: Callable[[Command], Awaitable[list[Event]]],
    period: float = 5.0,
) -> None:
    """Send the due flags every ``period`` seconds (journaled like any command)."""
    while True:
        for command in flags_due(monitor, engine()):
            await submit(command)
        await asyncio.sleep(period)
