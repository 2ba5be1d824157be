"""WebSocket kline ``t``/``T``: naive ISO to the second (REST klines use a space separator)."""

from __future__ import annotations

from rucksack.exchange.api.wire import iso_seconds, space_seconds


def test_kline_stream_times_are_iso_seconds() -> None:
    start = 1_752_930_540_000_000  # 2025-07-19 13:09:00 UTC
    assert iso_seconds(start) == "2025-07-19T13:09:00"
    assert iso_seconds(start + 60_000_000) == "2025-07-19T13:10:00"
    assert iso_seconds(start + 999_999) == "2025-07-19T13:09:00"  # truncated, never rounded up
    assert iso_seconds(0) == "1970-01-01T00:00:00"
    assert space_seconds(start) == "2025-07-19 13:09:00"
