"""Index paths: one price per market per step, seeded and deterministic.

A *driver* carries the scenario's move (a multiplier of the start price, 1 before the move):

- ``gap``: the whole ``move`` at step ``at`` (no trade in between);
- ``bleed``: the move spread evenly (geometrically) over ``duration`` steps from ``at``;
- ``flash``: down over ``duration`` steps, then ``recover`` of the drop back over ``recover_steps``;
- ``walk``: no move, only noise;
- ``csv``: the file's prices, one row per step (column ``step`` then one column per market).

Each market follows the driver with its ``beta`` (1 unless set) and adds its own noise: per step
a log return ``volatility * (sqrt(rho) * common + sqrt(1 - rho) * own)``, standard normal draws
from ``random.Random(seed)`` in a fixed order, so markets move together with correlation ``rho``.

Prices leave here as whole ticks of each market (``round(price / tick)``, at least one tick):
the engine only ever sees integers. Floats live in this module and the report only.
"""

from __future__ import annotations

import csv
import math
import random
from decimal import Decimal
from pathlib import Path

from rucksack.lab.scenario import PricePath, ScenarioError

DEFAULT_START = {"SOL_USDC_PERP": "150", "BTC_USDC_PERP": "60000", "ETH_USDC_PERP": "3000"}


def driver(p: PricePath) -> list[float]:
    """The move's multiplier at every step 0..steps."""
    out = []
    for t in range(p.steps + 1):
        if p.kind == "gap":
            f = 1 + p.move if t >= p.at else 1.0
        elif p.kind in ("bleed", "flash"):
            done = min(max(t - p.at, 0), p.duration) / max(p.duration, 1)
            f = (1 + p.move) ** done
            if p.kind == "flash" and t > p.at + p.duration:
                back = min(t - p.at - p.duration, p.recover_steps) / max(p.recover_steps, 1)
                low = 1 + p.move
                f = low + (1 - low) * p.recover * back
        else:
            f = 1.0
        out.append(f)
    return out


def generate(
    p: PricePath, markets: list[str], ticks: dict[str, Decimal], seed: int, base_dir: str
) -> dict[str, list[int]]:
    """Index ticks per market for steps 0..steps (CSV: as many steps as the file has rows)."""
    if p.kind == "csv":
        return _from_csv(Path(base_dir) / p.csv, markets, ticks)
    rng = random.Random(seed)
    move = driver(p)
    rho = p.correlation
    level = {m: 0.0 for m in markets}
    start = {m: float(Decimal(p.start.get(m, DEFAULT_START.get(m, "100")))) for m in markets}
    out: dict[str, list[int]] = {m: [] for m in markets}
    for t in range(p.steps + 1):
        common = rng.gauss(0.0, 1.0)
        for m in markets:
            own = rng.gauss(0.0, 1.0)
            if t:
                level[m] += p.volatility * (math.sqrt(rho) * common + math.sqrt(1 - rho) * own)
            beta = p.beta.get(m, 1.0)
            price = start[m] * move[t] ** beta * math.exp(level[m])
            out[m].append(to_ticks(price, ticks[m]))
    return out


def to_ticks(price: float, tick: Decimal) -> int:
    return max(1, int((Decimal(repr(price)) / tick).to_integral_value()))


def _from_csv(path: Path, markets: list[str], ticks: dict[str, Decimal]) -> dict[str, list[int]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise ScenarioError(f"path.csv: {exc}") from exc
    missing = [m for m in markets if not rows or m not in rows[0]]
    if missing:
        raise ScenarioError(f"{path}: no column for {', '.join(missing)} (or no rows)")
    try:
        return {m: [max(1, int((Decimal(r[m]) / ticks[m]).to_integral_value())) for r in rows] for m in markets}
    except ArithmeticError as exc:
        raise ScenarioError(f"{path}: not a decimal price: {exc}") from exc
