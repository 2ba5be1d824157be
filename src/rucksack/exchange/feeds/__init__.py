"""Reference-price sources: a seeded random walk, a CSV replay, or manual prices."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from rucksack.exchange.core.numeric import parse_decimal


class PriceFeed:
    """Reference prices in ticks per market symbol; ``step()`` advances one tick of the feed.

    - ``sim``: a seeded random walk (the default for ``make run``);
    - ``csv:PATH``: rows ``symbol,price`` (decimal strings) replayed in order, one row per step
      for its symbol, looping at the end;
    - ``manual``: prices move only through ``set()`` (``rucksack sandbox price``, ``rucksack
      operator price``).

    ``symbols``: the markets whose price it sets (default: those of ``start``). A production feed
    starts with no prices (``start`` empty): until its source gives one, a market has none, rather
    than a made-up starting price. ``slow``: symbols the random walk moves only every
    ``SLOW_EVERY``-th step (the sandbox's long tail: fewer index commands to journal).
    """

    SLOW_EVERY = 5

    def __init__(
        self,
        kind: str,
        start: dict[str, int],
        ticks: dict[str, tuple[int, int]],
        seed: int = 7,
        symbols: set[str] | None = None,
        slow: set[str] | None = None,
    ) -> None:
        """``ticks`` maps each symbol to (decimal places of its tick size, tick size in those units)."""
        self.kind = kind
        self.prices = dict(start)
        self.symbols = set(start) if symbols is None else symbols
        self.ticks = ticks
        self.rng = random.Random(seed)
        self.slow = slow or set()
        self.steps = 0
        self.rows: list[tuple[str, int]] = []
        self.row = 0
        if kind.startswith("csv:"):
            self.rows = self._load(Path(kind[4:]))
        elif kind not in ("sim", "manual"):
            raise ValueError(f"unknown feed {kind!r}: use sim, manual or csv:PATH")

    def _load(self, path: Path) -> list[tuple[str, int]]:
        rows = []
        with path.open(newline="", encoding="utf-8") as f:
            for rec in csv.reader(f):
                if not rec or rec[0].startswith("#") or rec[0] == "symbol":
                    continue
                symbol, price = rec[0].strip(), rec[1].strip()
                if symbol not in self.ticks:
                    raise ValueError(f"{path}: unknown market {symbol}")
                places, unit = self.ticks[symbol]
                units = parse_decimal(price, places)
                if units <= 0 or units % unit:
                    raise ValueError(f"{path}: {symbol} price {price} is not a positive multiple of the tick")
                rows.append((symbol, units // unit))
        if not rows:
            raise ValueError(f"{path}: no prices")
        return rows

    def set(self, symbol: str, ticks: int) -> None:
        self.prices[symbol] = ticks

    def step(self) -> dict[str, int]:
        if self.kind == "sim":
            self.steps += 1
            for symbol, price in self.prices.items():
                if symbol in self.slow and self.steps % self.SLOW_EVERY:
                    continue
                move = max(1, price // 5000)  # about 2 bp per step
                self.prices[symbol] = max(1, price + self.rng.choice((-2, -1, 0, 0, 1, 2)) * move)
        elif self.rows:
            symbol, ticks = self.rows[self.row % len(self.rows)]
            self.row += 1
            self.prices[symbol] = ticks
        return self.prices
