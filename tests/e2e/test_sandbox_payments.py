"""Buying premium on the sandbox chat page: headless Chromium, the real bot behind it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from ads.models import Payment, StarSubscription
from tests.e2e.conftest import ALICE
from tests.e2e.test_sandbox_page import open_chat, sandbox, type_and_send
from users.models import BotUser

assert sandbox  # the fixture, used by name


def in_thread(query):
    """Run a database query outside Playwright's event loop (Django refuses sync ORM
    calls in a thread with a running loop)."""

    def run():
        try:
            return query()
        finally:
            connections.close_all()  # the thread's own connection, or teardown waits on it

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


@pytest.mark.browser
def test_a_person_buys_premium_and_a_subscription_with_the_pay_button(sandbox, settings, page):
    settings.PREMIUM_STARS, settings.PREMIUM_SUBSCRIPTION_STARS = 100, 90
    telegram, _site = sandbox
    page.on("dialog", lambda dialog: dialog.accept())  # Telegram's "Pay?" confirmation
    open_chat(page, telegram)
    type_and_send(page, "/premium")
    invoice = page.locator(".msg.bot", has=page.locator(".invoice"))
    invoice.wait_for()
    assert "100 Stars" in invoice.inner_text()

    invoice.locator("button.pay").click()
    page.locator(".service", has_text="You paid ⭐100").wait_for()
    page.locator(".msg.bot", has_text="Premium is active until").wait_for()
    assert in_thread(lambda: Payment.objects.get(user_id=ALICE).stars) == 100
    assert in_thread(lambda: BotUser.objects.get(pk=ALICE).is_paid)

    page.locator(".msg.bot button", has_text="Subscribe: 90 Stars a month").click()
    page.locator(".service", has_text="You paid ⭐90").wait_for()
    page.locator(".msg.bot", has_text="Premium is active until").nth(1).wait_for()  # recorded
    assert in_thread(lambda: StarSubscription.objects.filter(user_id=ALICE).exists())
    page.locator("#chat-controls button", has_text="Renew subscription now").click()
    page.locator(".service", has_text="subscription renewed").wait_for()
    page.locator(".msg.bot", has_text="subscription was renewed").wait_for()
    assert in_thread(lambda: Payment.objects.filter(user_id=ALICE).count()) == 3
