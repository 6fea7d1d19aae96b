"""The sandbox chat page shares a location through a ``request_location`` reply button."""

from __future__ import annotations

import pytest

from sandbox.telegram_api import TelegramApiDouble
from tests.sandbox.test_chat_page import ALICE, FakeBot


class LocationBot(FakeBot):
    """Offers a location button on any text; answers a location with its latitude."""

    def _handle(self, update: dict) -> None:
        message = update.get("message") or {}
        if location := message.get("location"):
            self.call("sendMessage", chat_id=message["chat"]["id"],
                      text=f"Got {location['latitude']:.2f}",
                      reply_markup={"remove_keyboard": True})  # fmt: skip
        elif message.get("text"):
            button = {"text": "Share my location", "request_location": True}
            self.call("sendMessage", chat_id=message["chat"]["id"], text="Where are you?",
                      reply_markup={"keyboard": [[button]], "one_time_keyboard": True})  # fmt: skip


def test_the_double_refuses_a_point_off_the_globe():
    with TelegramApiDouble() as double, pytest.raises(ValueError, match="latitude"):
        double.push_private_location(ALICE, latitude=91.0, longitude=0.0)


@pytest.mark.browser
def test_a_person_shares_a_location_from_the_reply_keyboard(page):
    with TelegramApiDouble() as double, LocationBot(double):
        page.goto(double.page_url)
        page.wait_for_selector("body[data-ready='1']")
        page.fill("#text", "/settings")
        page.click("#send")
        page.locator(".msg.bot", has_text="Where are you?").wait_for()
        page.once("dialog", lambda dialog: dialog.accept("50.45, 30.52"))
        page.locator("#reply-keyboard button", has_text="Share my location").click()
        page.locator(".msg.mine", has_text="Location 50.4500, 30.5200").wait_for()
        page.locator(".msg.bot", has_text="Got 50.45").wait_for()
        assert page.locator("#reply-keyboard button").count() == 0
    shared = [m["location"] for m in double.messages(ALICE) if "location" in m]
    assert shared == [{"latitude": 50.45, "longitude": 30.52}]
