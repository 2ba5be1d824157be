"""Run a scenario: populate, then walk the price path step by step through the sequencer.

Each step, at the scenario's time ``start + step x step_seconds``, in this order:

1. the index of every perp in the population (and of its spot market, which prices that asset
   as collateral) is set (``SetIndexPrice``);
2. each maker cancels its quotes and sends a fresh ladder around the new index
   (``CancelAllOrders`` + ``PlaceOrders``: ``levels`` bids and asks, ``spread_bps`` from the
   index, ``step_bps`` apart, ``level_usd / makers`` each);
3. every ``sweep_every`` steps a ``LiquidationSweep``, every ``settle_every`` a ``SettlePnl``,
   and at each new hour ``ApplyFunding`` and ``AccrueInterest`` -- the scheduler's commands;
4. the recorder samples the state.

Deterministic: the scenario's seed drives the population and the path; the engine is
deterministic; nothing reads the wall clock. The same scenario gives the same ``summary.json``,
``series.csv`` and state hash (``tests/unit/lab``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import (
    AccrueInterest,
    ApplyFunding,
    CancelAllOrders,
    LiquidationSweep,
    PlaceOrder,
    PlaceOrders,
    SettlePnl,
)
from rucksack.exchange.core.enums import Side
from rucksack.lab import paths
from rucksack.lab.population import HOUR_US, Cast, populate, set_index, usd_atoms
from rucksack.lab.recorder import STAGES, Recorder, equities, fmt_atoms
from rucksack.lab.scenario import Scenario, exchange_spec
from rucksack.lab.venue import Venue

WORST = 20  # accounts listed in the report
LADDER: tuple[tuple[Side, int], ...] = (("Bid", -1), ("Ask", 1))


@dataclass
class RunResult:
    scenario: Scenario
    config_text: str
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    worst: list[dict[str, Any]]
    markets: list[str]
    lendable: list[str]


def run(s: Scenario, progress: Callable[[int], object] | None = None, journal: Path | None = None) -> RunResult:
    """Run ``s`` to the end of its path; ``progress(n)`` is told of every ``n`` steps done.
    With ``journal``, every command is also journaled into that new data directory."""
    spec, text = exchange_spec(s)
    venue = Venue.fresh(spec, s.clock.start_us) if journal is None else Venue.journaled(journal, text, s.clock.start_us)
    try:
        return _run(s, venue, text, progress)
    finally:
        venue.close()


def _run(s: Scenario, venue: Venue, text: str, progress: Callable[[int], object] | None) -> RunResult:
    perps = sorted(s.population.markets)
    ticks = {m: Decimal(queries.market(venue.engine, m).spec.tick_size) for m in perps if _is_market(venue, m)}
    path = paths.generate(s.path, perps, ticks, s.scenario.seed, s.base_dir)
    cast = populate(s, venue, {m: path[m][0] for m in perps})
    recorder = Recorder(venue, perps, s.clock.start_us)
    start_equity = equities(venue, cast.traders)
    recorder.sample(0)
    steps = len(path[perps[0]]) - 1
    hour = venue.now_us // HOUR_US
    for step in range(1, steps + 1):
        venue.now_us = s.clock.start_us + step * s.path.step_seconds * 1_000_000
        observe = recorder.observe
        for perp in perps:
            set_index(venue, cast, perp, path[perp][step])
        for perp in perps:
            _quote(s, venue, cast, perp, path[perp][step])
        if step % s.clock.sweep_every == 0:
            observe(venue.submit(LiquidationSweep()))
        if step % s.clock.settle_every == 0:
            observe(venue.submit(SettlePnl()))
        if venue.now_us // HOUR_US != hour:
            hour = venue.now_us // HOUR_US
            observe(venue.submit(ApplyFunding(hour)))
            observe(venue.submit(AccrueInterest(hour)))
        recorder.sample(step)
        if s.clock.check_every and step % s.clock.check_every == 0:
            venue.check()
        if progress is not None:
            progress(1)
    venue.check()
    end_equity = equities(venue, cast.traders)
    worst = _worst(recorder, cast, start_equity, end_equity)
    summary = _summary(s, venue, cast, recorder, steps, start_equity, end_equity)
    return RunResult(s, text, summary, recorder.rows, worst, perps, [a for a, _ in recorder.lendable])


def _is_market(venue: Venue, symbol: str) -> bool:
    return any(m.symbol == symbol for m in queries.markets(venue.engine))


def _quote(s: Scenario, venue: Venue, cast: Cast, perp: str, index: int) -> None:
    """Each maker's ladder around ``index`` (the module docstring, step 2)."""
    m = queries.market(venue.engine, perp)
    per_level = usd_atoms(venue, s.makers.level_usd / len(cast.makers))
    for maker in cast.makers:
        venue.submit(CancelAllOrders(maker, perp))
        orders = []
        for level in range(s.makers.levels):
            bps = s.makers.spread_bps + level * s.makers.step_bps
            for side, sign in LADDER:
                price = max(1, round(index * (1 + sign * bps / 10_000)))
                lots = per_level // (price * m.lot_tick_atoms)
                if lots >= m.min_lots:
                    orders.append(
                        PlaceOrder(maker, perp, side, "Limit", lots=min(lots, m.max_lots), price=price, post_only=True)
                    )
        if orders:
            venue.submit(PlaceOrders(orders))


