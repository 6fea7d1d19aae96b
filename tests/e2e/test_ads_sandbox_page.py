"""A person in the sandbox uses up the free downloads, sees an ad and clicks it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from ads.models import AdClick
from ads.selectors import campaigns_forget
from tests.ads.conftest import campaign_make
from tests.e2e.published import wait_until
from tests.e2e.test_ads import drain
from tests.e2e.test_sandbox_page import sandbox, start_chat, type_and_send

assert sandbox  # the fixture, shared with the sandbox page's tests

REEL = "https://www.instagram.com/reel/C0ffeeReel1/"
SHOP = "https://tea.example.com/offer"


@pytest.fixture
def tea(sandbox, live_server, settings):
    """Made before the page: Playwright's event loop then forbids the ORM in this thread."""
    settings.FREE_DOWNLOADS = 1
    settings.PUBLIC_BASE_URL = live_server.url
    campaigns_forget()
    return campaign_make("Tea", advertiser="Tea Ltd", button_url=SHOP)


def clicked() -> bool:
    try:
        drain()
        return AdClick.objects.exists()
    finally:
        connection.close()  # this thread's own connection


@pytest.mark.browser
def test_a_person_sees_an_ad_after_the_free_downloads_and_clicks_it(
    sandbox, tea, live_server, page
):
    # The redirect is fetched for real; the advertiser's site is not visited (no request
    # may leave the machine): the browser is shown where it would have gone.
    redirects = []

    def follow(route):
        response = route.fetch(max_redirects=0)
        redirects.append((response.status, response.headers.get("location")))
        route.fulfill(status=200, content_type="text/html", body="<p>on to the shop</p>")

    page.context.route(f"{live_server.url}/ads/click/*", follow)
    start_chat(page, sandbox[0])
    type_and_send(page, REEL)
    page.locator(".msg.bot video").first.wait_for()
    type_and_send(page, REEL)
    ad = page.locator(".msg.bot", has_text="Ad · Tea Ltd")
    ad.wait_for()
    assert page.locator(".msg.bot", has_text="Ad · ").count() == 1  # the first video had none
    with page.expect_popup() as popup:
        ad.locator("button", has_text="Buy").click()
    popup.value.wait_for_load_state()
    assert "on to the shop" in popup.value.content()
    assert redirects == [(302, SHOP)]
    with ThreadPoolExecutor(1) as thread:
        assert wait_until(lambda: thread.submit(clicked).result(), timeout=30)
