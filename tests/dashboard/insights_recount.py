"""The insights' figures recounted from raw rows, the slow and obvious way (Python over
every row, zoneinfo for local times), to compare with the rollups' answers."""

from __future__ import annotations

import datetime as dt
import math
import statistics
import zoneinfo
from collections import Counter, defaultdict

from analytics.models import ClickEvent, Download, FunnelEvent
from tests.dashboard.recount import bounds
from users.models import BotUser

WEEK = dt.timedelta(hours=168)


def _local(at: dt.datetime, tz: str) -> dt.datetime:
    return at.astimezone(zoneinfo.ZoneInfo(tz))


def hours(start: dt.date, end: dt.date, tz: str) -> tuple[Counter, Counter]:
    low, high = bounds(start, end, tz)
    zones = dict(BotUser.objects.exclude(timezone="").values_list("user_id", "timezone"))
    viewer, own = Counter(), Counter()
    rows = Download.objects.filter(created_at__gte=low, created_at__lt=high)
    for user_id, at in rows.values_list("user_id", "created_at"):
        local = _local(at, tz)
        viewer[(local.isoweekday(), local.hour)] += 1
        if user_id in zones:
            mine = _local(at, zones[user_id])
            own[(mine.isoweekday(), mine.hour)] += 1
    return viewer, own


REGIONS = {"ru": "Russian-speaking", "uk": "Ukrainian-speaking", "es": "Spanish-speaking",
           "en": "English-speaking", "": "Unknown"}  # fmt: skip


def _region(user: BotUser) -> str:
    code = (user.language_code or user.language).split("-")[0].lower()
    return REGIONS.get(code, "Other languages")


def inferred_offsets() -> dict[int, int]:
    """user -> offset in minutes, from the distinct (UTC day, hour)s of their downloads
    in the last 60 days of data (mean hour on the circle, assumed 16:00 local)."""
    latest = max(at.astimezone(dt.UTC).date() for at in Download.objects.values_list(
        "created_at", flat=True))  # fmt: skip
    hours_of: dict[int, set] = defaultdict(set)
    for user_id, at in Download.objects.values_list("user_id", "created_at"):
        utc = at.astimezone(dt.UTC)
        if utc.date() > latest - dt.timedelta(days=60):
            hours_of[user_id].add((utc.date(), utc.hour))
    offsets = {}
    for user_id, seen in hours_of.items():
        c = sum(math.cos(2 * math.pi * h / 24) for _, h in seen)
        s = sum(math.sin(2 * math.pi * h / 24) for _, h in seen)
        if len(seen) < 3 or math.hypot(c, s) / len(seen) < 0.3:
            continue
        mean = math.degrees(math.atan2(s, c)) / 15
        raw = 16 - mean
        rounded = math.floor(raw + 0.5) if raw >= 0 else -math.floor(-raw + 0.5)
        offsets[user_id] = 60 * (((rounded + 12) % 24 + 24) % 24 - 12)
    return offsets


def geo(end: dt.date) -> tuple[Counter, Counter, Counter]:
    """(users by source, by (area, source), by (offset minutes or None, source))."""
    inferred = inferred_offsets()
    now = dt.datetime.now(tz=dt.UTC)
    sources, areas, offsets = Counter(), Counter(), Counter()
    for user in BotUser.objects.all():
        if user.first_seen_at.astimezone(dt.UTC).date() > end:
            continue
        if user.timezone:
            source, area = "location", user.timezone
            offset = int(now.astimezone(zoneinfo.ZoneInfo(user.timezone)).utcoffset()
                         .total_seconds()) // 60  # fmt: skip
        elif user.user_id in inferred:
            source, area, offset = "activity", _region(user), inferred[user.user_id]
        else:
            area = _region(user)
            source, offset = ("language" if area != "Unknown" else "unknown"), None
        sources[source] += 1
        areas[(area, source)] += 1
        offsets[(offset, source)] += 1
    return sources, areas, offsets


def _first_download(user_id: int, video_id: str, after: dt.datetime, until: dt.datetime):
    times = [
        at for at in Download.objects.filter(user_id=user_id, video_id=video_id).values_list(
            "created_at", flat=True)
        if after <= at <= until
    ]  # fmt: skip
    return min(times) if times else None


def conversion(start: dt.date, end: dt.date, tz: str, window: int) -> dict:
    low, high = bounds(start, end, tz)
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_platform: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for click in ClickEvent.objects.filter(created_at__gte=low, created_at__lt=high):
        at = _first_download(click.user_id, click.video_id, click.created_at,
                             click.created_at + dt.timedelta(hours=window))  # fmt: skip
        converted = int(at is not None)
        platform = (click.video_id or "").split(":")[0] or "unknown"
        for group, key in ((by_source, click.event_type), (by_platform, platform)):
            group[key][0] += 1
            group[key][1] += converted
    return {"by_source": dict(by_source), "by_platform": dict(by_platform)}


