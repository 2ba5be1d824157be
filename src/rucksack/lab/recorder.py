"""What a run records: events folded as they come, and the state sampled after every step.

Liquidations by stage, from the engine's own events:

- ``book``: a fill whose taker is an account under liquidation (its reduce-only slices, and
  collateral it sells to cover a debt) -- between ``LiquidationStarted`` and ``LiquidationEnded``;
- ``backstop`` / ``adl``: ``PositionTransferred`` of that kind;
- ``BadDebt`` adds to the deficit, and to what the fund covered, what was socialized to the
  opposing winners and the residual left on the account.

Sampled each step through ``core.queries``: index and mark per market, open interest (base
units), the insurance fund (its USDC plus its unsettled claim), every lending pool's utilization.

Amounts are kept as integer atoms and leave as exact decimal strings (``fmt_atoms``); ratios
and prices for the charts are floats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from rucksack.exchange.core import queries
from rucksack.exchange.core.events import (
    BadDebt,
    Event,
    LiquidationEnded,
    LiquidationStarted,
    LossSocialized,
    PositionTransferred,
    TradeExecuted,
)
from rucksack.exchange.core.numeric import WAD
from rucksack.lab.venue import Venue

STAGES = ("book", "backstop", "adl")


def fmt_atoms(atoms: int, decimals: int) -> str:
    """Exact decimal text of ``atoms`` at ``decimals`` (no float on the way)."""
    return format(Decimal(atoms).scaleb(-decimals).normalize(), "f") if atoms else "0"


@dataclass
class StepCounts:
    started: int = 0
    ended: int = 0
    fills: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    notional: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))


@dataclass
class Recorder:
    venue: Venue
    markets: list[str]
    start_us: int
    liquidating: set[int] = field(default_factory=set)
    ever_liquidated: set[int] = field(default_factory=set)
    bad_debt: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("deficit", "covered", "socialized", "residual"), 0)
    )
    debt_by_account: dict[int, int] = field(default_factory=dict)
    totals: StepCounts = field(default_factory=StepCounts)
    step: StepCounts = field(default_factory=StepCounts)
    rows: list[dict[str, Any]] = field(default_factory=list)
    fund_min: int | None = None

    def __post_init__(self) -> None:
        engine = self.venue.engine
        self.settle = queries.settle_asset(engine)
        self.decimals = queries.spec(engine).assets[self.settle].decimals
        self.fund_account = queries.insurance_fund_account(engine)
        self.tick = {m: Decimal(queries.market(engine, m).spec.tick_size) for m in self.markets}
        self.lot_tick = {m.symbol: m.lot_tick_atoms for m in queries.markets(engine)}
        self.lendable = [
            (a.symbol, i)
            for i, (a, p) in enumerate(zip(queries.spec(engine).assets, queries.pools(engine), strict=True))
            if p is not None
        ]

    def observe(self, events: list[Event]) -> None:
        for ev in events:  # by exact type: a cascade's thousands of LossSocialized pass at one compare each
            kind = type(ev)
            if kind is LossSocialized:
                continue
            if kind is TradeExecuted:
                trade = cast(TradeExecuted, ev)
                if trade.taker_account in self.liquidating:
                    self._count("book", trade.lots * trade.price * self.lot_tick[trade.market])
            elif kind is PositionTransferred:
                moved = cast(PositionTransferred, ev)
                stage = "backstop" if moved.kind == "Backstop" else "adl"
                self._count(stage, abs(moved.lots) * moved.price * self.lot_tick[moved.market])
            elif kind is LiquidationStarted:
                started = cast(LiquidationStarted, ev)
                self.liquidating.add(started.account)
                self.ever_liquidated.add(started.account)
                self.step.started += 1
                self.totals.started += 1
            elif kind is LiquidationEnded:
                self.liquidating.discard(cast(LiquidationEnded, ev).account)
                self.step.ended += 1
                self.totals.ended += 1
            elif kind is BadDebt:
                debt = cast(BadDebt, ev)
                for key in self.bad_debt:
                    self.bad_debt[key] += getattr(debt, key)
                self.debt_by_account[debt.account] = self.debt_by_account.get(debt.account, 0) + debt.deficit

    def _count(self, stage: str, notional: int) -> None:
        for c in (self.step, self.totals):
            c.fills[stage] += 1
            c.notional[stage] += notional

    def fund_atoms(self) -> int:
        acct = queries.account(self.venue.engine, self.fund_account)
        return 0 if acct is None else acct.assets[self.settle].available + acct.unsettled

    def sample(self, step: int) -> None:
        """One row of the series for ``step`` (the events since the last sample)."""
        engine, d = self.venue.engine, self.decimals
        fund = self.fund_atoms()
        self.fund_min = fund if self.fund_min is None else min(self.fund_min, fund)
        row: dict[str, Any] = {
            "step": step,
            "seconds": (self.venue.now_us - self.start_us) // 1_000_000,
            "fund_usdc": fmt_atoms(fund, d),
            "bad_debt_usdc": fmt_atoms(self.bad_debt["deficit"], d),
            "socialized_usdc": fmt_atoms(self.bad_debt["socialized"], d),
            "residual_usdc": fmt_atoms(self.bad_debt["residual"], d),
            "liquidations_started": self.step.started,
            "in_liquidation": len(self.liquidating),
        }
        for stage in STAGES:
            row[f"{stage}_fills"] = self.step.fills[stage]
            row[f"{stage}_notional_usdc"] = fmt_atoms(self.step.notional[stage], d)
        for m in self.markets:
            ms = queries.market(engine, m)
            row[f"{m}.index"] = str(ms.index_price * self.tick[m])
            row[f"{m}.mark"] = str(ms.mark * self.tick[m])
            row[f"{m}.open_interest"] = str(
                Decimal(ms.open_interest * ms.lot_atoms).scaleb(-self._base_decimals(ms.base))
            )
        for symbol, i in self.lendable:
            pool = queries.pools(engine)[i]
            util = pool.utilization() if pool is not None else 0
            row[f"{symbol}.utilization"] = f"{Decimal(util) / WAD:.6f}"
        self.rows.append(row)
        self.step = StepCounts()

    def _base_decimals(self, asset: int) -> int:
        return queries.spec(self.venue.engine).assets[asset].decimals


def equities(venue: Venue, accounts: list[int]) -> dict[int, int]:
    """Net equity (settlement atoms) of each account now."""
    engine = venue.engine
    return {a: queries.margin(engine, queries.account_or_empty(engine, a)).equity for a in accounts}
