"""Impressions and the click redirect: logged once, 302 to the campaign, 404 otherwise."""

from __future__ import annotations

import time
import uuid

import pytest
from django.core import signing

from ads.models import AdClick, AdImpression
from ads.services import ad_decide, ad_shown
from ads.tokens import ClickClaim, click_url
from analytics.worker import Worker
from tests.ads.conftest import AT, campaign_make, user_make

pytestmark = pytest.mark.django_db(transaction=True)


def drain() -> None:
    worker = Worker(consumer="test", block_ms=50)
    for _ in range(50):
        if not worker.step().read:
            return


@pytest.fixture
def shown_ad(settings):
    settings.FREE_DOWNLOADS = 0
    user_make(21)
    campaign = campaign_make("Tea", button_url="https://tea.example.com/offer?x=1")
    ad = ad_decide(user_id=21, language="en", surface="private", media_key="youtube:x", at=AT).ad
    ad_shown(ad)
    return campaign, ad


def path_of(url: str) -> str:
    return url.removeprefix("https://bot.example.org")


def test_it_stores_an_impression_once_and_redirects_every_click_logging_the_first(client, shown_ad):
    campaign, ad = shown_ad
    assert ad.url.startswith("https://bot.example.org/ads/click/")
    first = client.get(path_of(ad.url))  # before the worker stored the impression
    assert first.status_code == 302 and first["Location"] == campaign.button_url
    ad_shown(ad)  # the same impression published again
    drain()
    assert list(AdImpression.objects.values_list("impression_id", "campaign_id", "user_id")) == [
        (ad.impression_id, campaign.pk, 21)
    ]
    for _ in range(3):
        assert client.get(path_of(ad.url)).status_code == 302
    drain()
    assert list(AdClick.objects.values_list("impression_id", "user_id")) == [(ad.impression_id, 21)]


def test_it_refuses_tampered_expired_and_unknown_tokens(client, shown_ad, monkeypatch, settings):
    campaign, ad = shown_ad
    token = path_of(ad.url).rsplit("/", 1)[1]
    value, _sep, signature = token.rpartition(":")
    other = value.replace(f".{campaign.pk}.", f".{campaign.pk + 1}.")
    for bad in (
        f"{value}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{other}:{signature}",
        "https:%2F%2Fevil.example.com",
        "",
    ):
        response = client.get(f"/ads/click/{bad}")
        assert response.status_code == 404, bad
        assert "Location" not in response
    never_shown = ClickClaim(uuid.uuid4(), campaign.pk, 21)
    assert client.get(path_of(click_url(never_shown))).status_code == 404
    later = time.time() + settings.ADS_CLICK_TOKEN_MAX_AGE_DAYS * 86400 + 5
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert client.get(path_of(ad.url)).status_code == 404
    drain()
    assert not AdClick.objects.exists()