def active_days(tz: str, activity: str) -> dict[int, set[dt.date]]:
    days: dict[int, set[dt.date]] = defaultdict(set)
    rows = list(Download.objects.values_list("user_id", "created_at"))
    if activity == "any":
        rows += list(ClickEvent.objects.values_list("user_id", "created_at"))
        rows += list(FunnelEvent.objects.values_list("user_id", "created_at"))
    for user_id, at in rows:
        days[user_id].add(_local(at, tz).date())
    return days


def cohort_days(tz: str) -> dict[int, dt.date]:
    return {u: _local(at, tz).date() for u, at in BotUser.objects.values_list(
        "user_id", "first_seen_at")}  # fmt: skip


def retention(start, end, tz, mode, activity, today) -> dict[int, tuple[int, int]]:
    """day N -> (users whose day N is over, of them active on / on or after day N)."""
    days = active_days(tz, activity)
    answer = {}
    for n in (1, 7, 14, 30):
        users = active = 0
        for user_id, cohort in cohort_days(tz).items():
            if not start <= cohort <= end or cohort + dt.timedelta(days=n) >= today:
                continue
            users += 1
            target = cohort + dt.timedelta(days=n)
            mine = days.get(user_id, set())
            hit = target in mine if mode == "on" else any(d >= target for d in mine)
            active += hit
        answer[n] = (users, active)
    return answer


def cohorts(tz: str, grain: str, activity: str) -> dict[tuple[dt.date, int], int]:
    def start_of(day: dt.date) -> dt.date:
        return day - dt.timedelta(days=day.weekday()) if grain == "week" else day.replace(day=1)

    def offset(cohort: dt.date, day: dt.date) -> int:
        if grain == "week":
            return (start_of(day) - cohort).days // 7
        return (day.year - cohort.year) * 12 + day.month - cohort.month

    days = active_days(tz, activity)
    cells: Counter = Counter()
    for user_id, first in cohort_days(tz).items():
        cohort = start_of(first)
        for k in {offset(cohort, d) for d in days.get(user_id, ()) if d >= first}:
            cells[(cohort, k)] += 1
    return cells


def funnel(start: dt.date, end: dt.date, tz: str, window: int) -> dict:
    """Per user: first inline query in the period, then the first chosen result / Watch
    click after it (within a week), then the first download of that video after it."""
    low, high = bounds(start, end, tz)
    limit = dt.timedelta(hours=window)
    firsts: dict[int, dt.datetime] = {}
    for e in FunnelEvent.objects.filter(step="inline_query", created_at__gte=low,
                                        created_at__lt=high).order_by("created_at"):  # fmt: skip
        firsts.setdefault(e.user_id, e.created_at)
    queried = chosen = downloaded = 0
    to_chosen, to_download = [], []
    for user_id, t1 in firsts.items():
        queried += 1
        steps = [(e.created_at, e.video_id, e.from_cache) for e in FunnelEvent.objects.filter(
            user_id=user_id, step="inline_chosen")]  # fmt: skip
        steps += [(c.created_at, c.video_id, False) for c in ClickEvent.objects.filter(
            user_id=user_id, event_type="button_click")]  # fmt: skip
        after = sorted(s for s in steps if t1 <= s[0] <= t1 + WEEK)
        if not after or after[0][0] - t1 > limit:
            continue
        t2, video_id, cached = after[0]
        chosen += 1
        to_chosen.append((t2 - t1).total_seconds())
        t3 = t2 if cached else _first_download(user_id, video_id, t2, t1 + WEEK)
        if t3 is not None and t3 - t1 <= limit:
            downloaded += 1
            to_download.append((t3 - t2).total_seconds())
    return {
        "queried": queried, "chosen": chosen, "downloaded": downloaded,
        "median_to_chosen": statistics.median(to_chosen) if to_chosen else None,
        "median_to_download": statistics.median(to_download) if to_download else None,
    }  # fmt: skip


def period_end(cohort: dt.date, grain: str, offset: int) -> dt.date:
    """The first day after the week / month ``offset`` periods after ``cohort``."""
    if grain == "week":
        return cohort + dt.timedelta(weeks=offset + 1)
    month = cohort.month - 1 + offset + 1
    return dt.date(cohort.year + month // 12, month % 12 + 1, 1)
