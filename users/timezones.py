"""A point's time zone, found offline from the boundaries bundled with timezonefinder.

Only the zone name leaves this module: callers store it and drop the coordinates."""

from __future__ import annotations

import functools
import math
import zoneinfo

from timezonefinder import TimezoneFinder


@functools.cache
def _finder() -> TimezoneFinder:
    # Loading the boundaries takes a few hundred milliseconds: once per process.
    return TimezoneFinder()


def zone_at(*, latitude: float, longitude: float) -> str | None:
    """The IANA zone at the point, or None (out of range, or a zone this system's tz
    database does not know)."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    zone = _finder().timezone_at(lat=latitude, lng=longitude)
    if not zone:
        return None
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return zone
