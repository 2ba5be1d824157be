"""The stock session calendar: integer date arithmetic against the standard library, New York
daylight saving from the config's offsets, holidays and early closes, and spec validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from rucksack.exchange.core.markets import SpecError, validate_spec
from rucksack.exchange.core.rfq.sessions import SecuritySession, civil_date, local_time, session_at
from tests.conftest import default_spec


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp()) * 1_000_000


def test_civil_date_matches_the_standard_library() -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for days in range(-1000, 80_000, 7):
        assert civil_date(days) == (epoch + timedelta(days=days)).date().isoformat()


def test_new_york_time_follows_daylight_saving() -> None:
    calendar = default_spec().calendar
    assert calendar is not None
    # 2026-03-08 07:00 UTC: 02:00 EST becomes 03:00 EDT
    assert local_time(calendar, ts("2026-03-08T06:59:00+00:00")) == ("2026-03-08", 7, 60 + 59)
    assert local_time(calendar, ts("2026-03-08T07:00:00+00:00")) == ("2026-03-08", 7, 3 * 60)
    # the regular open is 14:30 UTC in summer, 14:30 is pre-market in winter
    assert session_at(calendar, ts("2026-07-01T13:30:00+00:00")) == "US_EQUITIES_REGULAR"
    assert session_at(calendar, ts("2026-12-01T13:30:00+00:00")) == "US_EQUITIES_PRE_MARKET"
    assert session_at(calendar, ts("2026-12-01T14:29:59+00:00")) == "US_EQUITIES_PRE_MARKET"
    assert session_at(calendar, ts("2026-12-01T14:30:00+00:00")) == "US_EQUITIES_REGULAR"
    assert session_at(calendar, ts("2026-12-02T01:00:00+00:00")) == ""  # 20:00 NY: post-market ended


def test_holidays_and_early_closes() -> None:
    calendar = default_spec().calendar
    assert calendar is not None
    assert session_at(calendar, ts("2026-11-26T15:00:00+00:00")) == ""  # Thanksgiving
    assert session_at(calendar, ts("2026-11-27T17:59:00+00:00")) == "US_EQUITIES_REGULAR"  # 12:59 NY
    assert session_at(calendar, ts("2026-11-27T18:00:00+00:00")) == ""  # 13:00 NY: early close
    assert session_at(calendar, ts("2026-11-28T15:00:00+00:00")) == ""  # Saturday


def test_spec_refuses_securities_without_their_sessions() -> None:
    spec = default_spec()
    bad = msgspec.structs.replace(spec.securities[0], sessions=[SecuritySession("US_EQUITIES_LUNCH", 1)])
    with pytest.raises(SpecError, match="sessions"):
        validate_spec(msgspec.structs.replace(spec, securities=[bad]))
    with pytest.raises(SpecError, match="RFQ market"):
        validate_spec(msgspec.structs.replace(spec, securities=[msgspec.structs.replace(bad, market="SOL_USDC")]))
    with pytest.raises(SpecError, match="unique"):
        validate_spec(msgspec.structs.replace(spec, rfq_markets=[*spec.rfq_markets, spec.rfq_markets[0]]))
