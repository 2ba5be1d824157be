"""The strategy state: every strategy (running and ended) and which order each slice became.

Invariants: ``running`` lists exactly the strategies in status ``Running``, ascending by id;
``0 <= executed_lots <= lots``; a running strategy has ``slices_sent < slices``; every id in
``order_strategy`` names a strategy of the same account. ``now_us`` (the strategy clock) never
decreases. Nothing here holds funds: each slice is an ordinary IOC order, checked and settled
by ``orders.placement`` within the crank command.

Records are mutable msgspec structs (array-like), so the snapshot carries copies of them.
"""

from __future__ import annotations

import msgspec

RUNNING = "Running"
COMPLETED = "Completed"
CANCELLED = "Cancelled"
TERMINATED = "Terminated"


class Strategy(msgspec.Struct, array_like=True):
    id: int
    account: int
    market: str
    side: str
    lots: int
    price: int
    duration_us: int
    interval_us: int
    slices: int
    seed: int
    randomized: bool
    client_id: int
    slippage: int
    slippage_type: str
    tif: str
    stp: str
    reduce_only: bool
    auto_borrow: bool
    auto_borrow_repay: bool
    auto_lend_redeem: bool
    created_us: int
    status: str = RUNNING
    cancel_reason: str = ""
    slices_sent: int = 0  # slices due so far (sent or skipped)
    executed_lots: int = 0
    executed_quote: int = 0  # quote atoms
    updated_us: int = 0

    def due_us(self, k: int) -> int:
        """When slice ``k`` (0-based) is due: the first at creation, then one per interval."""
        return self.created_us + k * self.interval_us


class StrategyRecord(msgspec.Struct, array_like=True, frozen=True):
    """The snapshot's picture of a :class:`StrategyBook` (strategies in id order)."""

    next_id: int
    now_us: int
    strategies: list[Strategy]
    order_strategy: list[tuple[int, int]]


class StrategyBook:
    def __init__(self) -> None:
        self.strategies: dict[int, Strategy] = {}
        self.running: list[int] = []  # running strategy ids, ascending
        self.order_strategy: dict[int, int] = {}  # order id -> strategy id
        self.next_id = 1
        self.now_us = 0

    def record(self) -> StrategyRecord:
        return StrategyRecord(
            next_id=self.next_id,
            now_us=self.now_us,
            strategies=[msgspec.structs.replace(self.strategies[i]) for i in sorted(self.strategies)],
            order_strategy=sorted(self.order_strategy.items()),
        )

    @classmethod
    def from_record(cls, rec: StrategyRecord) -> StrategyBook:
        book = cls()
        book.next_id, book.now_us = rec.next_id, rec.now_us
        for s in rec.strategies:
            book.strategies[s.id] = msgspec.structs.replace(s)
            if s.status == RUNNING:
                book.running.append(s.id)
        book.order_strategy = dict(rec.order_strategy)
        return book

    def running_by_client(self, account: int, market: str, client_id: int) -> Strategy | None:
        for sid in self.running:
            s = self.strategies[sid]
            if s.account == account and s.market == market and s.client_id == client_id:
                return s
        return None


def check(book: StrategyBook) -> list[str]:
    """The invariants of the module docstring (``core.invariants`` may run them in tests)."""
    problems = []
    if book.running != sorted(i for i, s in book.strategies.items() if s.status == RUNNING):
        problems.append("strategies: running list differs from the strategies in status Running")
    for s in book.strategies.values():
        if not 0 <= s.executed_lots <= s.lots:
            problems.append(f"strategy {s.id}: executed {s.executed_lots} of {s.lots} lots")
        if s.status == RUNNING and s.slices_sent >= s.slices:
            problems.append(f"strategy {s.id}: running with every slice sent")
    for oid, sid in book.order_strategy.items():
        if sid not in book.strategies:
            problems.append(f"order {oid}: unknown strategy {sid}")
    return problems
