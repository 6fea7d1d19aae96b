"""A staff member opens the dashboard in headless Chromium and every chart draws."""

from __future__ import annotations

import pytest
from django.conf import settings

from analytics.dashboard.pages import PAGES

pytestmark = pytest.mark.django_db(transaction=True)

# A canvas is drawn when some pixel is not fully transparent.
DRAWN = """(canvas) => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
  return false;
}"""


def login(page, live_server, client) -> None:
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}
    page.context.add_cookies([cookie])


def open_page(page, live_server, path: str) -> None:
    page.goto(live_server.url + path)
    page.wait_for_selector("body[data-ready='1']")


def test_every_chart_of_every_page_draws(dataset, staff_client, live_server, page):
    login(page, live_server, staff_client)
    query = "?start=2026-03-01&end=2026-03-14&tz=America/New_York"
    for slug, spec in PAGES.items():
        open_page(page, live_server, f"/dashboard/{slug}/{query}")
        assert not page.locator(".error").count(), page.locator(".error").all_inner_texts()
        charts = [w for w in spec.widgets if w.kind not in ("table", "cards")]
        canvases = page.locator("canvas")
        assert canvases.count() == len(charts), slug
        for index in range(canvases.count()):
            assert canvases.nth(index).evaluate(DRAWN), f"{slug}: chart {index} is blank"
        assert page.locator("table.data").count() == len(spec.widgets)


def test_the_overview_shows_the_numbers_and_tables_export_csv(
    dataset, staff_client, live_server, page
):
    login(page, live_server, staff_client)
    open_page(page, live_server, "/dashboard/?start=2026-03-01&end=2026-03-14&tz=UTC")
    table = page.locator("#downloads-daily table.data")
    assert table.locator("tbody tr").count() == 14
    assert table.locator("thead th").all_inner_texts() == ["Date", "Downloads", "New users"]
    with page.expect_download() as download_info:
        page.locator("#downloads-daily button.csv").click()
    path = download_info.value.path()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Date,Downloads,New users"
    assert lines[1].startswith("2026-03-01,")
    assert len(lines) == 15
