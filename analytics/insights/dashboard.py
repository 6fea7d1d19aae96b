"""The insights' API endpoints (``hours``, ``geo``, ``conversion``, ``retention``,
``cohorts``, ``funnel``) and their dashboard pages; imported by the dashboard's urls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analytics.dashboard.api import endpoint
from analytics.dashboard.pages import Page, Widget, page_register
from analytics.dashboard.params import ParamError, Period, int_param

from . import selectors
from .rollups import ACTIVITIES, GRAINS, MAX_WINDOW_HOURS

DEFAULT_WINDOW_HOURS = 24


def choice_param(query: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first by default)."""
    raw = (query.get(name) or "").strip()
    if not raw:
        return choices[0]
    if raw not in choices:
        raise ParamError(f"{name} must be one of {', '.join(choices)}, not {raw[:20]!r}")
    return raw


def _window(query: Mapping[str, str]) -> int:
    return int_param(query, "window", default=DEFAULT_WINDOW_HOURS, low=1, high=MAX_WINDOW_HOURS)


@endpoint("hours")
def hours(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    return selectors.hours(period)


@endpoint("geo", params=("limit",))
def geo(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    return selectors.geo(period, int_param(query, "limit", default=50, low=1, high=500))


@endpoint("conversion", params=("window",))
def conversion(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    return selectors.conversion(period, _window(query))


@endpoint("retention", params=("mode", "activity"))
def retention(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    mode = choice_param(query, "mode", ("on", "after"))
    return selectors.retention(period, mode, choice_param(query, "activity", ACTIVITIES))


@endpoint("cohorts", params=("grain", "activity"))
def cohorts(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    grain = choice_param(query, "grain", GRAINS)
    return selectors.cohorts(period, grain, choice_param(query, "activity", ACTIVITIES))


@endpoint("funnel", params=("window",))
def funnel(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    return selectors.funnel(period, _window(query))


_FUNNEL_SERIES = (
    ("queried", "Inline query"), ("chosen", "Chosen / Watch"), ("downloaded", "Download"),
    ("overall_percent", "Overall %"), ("median_seconds_to_chosen", "Median s to chosen"),
    ("median_seconds_to_download", "Median s chosen to download"),
)  # fmt: skip
_SOURCES_SERIES = (
    ("users", "Users"), ("location", "Shared location"), ("activity", "Inferred from hours"),
    ("language", "Language only"), ("unknown", "Unknown"), ("share_percent", "Share %"),
)  # fmt: skip

page_register(Page(slug="geography", title="Geography", widgets=(
    Widget(id="geo-sources", title="Where the figures come from", endpoint="geo",
           rows="sources", label="source", series=(("users", "Users"),), kind="doughnut",
           description="Each user counted once, by the best source known: a time zone from a "
           "location shared in /settings (only the zone is stored), a UTC offset inferred from "
           "the hours of their downloads, or only the region of their language code."),
    Widget(id="geo-offsets", title="Users by UTC offset", endpoint="geo", rows="offsets",
           label="utc_offset", series=(("location", "Shared location"),
                                       ("activity", "Inferred from hours")), kind="bar",
           description="Shared locations give the zone's offset today; the others are "
           "inferred from the hours of activity (users active in few hours stay unknown)."),
    Widget(id="geo-areas", title="Users by zone or language region", endpoint="geo",
           rows="areas", label="area", series=_SOURCES_SERIES, kind="table",
           description="Users first seen up to the period's last day (UTC day of first sight)."),
)))  # fmt: skip

page_register(Page(slug="hours", title="Hour of day", widgets=(
    Widget(id="hours-by-hour", title="Downloads by hour", endpoint="hours", rows="hours",
           label="hour", series=(("downloads", "In the viewer's time zone"),
                                 ("own_time_downloads", "In the user's own time (zone known)")),
           kind="bar"),
    Widget(id="hours-heatmap", title="Weekday x hour (viewer's time zone)", endpoint="hours",
           rows="heatmap", label="weekday", kind="matrix"),
    Widget(id="hours-own-heatmap", title="Weekday x hour (users' own local time)",
           endpoint="hours", rows="own_heatmap", label="weekday", kind="matrix",
           description="Only users who shared a location (their zone is known)."),
)))  # fmt: skip

page_register(Page(slug="conversion", title="Conversion", widgets=(
    Widget(id="conversion-days", title="Clicks followed by a download within 24 h",
           endpoint="conversion", rows="days",
           series=(("clicks", "Clicks"), ("converted", "Converted")), kind="bar",
           description="\"Watch video\" clicks and v_ deep-link opens; converted = the same "
           "user downloaded the same video within the window. Days whose window has not "
           "ended yet are marked incomplete."),
    Widget(id="conversion-source", title="By source", endpoint="conversion", rows="by_source",
           label="source", series=(("clicks", "Clicks"), ("converted", "Converted"),
                                   ("rate_percent", "Rate %")), kind="table"),
    Widget(id="conversion-platform", title="By platform", endpoint="conversion",
           rows="by_platform", label="platform",
           series=(("clicks", "Clicks"), ("converted", "Converted"), ("rate_percent", "Rate %")),
           kind="bar"),
)))  # fmt: skip

page_register(Page(slug="retention", title="Retention", widgets=(
    Widget(id="retention-on", title="Active on day N (downloads)", endpoint="retention",
           rows="days", label="day", series=(("share_percent", "Share %"),), kind="bar",
           query=(("mode", "on"),),
           description="Users first seen in the period, share with a download on day N after "
           "(local days of the chosen time zone). Cohort days whose day N has not ended are "
           "left out (pending users), never counted as lost."),
    Widget(id="retention-after", title="Active on or after day N (downloads)",
           endpoint="retention", rows="days", label="day",
           series=(("share_percent", "Share %"),), kind="bar", query=(("mode", "after"),)),
    Widget(id="retention-any", title="Active on day N (any event)", endpoint="retention",
           rows="days", label="day", series=(("share_percent", "Share %"),), kind="bar",
           query=(("mode", "on"), ("activity", "any"))),
    Widget(id="retention-cohorts", title="By first-seen day", endpoint="retention",
           rows="cohorts", label="cohort", kind="matrix", query=(("mode", "on"),)),
)))  # fmt: skip

page_register(Page(slug="cohorts", title="Cohorts", widgets=(
    Widget(id="cohorts-week", title="Weekly cohorts (ISO weeks, downloads)",
           endpoint="cohorts", rows="cohorts", label="cohort", kind="matrix",
           query=(("grain", "week"),),
           description="Users first seen in each week (Monday start, chosen time zone): share "
           "with a download in each later week. Weeks not over yet are marked *."),
    Widget(id="cohorts-month", title="Monthly cohorts (downloads)", endpoint="cohorts",
           rows="cohorts", label="cohort", kind="matrix", query=(("grain", "month"),)),
)))  # fmt: skip

page_register(Page(slug="funnel", title="Inline funnel", widgets=(
    Widget(id="funnel-steps", title="Inline query → chosen / Watch → download (24 h)",
           endpoint="funnel", rows="steps", label="step",
           series=(("users", "Users"), ("step_percent", "From previous %"),
                   ("overall_percent", "Overall %"), ("median_seconds", "Median s")),
           kind="bar",
           description="Per user: their first inline query in the period, then a chosen "
           "result or \"Watch video\" click after it, then a download of that video, all "
           "within the window of the query."),
    Widget(id="funnel-platform", title="By platform", endpoint="funnel", rows="by_platform",
           label="platform", series=_FUNNEL_SERIES, kind="table"),
    Widget(id="funnel-language", title="By language", endpoint="funnel", rows="by_language",
           label="language", series=_FUNNEL_SERIES, kind="table"),
)))  # fmt: skip
