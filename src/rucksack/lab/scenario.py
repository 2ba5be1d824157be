"""A risk-lab scenario: who trades (population), what the price does (path), under which rules
(the exchange's parameters). One TOML file, checked whole on load (docs/lab.md lists every key).

The exchange's parameters are the shipped configuration (``exchange/config/default.toml``) with
the scenario's ``[exchange]`` table merged over it: tables merge key by key, ``[[assets]]`` and
``[[markets]]`` entries are named by symbol (``[exchange.markets.SOL_USDC_PERP]``). The merged
text is parsed by the exchange's own loader, so a value it would refuse is refused here, and it
is written beside the results (``config.toml``) so a run can be repeated or served.

Fractions and amounts in the exchange table are decimal strings, as in ``default.toml``; the
lab's own distributions (leverage, equity, path moves) are plain numbers: they only shape the
seeded population and path, which reach the engine as integer commands.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec
import tomli_w

from rucksack.exchange.config import default_config_text, load_spec_text
from rucksack.exchange.core.markets import ExchangeSpec


class ScenarioError(ValueError):
    """A scenario file that cannot be run, with the reason."""


class Distribution(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A seeded draw: ``uniform`` in [min, max], ``lognormal`` around ``median`` with ``sigma``
    (clamped to [min, max]), or ``fixed`` (``median``)."""

    dist: Literal["uniform", "lognormal", "fixed"] = "uniform"
    min: float = 1.0
    max: float = 1.0
    median: float = 1.0
    sigma: float = 0.0


