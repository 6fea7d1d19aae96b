"""The ads' delivery policy against the seam's dataclasses."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import async_to_sync

from ads.policy import ad_policy
from analytics.events import AdShown
from downloads.policy import DeliveryContext
from tests.ads.conftest import campaign_make, user_make
from tests.e2e.published import published

pytestmark = pytest.mark.django_db(transaction=True)


def context(chat_type: str, user_id: int = 31, language: str = "en") -> DeliveryContext:
    return DeliveryContext(
        user_id=user_id, language=language, chat_id=None if chat_type == "inline" else user_id,
        chat_type=chat_type, source={"private": "message"}.get(chat_type, chat_type),
        media_key="youtube:dQw4w9WgXcQ", fmt="720p", cached=True,
    )  # fmt: skip


def plan_for(ctx: DeliveryContext):
    return async_to_sync(ad_policy)(ctx)


def test_it_follows_a_delivery_past_the_quota_with_one_labelled_ad(settings):
    settings.FREE_DOWNLOADS = 1
    user_make(31)
    campaign = campaign_make("Tea", advertiser="Tea Ltd", ad_marking="erid: 9")
    assert plan_for(context("private")) is None
    plan = plan_for(context("private"))
    (follow_up,) = plan.follow_ups
    assert follow_up.text == "<i>Ad · Tea Ltd · erid: 9</i>\n\n<b>Tea</b> for everyone"
    (button,) = follow_up.buttons
    assert button.text == "Buy" and button.url.startswith("https://bot.example.org/ads/click/")
    assert not plan.media_buttons and not published(AdShown)
    follow_up.on_sent()
    (shown,) = published(AdShown)
    assert (shown.user_id, shown.campaign_id, shown.surface) == (31, campaign.pk, "private")
    follow_up.on_failed(RuntimeError("Bad Request: can't parse entities"))  # only logged


def test_it_puts_a_labelled_button_under_an_inline_result_past_the_quota(settings):
    settings.FREE_DOWNLOADS = 0
    user_make(32, language="es")
    campaign_make("Tea")
    plan = plan_for(context("inline", user_id=32, language="es"))
    (button,) = plan.media_buttons
    assert button.text == "Anuncio · Buy"
    assert not plan.follow_ups
    (shown,) = published(AdShown)  # served with the result: Telegram sends the picked one
    assert (shown.surface, shown.language) == ("inline", "es")


def test_it_never_shows_ads_in_groups_or_to_paid_users(settings):
    settings.FREE_DOWNLOADS = 0
    user_make(33)
    user_make(34, paid_until=dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=30))
    campaign_make("Tea")
    assert plan_for(context("group", user_id=33)) is None
    assert plan_for(context("private", user_id=34)) is None
    assert plan_for(context("private", user_id=33)) is not None
