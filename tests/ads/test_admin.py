"""The back office: validation errors, the preview, pause/resume, import/export, CTR."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import tablib
from django.urls import reverse

from ads.admin import AdCampaignResource
from ads.models import AdCampaign, AdClick, AdImpression
from tests.ads.conftest import campaign_make

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Tea",
    "advertiser": "Tea Ltd",
    "message": "<b>Green tea</b>, 20% off",
    "button_text": "Shop",
    "button_url": "https://tea.example.com/",
    "is_active": "on",
    "weight": "2",
    "languages": "en,es",
    "ad_marking": "erid: 2VtzqwXyZ1",
    "creatives-TOTAL_FORMS": "0",
    "creatives-INITIAL_FORMS": "0",
}


def add(admin_client, **changes):
    data = {**VALID, **changes}
    return admin_client.post(reverse("admin:ads_adcampaign_add"), data)


def errors_of(response) -> str:
    return str(response.context["adminform"].form.errors)


def test_it_saves_a_valid_campaign(admin_client):
    assert add(admin_client).status_code == 302
    assert AdCampaign.objects.get().languages == "en,es"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"button_url": "http://tea.example.com/"}, "https://"),
        ({"button_url": "javascript:alert(1)"}, "https://"),
        ({"weight": "0"}, "greater than or equal to 1"),
        ({"message": "<div>tea</div>"}, "not a tag Telegram supports"),
        ({"message": "<b>tea"}, "never closed"),
        ({"message": '<a href="http://x.example.com">x</a>'}, "must be https"),
        ({"message": "tea & cake"}, "bare"),
        ({"message": "x" * 1025}, "at most 1024"),
        ({"message": "<b> </b>"}, "no visible text"),
        ({"button_text": "x" * 41}, "at most 40"),
        ({"languages": "en,fr"}, "Unknown languages: fr"),
        ({"daily_impression_cap": "0"}, "greater than or equal to 1"),
        ({"starts_at_0": "2026-12-02", "starts_at_1": "00:00",
          "ends_at_0": "2026-12-01", "ends_at_1": "00:00"}, "end after it starts"),
    ],
)  # fmt: skip
def test_it_refuses_what_telegram_or_the_rotation_cannot_use(admin_client, changes, error):
    response = add(admin_client, **changes)
    assert response.status_code == 200
    assert error in errors_of(response)
    assert not AdCampaign.objects.exists()


def test_it_previews_the_ad_as_telegram_shows_it(admin_client):
    campaign = campaign_make("Tea", advertiser="Tea Ltd", ad_marking="erid: 123",
                             message="<b>Green</b>\n<tg-spoiler>secret</tg-spoiler>")  # fmt: skip
    page = admin_client.get(reverse("admin:ads_adcampaign_change", args=[campaign.pk]))
    html = page.content.decode()
    assert "Ad · Tea Ltd · erid: 123" in html
    assert "<b>Green</b><br><tg-spoiler>secret</tg-spoiler>" in html
    assert "Buy" in html


def test_it_pauses_and_resumes(admin_client):
    first, second = campaign_make("One"), campaign_make("Two")
    url = reverse("admin:ads_adcampaign_changelist")
    admin_client.post(url, {"action": "pause", "_selected_action": [first.pk, second.pk]})
    assert not AdCampaign.objects.filter(is_active=True).exists()
    admin_client.post(url, {"action": "resume", "_selected_action": [first.pk]})
    assert list(AdCampaign.objects.filter(is_active=True)) == [first]


def test_it_shows_impressions_clicks_and_ctr(admin_client):
    campaign = campaign_make("Tea")
    now = dt.datetime.now(tz=dt.UTC)
    impressions = [uuid.uuid4() for _ in range(4)]
    for impression in impressions:
        AdImpression.objects.create(impression_id=impression, campaign=campaign, user_id=1,
                                    surface="private", created_at=now)  # fmt: skip
    AdClick.objects.create(impression_id=impressions[0], event_id=uuid.uuid4(),
                           campaign=campaign, user_id=1, created_at=now)  # fmt: skip
    page = admin_client.get(reverse("admin:ads_adcampaign_changelist")).content.decode()
    assert '<td class="field-impressions">4</td>' in page
    assert '<td class="field-clicks">1</td>' in page
    assert "25.00%" in page


def test_it_exports_and_imports_campaigns_validating_them():
    campaign_make("Tea", languages="es")
    dataset = AdCampaignResource().export()
    assert dataset.dict[0]["languages"] == "es"
    AdCampaign.objects.all().delete()
    assert not AdCampaignResource().import_data(dataset, dry_run=False).has_validation_errors()
    assert AdCampaign.objects.get().name == "Tea"

    row = {**dataset.dict[0], "id": "", "name": "Plain", "button_url": "http://plain.example.com"}
    result = AdCampaignResource().import_data(
        tablib.Dataset(list(row.values()), headers=list(row)), dry_run=False
    )
    assert result.has_validation_errors()
    assert list(AdCampaign.objects.values_list("name", flat=True)) == ["Tea"]
