"""The dashboard's ads and money section equals a recount from raw rows: impressions
and clicks from ``ad_impressions``/``ad_clicks`` (through the worker-kept rollup), Stars
from the ``payments`` table the paid tier writes and its ``payment_events`` history, paid
users from ``users.paid_until``."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from ads.models import AdCampaign, AdClick, AdImpression, Payment, PaymentEvent
from ads.payment_services import PaymentReport, payment_record, payment_revoke
from analytics.events import AdClicked, AdShown
from analytics.rollups import rollups_rebuild
from sandbox import analytics_seed
from tests.dashboard.conftest import store
from tests.dashboard.recount import bounds
from users.models import BotUser

from .conftest import campaign_make, user_make

pytestmark = pytest.mark.django_db(transaction=True)

TIME_ZONES = ("UTC", "Europe/Moscow", "America/New_York")
RANGES = (
    (dt.date(2026, 3, 1), dt.date(2026, 3, 12)),
    (dt.date(2026, 3, 8), dt.date(2026, 3, 8)),  # New York's switch to summer time
    (dt.date(2026, 3, 3), dt.date(2026, 3, 4)),
)
USERS = range(1, 10)


def ad_events(campaigns: list[int]) -> list:
    rng = random.Random(7)
    events = []
    for n in range(160):
        # Around midnight in UTC, Moscow (21:00 UTC) and New York (05:00, then 04:00 UTC).
        at = dt.datetime(2026, 3, 1 + n % 12, (0, 21, 4, 5)[n % 4], tzinfo=dt.UTC)
        at -= dt.timedelta(minutes=rng.randint(-50, 50))
        shown = AdShown(
            user_id=USERS[n % 9], campaign_id=rng.choice(campaigns), occurred_at=at,
            surface="private",
        )  # fmt: skip
        events.append(shown)
        if rng.random() < 0.3:
            click = AdClicked(
                impression_id=shown.event_id,
                user_id=shown.user_id,
                campaign_id=shown.campaign_id,
                occurred_at=at + dt.timedelta(minutes=rng.randint(1, 90)),
            )
            events.append(click)
            if rng.random() < 0.3:  # a second press of the same button: one click
                events.append(
                    AdClicked(
                        impression_id=shown.event_id, user_id=shown.user_id,
                        campaign_id=shown.campaign_id,
                        occurred_at=click.occurred_at + dt.timedelta(minutes=2),
                    )
                )  # fmt: skip
    return events


def payments_make() -> None:
    """Payments and refunds through the paid tier's own services, around midnights;
    their events reach ``payment_events`` through the worker (``store``)."""
    for n in range(8):
        at = dt.datetime(2026, 3, 2 + n, 20, 59, tzinfo=dt.UTC) + dt.timedelta(minutes=n % 2 * 2)
        payment_record(
            report=PaymentReport(
                user_id=USERS[n % 4], payload=f"premium:once:seed{n}", currency="XTR",
                total_amount=100 + 25 * n, telegram_payment_charge_id=f"charge-{n}",
            ),
            now=at,
        )  # fmt: skip
    # Refunded later, on a day of its own (the refund counts when it is made).
    payment_revoke(charge_id="charge-0", by="admin", now=dt.datetime(2026, 3, 8, 7, tzinfo=dt.UTC))
    payment_revoke(charge_id="charge-5", by="admin", now=dt.datetime(2026, 3, 11, 0, tzinfo=dt.UTC))
    # One running now: a paid user today.
    payment_record(
        report=PaymentReport(
            user_id=USERS[5], payload="premium:once:now", currency="XTR", total_amount=250,
            telegram_payment_charge_id="charge-now",
        ),
    )  # fmt: skip


@pytest.fixture
def owner(client, django_user_model):
    user = django_user_model.objects.create_user("owner", password="pw-owner-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client.force_login(user)
    return client


@pytest.fixture
def ads_dataset():
    for user_id in USERS:
        user_make(user_id)
    campaigns = [campaign_make(f"Campaign{n}").pk for n in range(3)]
    payments_make()
    events = ad_events(campaigns)
    store(events)  # also drains the payments' events
    return events


def api(client, **params):
    response = client.get("/dashboard/api/ads", params)
    assert response.status_code == 200, response.content
    return response.json()


def stars_recount(low: dt.datetime, high: dt.datetime) -> dict:
    """From the ``payments`` table: paid in the period, refunded in the period."""
    paid = Payment.objects.filter(paid_at__gte=low, paid_at__lt=high)
    refunded = Payment.objects.filter(refunded_at__gte=low, refunded_at__lt=high)
    revenue = paid.aggregate(s=Sum("stars"))["s"] or 0
    back = refunded.aggregate(s=Sum("stars"))["s"] or 0
    return {
        "stars_revenue": revenue,
        "stars_refunded": back,
        "stars_net": revenue - back,
        "payments": paid.count(),
        "paying_users": paid.values("user_id").distinct().count(),
    }


@pytest.mark.parametrize("tz", TIME_ZONES)
def test_ads_and_money_equal_a_recount(owner, ads_dataset, tz):
    assert PaymentEvent.objects.count() == Payment.objects.count() + 2  # two refunds
    for start, end in RANGES:
        answer = api(owner, start=start, end=end, tz=tz)
        low, high = bounds(start, end, tz)
        shown = AdImpression.objects.filter(created_at__gte=low, created_at__lt=high)
        clicked = AdClick.objects.filter(created_at__gte=low, created_at__lt=high)
        expected = []
        for campaign in AdCampaign.objects.all():
            n_shown = shown.filter(campaign_id=campaign.pk).count()
            n_clicked = clicked.filter(campaign_id=campaign.pk).count()
            if n_shown or n_clicked:
                ctr = round(n_clicked * 100 / n_shown, 2) if n_shown else 0.0
                expected.append((campaign.pk, campaign.name, n_shown, n_clicked, ctr))
        expected.sort(key=lambda row: (-row[2], row[0]))
        assert [
            (c["campaign_id"], c["name"], c["impressions"], c["clicks"], c["ctr_percent"])
            for c in answer["campaigns"]
        ] == expected, (start, end)
        assert answer["impressions"] == shown.count()
        assert answer["clicks"] == clicked.count()
        stars = stars_recount(low, high)
        assert {key: answer[key] for key in stars} == stars, (start, end)
        # The stream's history says the same as the payments table.
        history = PaymentEvent.objects.filter(created_at__gte=low, created_at__lt=high)
        assert answer["stars_net"] == (history.aggregate(s=Sum("stars"))["s"] or 0)
        assert (
            answer["paid_users_now"]
            == BotUser.objects.filter(paid_until__gt=timezone.now()).count()
        )
        assert answer["paid_users_now"] == 1
        day = start
        for row in answer["days"]:
            assert row["date"] == day.isoformat()
            day_low, day_high = bounds(day, day, tz)
            assert (
                row["impressions"]
                == shown.filter(created_at__gte=day_low, created_at__lt=day_high).count()
            )
            assert (
                row["clicks"]
                == clicked.filter(created_at__gte=day_low, created_at__lt=day_high).count()
            )
            assert row["stars"] == stars_recount(day_low, day_high)["stars_net"]
            day += dt.timedelta(days=1)
        assert day == end + dt.timedelta(days=1)


def test_the_dataset_reaches_every_figure(owner, ads_dataset):
    answer = api(owner, start="2026-03-01", end="2026-03-12", tz="Europe/Moscow")
    assert len(answer["campaigns"]) == 3
    assert answer["clicks"] > 10
    assert answer["stars_refunded"] > 0 and answer["paying_users"] == 4
    # Two presses of one button are one click.
    presses = [e for e in ads_dataset if isinstance(e, AdClicked)]
    assert AdClick.objects.count() == len({e.impression_id for e in presses}) < len(presses)


def hourly() -> list:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT hour, campaign_id, impressions, clicks FROM ad_stats_hourly ORDER BY 1, 2"
        )
        return cursor.fetchall()


def test_redelivered_ad_events_change_nothing_and_a_rebuild_agrees(ads_dataset):
    kept = hourly()
    assert kept and sum(row[2] for row in kept) == AdImpression.objects.count()

    store(ads_dataset)
    assert hourly() == kept

    rollups_rebuild()
    assert hourly() == kept


def test_a_batch_half_stored_before_counts_only_its_new_rows(ads_dataset):
    kept = hourly()
    campaign = ads_dataset[0].campaign_id
    at = dt.datetime(2026, 3, 5, 12, 30, tzinfo=dt.UTC)
    new = AdShown(user_id=1, campaign_id=campaign, occurred_at=at, surface="group")
    store([*ads_dataset[:40], new])
    expected = {(row[0], row[1]): list(row[2:]) for row in kept}
    expected.setdefault((at.replace(minute=0), campaign), [0, 0])[0] += 1
    assert {(row[0], row[1]): list(row[2:]) for row in hourly()} == expected


def test_a_click_of_an_unknown_impression_still_counts_once(owner, ads_dataset):
    click = AdClicked(
        impression_id=uuid.uuid4(),
        user_id=3,
        campaign_id=ads_dataset[0].campaign_id,
        occurred_at=dt.datetime(2026, 3, 3, 12, tzinfo=dt.UTC),
    )
    store([click, click])
    answer = api(owner, start="2026-03-03", end="2026-03-03", tz="UTC")
    assert answer["clicks"] == AdClick.objects.filter(created_at__date=dt.date(2026, 3, 3)).count()


def test_a_cached_answer_is_dropped_when_new_impressions_or_payments_arrive(
    owner, ads_dataset, settings
):
    settings.DASHBOARD_CACHE_SECONDS = 300
    params = {"start": "2026-03-05", "end": "2026-03-05", "tz": "UTC"}
    first = api(owner, **params)
    at = dt.datetime(2026, 3, 5, 10, tzinfo=dt.UTC)
    store([AdShown(user_id=2, campaign_id=ads_dataset[0].campaign_id, occurred_at=at,
                   surface="private")], refresh=False)  # fmt: skip
    second = api(owner, **params)
    assert second["impressions"] == first["impressions"] + 1

    payment_record(
        report=PaymentReport(
            user_id=2, payload="premium:once:late", currency="XTR", total_amount=77,
            telegram_payment_charge_id="charge-late",
        ),
        now=at,
    )  # fmt: skip
    store([], refresh=False)
    assert api(owner, **params)["stars_revenue"] == second["stars_revenue"] + 77


def test_the_seeded_ads_and_payments_are_the_dashboards(owner, monkeypatch):
    monkeypatch.setattr(analytics_seed, "SAFE_NAME_PARTS", ("test_",))
    end = dt.date(2026, 3, 20)
    analytics_seed.seed_run(
        analytics_seed.SeedPlan(users=300, downloads=4000, days=40, end=end), say=lambda _: None
    )
    assert AdImpression.objects.exists() and AdClick.objects.exists()
    # The seeded paid tier is consistent: the history mirrors the payments, and only
    # payers have a paid period.
    refunded = Payment.objects.filter(status="refunded")
    assert PaymentEvent.objects.count() == Payment.objects.count() + refunded.count()
    assert not BotUser.objects.filter(paid_until__isnull=False, payments__isnull=True).exists()
    for tz in ("UTC", "Europe/Moscow"):
        start = end - dt.timedelta(days=29)
        low, high = bounds(start, end, tz)
        answer = api(owner, start=start, end=end, tz=tz)
        shown = AdImpression.objects.filter(created_at__gte=low, created_at__lt=high)
        clicked = AdClick.objects.filter(created_at__gte=low, created_at__lt=high)
        assert (answer["impressions"], answer["clicks"]) == (shown.count(), clicked.count())
        assert {c["name"]: c["impressions"] for c in answer["campaigns"]} == {
            campaign.name: shown.filter(campaign=campaign).count()
            for campaign in AdCampaign.objects.all()
        }
        stars = stars_recount(low, high)
        assert {key: answer[key] for key in stars} == stars
        assert answer["paying_users"] > 0
