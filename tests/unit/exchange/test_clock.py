"""The exchange's clock: a sandbox advances it, never back; a production clock refuses; after a
restart it continues from the journal's last time."""

from __future__ import annotations

import pytest

from rucksack.exchange.clock import MAX_ADVANCE_US, ClockNotAdvanceable, ExchangeClock


def test_advance_moves_forward_only_in_a_sandbox() -> None:
    wall = [1_000]
    clock = ExchangeClock(lambda: wall[0], sandbox=True)
    assert clock() == 1_000
    assert clock.advance(500) == 1_500
    wall[0] = 1_010
    assert clock() == 1_510  # the offset stays on the wall clock
    for bad in (-1, MAX_ADVANCE_US + 1):
        with pytest.raises(ValueError, match="advance"):
            clock.advance(bad)
    assert clock.offset_us == 500
    production = ExchangeClock(lambda: wall[0], sandbox=False)
    with pytest.raises(ClockNotAdvanceable):
        production.advance(1)


def test_catch_up_continues_from_the_journal_in_a_sandbox_only() -> None:
    sandbox = ExchangeClock(lambda: 1_000, sandbox=True)
    sandbox.catch_up(5_000)  # an earlier advance left the journal ahead of the wall clock
    assert sandbox() == 5_000
    sandbox.catch_up(10)  # never back
    assert sandbox() == 5_000
    production = ExchangeClock(lambda: 1_000, sandbox=False)
    production.catch_up(5_000)
    assert production() == 1_000  # the sequencer clamps to the journal's time instead