def _worst(recorder: Recorder, cast: Cast, start: dict[int, int], end: dict[int, int]) -> list[dict[str, Any]]:
    d = recorder.decimals
    losers = sorted(cast.traders, key=lambda a: (end[a] - start[a], a))[:WORST]
    out = []
    for a in losers:
        perp, lots = cast.opened.get(a, ("", 0))
        out.append(
            {
                "account": a,
                "market": perp,
                "opened_lots": lots,
                "start_equity_usdc": fmt_atoms(start[a], d),
                "end_equity_usdc": fmt_atoms(end[a], d),
                "pnl_usdc": fmt_atoms(end[a] - start[a], d),
                "liquidated": a in recorder.ever_liquidated,
                "bad_debt_usdc": fmt_atoms(recorder.debt_by_account.get(a, 0), d),
            }
        )
    return out


def _summary(
    s: Scenario, venue: Venue, cast: Cast, r: Recorder, steps: int, start: dict[int, int], end: dict[int, int]
) -> dict[str, Any]:
    d = r.decimals
    fund_start = Decimal(r.rows[0]["fund_usdc"])
    return {
        "scenario": s.scenario.name,
        "seed": s.scenario.seed,
        "steps": steps,
        "seconds": steps * s.path.step_seconds,
        "accounts": len(cast.traders),
        "positions_opened": len(cast.opened),
        "opens_refused": cast.rejected_opens,
        "liquidated_accounts": len(r.ever_liquidated),
        "still_in_liquidation": len(r.liquidating),
        "liquidation_fills": dict(r.totals.fills),
        "liquidation_notional_usdc": {k: fmt_atoms(v, d) for k, v in r.totals.notional.items()},
        "insurance_fund_usdc": {
            "start": str(fund_start),
            "end": fmt_atoms(r.fund_atoms(), d),
            "min": fmt_atoms(r.fund_min or 0, d),
        },
        "bad_debt_usdc": {k: fmt_atoms(v, d) for k, v in r.bad_debt.items()},
        "trader_equity_usdc": {
            "start": fmt_atoms(sum(start.values()), d),
            "end": fmt_atoms(sum(end.values()), d),
        },
        "max_utilization": {a: max((row[f"{a}.utilization"] for row in r.rows), key=Decimal) for a, _ in r.lendable},
        "seq": queries.last_seq(venue.engine),
        "state_hash": venue.state_hash(),
        "stages": list(STAGES),
    }
