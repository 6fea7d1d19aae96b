"""The parameters every dashboard page and API endpoint takes: ``start`` and ``end``
(local dates, inclusive) and ``tz`` (an IANA name among the dashboard's time zones)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Mapping

from django.conf import settings

from analytics.rollups import dashboard_time_zones, local_day_start

MAX_DAYS = 731  # two years, a leap day included
DEFAULT_DAYS = 30


class ParamError(ValueError):
    """A bad parameter; its text is the 400 answer's message."""


@dataclasses.dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    tz: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def utc_start(self) -> dt.datetime:
        return local_day_start(self.start, self.tz)

    @property
    def utc_end(self) -> dt.datetime:
        """The first instant after the period (exclusive)."""
        return local_day_start(self.end + dt.timedelta(days=1), self.tz)

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range(self.days)]

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        length = dt.timedelta(days=self.days)
        return Period(self.start - length, self.end - length, self.tz)

    def as_query(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "tz": self.tz}


def today_in(tz: str) -> dt.date:
    return dt.datetime.now(tz=zoneinfo.ZoneInfo(tz)).date()


def _date(params: Mapping[str, str], name: str) -> dt.date | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ParamError(f"{name} must be a date as YYYY-MM-DD, not {raw[:40]!r}") from None


def time_zone_parse(raw: str | None) -> str:
    tz = (raw or "").strip() or settings.DASHBOARD_TIME_ZONE
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ParamError(f"unknown time zone {tz[:64]!r} (use an IANA name)") from None
    if tz not in dashboard_time_zones():
        allowed = ", ".join(dashboard_time_zones())
        raise ParamError(f"time zone {tz!r} is not one of the dashboard's: {allowed}")
    return tz


def period_parse(params: Mapping[str, str]) -> Period:
    """The period asked for; by default the last 30 days up to today in ``tz``."""
    tz = time_zone_parse(params.get("tz"))
    end = _date(params, "end")
    start = _date(params, "start")
    if end is None:
        end = max(today_in(tz), start) if start else today_in(tz)
    if start is None:
        start = end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise ParamError(f"end ({end}) is before start ({start})")
    if (end - start).days + 1 > MAX_DAYS:
        raise ParamError(f"the range is longer than two years ({MAX_DAYS} days)")
    if start.year < 2000 or end.year > 2100:
        raise ParamError("dates must lie between 2000 and 2100")
    return Period(start, end, tz)


def int_param(params: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(f"{name} must be a whole number, not {raw[:20]!r}") from None
    if not low <= value <= high:
        raise ParamError(f"{name} must be between {low} and {high}")
    return value
