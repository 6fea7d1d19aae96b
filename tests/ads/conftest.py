from __future__ import annotations

import datetime as dt

import pytest

from ads import fast_redis
from ads.models import AdCampaign
from ads.selectors import campaigns_forget
from analytics.publisher import breaker_reset
from users.models import BotUser

AT = dt.datetime.now(tz=dt.UTC)


@pytest.fixture(autouse=True)
def _fresh_state(settings, tmp_path):
    settings.ANALYTICS_SPOOL_DIR = str(tmp_path / "spool")
    settings.PUBLIC_BASE_URL = "https://bot.example.org"
    campaigns_forget()
    fast_redis.breaker_reset()
    breaker_reset()
    yield
    campaigns_forget()
    fast_redis.breaker_reset()
    breaker_reset()


def user_make(user_id: int, **fields) -> BotUser:
    return BotUser.objects.create(
        user_id=user_id,
        first_seen_at="2026-01-01T00:00Z",
        last_seen_at="2026-01-01T00:00Z",
        language_code="en",
        **fields,
    )


def campaign_make(name: str = "Shoes", **fields) -> AdCampaign:
    values = {
        "message": f"<b>{name}</b> for everyone",
        "button_text": "Buy",
        "button_url": f"https://shop.example.com/{name.lower().replace(' ', '-')}",
        "weight": 1,
    }
    values.update(fields)
    campaign = AdCampaign(name=name, **values)
    campaign.full_clean()
    campaign.save()
    campaigns_forget()
    return campaign
