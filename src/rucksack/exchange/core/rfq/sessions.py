"""Stock trading sessions and holidays: config data, checked against a command's journaled time.

A :class:`Calendar` names its timezone (``America/New_York``) and carries that zone's UTC offsets
as data (``offsets``: from an instant on, local = UTC + minutes), so the check needs no tz
database and no clock: ``session_at(calendar, ts_us)`` turns the command's timestamp into a local
date, weekday and minute of day by integer arithmetic and returns the session open then, or ""
(closed: a weekend, outside every session, or a holiday).

Sessions run ``[start, end)`` in local minutes of the day on the ISO weekdays
``start_weekday..end_weekday`` (1 Monday .. 7 Sunday). A holiday closes a whole local date, or,
with ``close_minute`` > 0, everything from that minute on (an early close).
"""

from __future__ import annotations

import msgspec

MINUTES_PER_DAY = 1440
US_PER_MINUTE = 60_000_000


class SessionSpec(msgspec.Struct, frozen=True):
    """One session: Backpack's name (``US_EQUITIES_REGULAR`` ...) and local start/end minutes."""

    name: str
    start_minute: int
    end_minute: int
    start_weekday: int = 1
    end_weekday: int = 5


class HolidaySpec(msgspec.Struct, frozen=True):
    """A closed local date (``YYYY-MM-DD``); ``close_minute`` > 0: open until that minute only."""

    date: str
    name: str
    close_minute: int = 0


class Calendar(msgspec.Struct, frozen=True):
    timezone: str
    offsets: list[tuple[int, int]]  # (from ts_us, UTC offset in minutes), ascending
    sessions: list[SessionSpec]
    holidays: list[HolidaySpec] = []


def utc_offset_minutes(calendar: Calendar, ts_us: int) -> int:
    """The zone's UTC offset at ``ts_us`` (the last transition at or before it)."""
    offset = calendar.offsets[0][1] if calendar.offsets else 0
    for start, minutes in calendar.offsets:
        if start > ts_us:
            break
        offset = minutes
    return offset


def civil_date(days: int) -> str:
    """``YYYY-MM-DD`` of ``days`` since 1970-01-01 (Howard Hinnant's days_from_civil inverse)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return f"{year:04d}-{month:02d}-{day:02d}"


def local_time(calendar: Calendar, ts_us: int) -> tuple[str, int, int]:
    """(local date, ISO weekday, minute of the day) at ``ts_us``."""
    local_minutes = ts_us // US_PER_MINUTE + utc_offset_minutes(calendar, ts_us)
    days, minute = divmod(local_minutes, MINUTES_PER_DAY)
    weekday = (days + 3) % 7 + 1  # 1970-01-01 was a Thursday (ISO 4)
    return civil_date(days), weekday, minute


def holiday_on(calendar: Calendar, date: str) -> HolidaySpec | None:
    for holiday in calendar.holidays:
        if holiday.date == date:
            return holiday
    return None


def session_at(calendar: Calendar, ts_us: int) -> str:
    """The name of the session open at ``ts_us``, or "" when the market is closed."""
    date, weekday, minute = local_time(calendar, ts_us)
    holiday = holiday_on(calendar, date)
    if holiday is not None and (holiday.close_minute == 0 or minute >= holiday.close_minute):
        return ""
    for session in calendar.sessions:
        if (
            session.start_weekday <= weekday <= session.end_weekday
            and session.start_minute <= minute < session.end_minute
        ):
            return session.name
    return ""


class SecuritySession(msgspec.Struct, frozen=True):
    """A security's quantity limits in one session, in its RFQ market's lots (0: no maximum)."""

    name: str
    min_lots: int
    max_lots: int = 0


class SecuritySpec(msgspec.Struct, frozen=True):
    """A tokenized equity (``NVDA.US``): traded only by RFQ on ``market`` and only inside its
    sessions; ``reference_price`` (ticks of that market) prices indicative quotes until the first
    RFQ fill."""

    asset: str
    name: str
    market: str
    sessions: list[SecuritySession]
    reference_price: int
    cusip: str | None = None

    def session(self, name: str) -> SecuritySession | None:
        for s in self.sessions:
            if s.name == name:
                return s
        return None