class Population(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    accounts: int = 100
    long_share: float = 0.5
    markets: dict[str, float] = msgspec.field(default_factory=lambda: {"SOL_USDC_PERP": 1.0})
    equity_usd: Distribution = Distribution("lognormal", 100.0, 100_000.0, 2_000.0, 1.0)
    leverage: Distribution = Distribution("uniform", 2.0, 10.0)
    # share of accounts that post their collateral in each asset (USDC: the rest)
    collateral: dict[str, float] = msgspec.field(default_factory=lambda: {"USDC": 1.0})


class Makers(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Market makers quoting a ladder around the index after every price step."""

    accounts: int = 2
    levels: int = 10  # per side
    level_usd: float = 50_000.0  # notional per level
    spread_bps: float = 5.0  # best bid/ask from the index
    step_bps: float = 10.0  # between levels
    capital_usd: float = 500_000_000.0


class Fund(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    insurance_usd: float = 1_000_000.0  # the liquidity (insurance) fund's USDC at the start
    backstop_providers: int = 2
    backstop_capital_usd: float = 50_000_000.0
    lend_usd: float = 20_000_000.0  # lent into the USDC pool at the start


class PricePath(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The index path of every perp in the population (its spot market follows it)."""

    kind: Literal["gap", "bleed", "flash", "walk", "csv"] = "walk"
    steps: int = 300
    step_seconds: int = 1
    at: int = 60  # step of the gap, or where a bleed or crash starts
    move: float = -0.1  # total move of the driver (a fraction)
    duration: int = 1  # steps the move takes (gap: 1)
    recover: float = 0.0  # flash: fraction of the move recovered ...
    recover_steps: int = 60  # ... over this many steps
    volatility: float = 0.0005  # per-step noise (log returns)
    correlation: float = 0.8  # of the markets' noise with the common factor
    beta: dict[str, float] = msgspec.field(default_factory=dict)  # market's share of the driver's move
    start: dict[str, str] = msgspec.field(default_factory=dict)  # start index per market (decimal)
    csv: str = ""  # kind = "csv": columns step (or seconds) and one per market symbol


class Clock(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    start_us: int = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
    sweep_every: int = 1  # liquidation sweep every N steps (the server: every second)
    settle_every: int = 10  # PnL settlement every N steps (the server: every 10 s)
    check_every: int = 0  # engine invariants every N steps (0: at the end only)


class Meta(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: str = "scenario"
    description: str = ""
    seed: int = 1


class Scenario(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    scenario: Meta = Meta()
    population: Population = Population()
    makers: Makers = Makers()
    fund: Fund = Fund()
    path: PricePath = PricePath()
    clock: Clock = Clock()
    exchange: dict[str, Any] = msgspec.field(default_factory=dict)
    base_dir: str = ""  # where the file was (a CSV path is relative to it); set on load


def load(path: Path, overrides: dict[str, str] | None = None) -> Scenario:
    """Read and check a scenario file; ``overrides`` (dotted key -> value) are applied first."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    raw["base_dir"] = str(path.resolve().parent)
    return from_dict(raw, overrides)


def from_dict(raw: dict[str, Any], overrides: dict[str, str] | None = None) -> Scenario:
    raw = copy.deepcopy(raw)
    for key, value in (overrides or {}).items():
        set_dotted(raw, key, value)
    try:
        scenario = msgspec.convert(raw, Scenario, strict=False)
    except msgspec.ValidationError as exc:
        raise ScenarioError(f"scenario: {exc}") from exc
    check(scenario)
    exchange_config(scenario)  # refuse bad exchange parameters before anything runs
    return scenario


def set_dotted(raw: dict[str, Any], key: str, value: Any) -> None:
    """``a.b.c = value`` into nested tables. Under ``exchange`` values stay strings (decimals, as
    the exchange config wants them); elsewhere a number-like string becomes a number."""
    parts = key.split(".")
    if not all(parts):
        raise ScenarioError(f"bad parameter name {key!r}")
    table = raw
    for part in parts[:-1]:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise ScenarioError(f"{key}: {part} is not a table")
    if parts[0] != "exchange" and isinstance(value, str):
        value = _number(value)
    table[parts[-1]] = value


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def check(s: Scenario) -> None:
    p, pop, m = s.path, s.population, s.makers
    if pop.accounts < 1 or m.accounts < 1 or s.fund.backstop_providers < 0:
        raise ScenarioError("population.accounts and makers.accounts must be at least 1")
    if not 0 <= pop.long_share <= 1:
        raise ScenarioError("population.long_share must be within [0, 1]")
    if not pop.markets or any(w < 0 for w in pop.markets.values()) or sum(pop.markets.values()) <= 0:
        raise ScenarioError("population.markets: weights per perp market, not all zero")
    if p.steps < 1 or p.step_seconds < 1 or s.clock.sweep_every < 1 or s.clock.settle_every < 1:
        raise ScenarioError("path.steps, path.step_seconds, clock.sweep_every and clock.settle_every must be >= 1")
    if p.kind == "csv" and not p.csv:
        raise ScenarioError('path.kind = "csv" needs path.csv')
    if not -0.95 <= p.move <= 5 or not 0 <= p.recover <= 1 or not 0 <= p.correlation <= 1:
        raise ScenarioError("path.move within [-0.95, 5], path.recover and path.correlation within [0, 1]")
    if not 0 <= m.levels <= 25:
        raise ScenarioError("makers.levels must be within 0..25 (one batch of 50 orders per market; 0: no quotes)")


def _named(entries: list[dict[str, Any]], symbol: str, what: str) -> dict[str, Any]:
    for entry in entries:
        if entry.get("symbol") == symbol:
            return entry
    raise ScenarioError(f"exchange.{what}.{symbol}: no such entry in the exchange configuration")


def merge(base: dict[str, Any], over: dict[str, Any], where: str = "exchange") -> None:
    for key, value in over.items():
        here = f"{where}.{key}"
        if key in ("assets", "markets") and where == "exchange":
            if not isinstance(value, dict):
                raise ScenarioError(f"{here}: a table of symbols")
            for symbol, table in value.items():
                merge(_named(base[key], symbol, key), table, f"{here}.{symbol}")
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value, here)
        else:
            base[key] = value


def exchange_config(s: Scenario) -> str:
    """The exchange configuration text of the scenario: the shipped one with ``[exchange]`` merged."""
    raw = tomllib.loads(default_config_text())
    merge(raw, s.exchange)
    text = tomli_w.dumps(raw)
    try:
        load_spec_text(text)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from exc
    return text


def exchange_spec(s: Scenario) -> tuple[ExchangeSpec, str]:
    text = exchange_config(s)
    return load_spec_text(text), text
