"""Deterministic clock for benchmarks and tests: each reading is one microsecond later."""

from __future__ import annotations

SIM_EPOCH_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


class SimClock:
    def __init__(self, start_us: int = SIM_EPOCH_US) -> None:
        self.now_us = start_us

    def __call__(self) -> int:
        self.now_us += 1
        return self.now_us
