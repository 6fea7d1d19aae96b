"""Startup check of the dashboard's time zones: rollups cut local days from UTC hours,
which is exact only for zones whose offsets are whole hours."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.core.checks import Error, register

from .rollups import dashboard_time_zones


def _whole_hours(zone: zoneinfo.ZoneInfo) -> bool:
    at = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    while at.year < 2040:  # every week: DST transitions cannot hide between samples
        offset = at.astimezone(zone).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return False
        at += dt.timedelta(days=7)
    return True


@register()
def dashboard_time_zones_check(app_configs, **kwargs) -> list[Error]:
    errors = []
    for name in dashboard_time_zones():
        try:
            zone = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.append(Error(f"unknown time zone {name!r}", id="analytics.E001"))
            continue
        if not _whole_hours(zone):
            errors.append(
                Error(
                    f"time zone {name!r} has an offset that is not a whole number of hours",
                    hint="DASHBOARD_TIME_ZONES may hold only whole-hour zones",
                    id="analytics.E002",
                )
            )
    return errors
