"""The dashboard's pages: a registry of pages, each a list of widgets that the page's
script (``static/dashboard/dashboard.js``) fills from the JSON API.

A widget names an API endpoint, where its rows are in the answer (``rows``), the
column that labels them (``label``) and the series to draw (``series``: answer key and
title). Every chart gets an accessible table of the same rows beside it, and every
table a CSV download.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from analytics.rollups import dashboard_time_zones

from .access import staff_page
from .params import ParamError, period_parse, today_in


@dataclasses.dataclass(frozen=True)
class Widget:
    id: str
    title: str
    endpoint: str
    rows: str = ""  # key of the list of rows in the answer
    label: str = "date"  # the column that labels a row (x axis)
    series: tuple[tuple[str, str], ...] = ()  # (answer key, title)
    kind: str = "line"  # line, bar, doughnut: a chart and its table; table; cards; matrix
    query: tuple[tuple[str, str], ...] = ()  # extra query parameters
    link: str = ""  # a row key holding a URL for the label column
    description: str = ""

    def spec(self) -> dict[str, Any]:
        spec = dataclasses.asdict(self)
        spec["series"] = [{"key": key, "title": title} for key, title in self.series]
        spec["query"] = dict(self.query)
        return spec


@dataclasses.dataclass(frozen=True)
class Page:
    slug: str
    title: str
    widgets: tuple[Widget, ...]


PAGES: dict[str, Page] = {}


def page_register(page: Page) -> Page:
    PAGES[page.slug] = page
    return page


page_register(
    Page(
        slug="overview",
        title="Overview",
        widgets=(
            Widget(id="cards", title="Today, 7 and 30 days", endpoint="overview", kind="cards"),
            Widget(
                id="downloads-daily", title="Downloads per day", endpoint="daily", rows="days",
                series=(("downloads", "Downloads"), ("new_users", "New users")), kind="bar",
            ),
            Widget(
                id="active-daily", title="Active users", endpoint="daily", rows="days",
                series=(("active_users", "DAU"), ("wau", "WAU"), ("mau", "MAU")),
                description="Users with at least one download that day, and in the 7 and "
                "30 days ending that day.",
            ),
        ),
    )
)  # fmt: skip

page_register(
    Page(
        slug="videos",
        title="Videos and platforms",
        widgets=(
            Widget(
                id="top-videos", title="Top videos", endpoint="top-videos", rows="videos",
                label="title", series=(("downloads", "Downloads"), ("platform", "Platform"),
                                       ("video_id", "Video")),
                kind="table", query=(("limit", "25"),), link="url",
            ),
            Widget(
                id="top-videos-chart", title="Top 10 videos", endpoint="top-videos",
                rows="videos", label="video_id", series=(("downloads", "Downloads"),),
                kind="bar", query=(("limit", "10"),),
            ),
            Widget(
                id="platform-shares", title="Platforms", endpoint="platforms", rows="platforms",
                label="platform", series=(("downloads", "Downloads"),
                                          ("share_percent", "Share, %")),
                kind="doughnut",
            ),
            Widget(
                id="platform-daily", title="Downloads per platform and day", endpoint="platforms",
                rows="days", series=(("youtube", "YouTube"), ("instagram", "Instagram"),
                                     ("tiktok", "TikTok")),
            ),
        ),
    )
)  # fmt: skip


@staff_page
def page_view(request: HttpRequest, slug: str = "overview") -> HttpResponse:
    page = PAGES.get(slug)
    if page is None:
        raise Http404(f"no dashboard page {slug!r}")
    try:
        period = period_parse(request.GET)
        error = ""
    except ParamError as exc:
        period, error = period_parse({}), str(exc)
    spec = {
        "api": reverse("dashboard:api", args=["_"]).removesuffix("_"),
        "query": period.as_query(),
        "today": today_in(period.tz).isoformat(),
        "widgets": [widget.spec() for widget in page.widgets],
    }
    presets = [(label, (period.end - dt.timedelta(days=days - 1)).isoformat())
               for label, days in (("7 days", 7), ("30 days", 30), ("90 days", 90),
                                   ("365 days", 365))]  # fmt: skip
    context = {
        "page": page,
        "pages": PAGES.values(),
        "period": period,
        "error": error,
        "time_zones": dashboard_time_zones(),
        "default_tz": settings.DASHBOARD_TIME_ZONE,
        "presets": presets,
        "spec": spec,
    }
    return render(request, "dashboard/page.html", context, status=400 if error else 200)
