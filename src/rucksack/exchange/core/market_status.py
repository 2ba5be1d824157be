"""Market status, the state: each market open, halted or delisted, and the circuit breakers'
windows. The operations that change it are in ``core.halts`` (see its docstring for the rules).

Snapshotted by ``state.py`` (``MarketStatusRecord``) and so covered by the state hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from rucksack.exchange.core.markets import CircuitBreakerSpec

OPEN: Final = "Open"
HALTED: Final = "Halted"
DELISTED: Final = "Delisted"
STATUSES: Final = (OPEN, HALTED, DELISTED)
# Backpack's OrderBookState for each status (GET /api/v1/markets)
BOOK_STATE: Final = {OPEN: "Open", HALTED: "CancelOnly", DELISTED: "Closed"}


class MarketStatusBook:
    """Every market's status, the reason it was last set, and the circuit breakers' windows."""

    def __init__(self, markets: int, breaker: CircuitBreakerSpec) -> None:
        self.breaker = breaker
        self.status: list[str] = [OPEN] * markets
        self.reason: list[str] = [""] * markets
        self.since_us: list[int] = [0] * markets
        self.window: list[list[tuple[int, int]]] = [[] for _ in range(markets)]  # (ts_us, index ticks)

    def is_open(self, market: int) -> bool:
        return self.status[market] == OPEN
