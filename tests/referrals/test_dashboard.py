"""The dashboard's referrals section equals a recount from the referrals tables."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.rollups import rollups_refresh
from referrals import dashboard
from referrals.models import (
    BonusReason,
    Referral,
    ReferralBonus,
    Referrer,
    referral_code_normalize,
)
from sandbox import analytics_seed
from tests.dashboard.recount import bounds
from users.models import BotUser

pytestmark = pytest.mark.django_db

TIME_ZONES = ("UTC", "Europe/Moscow", "America/New_York")


@pytest.fixture
def owner(client, django_user_model):
    user = django_user_model.objects.create_user("owner", password="pw-owner-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client.force_login(user)
    return client


def user(user_id: int, username: str = "") -> BotUser:
    return BotUser.objects.create(
        user_id=user_id,
        username=username,
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )


@pytest.fixture
def referrals():
    alice, bob = user(1, "alice"), user(2, "bob")
    for n in range(24):
        friend = user(100 + n)
        # around midnight in UTC (00:00), Moscow (21:00) and New York (04:00/05:00 UTC)
        at = dt.datetime(2026, 3, 1 + n // 3, (0, 21, 5)[n % 3], tzinfo=dt.UTC)
        at -= dt.timedelta(minutes=20 * (n % 4))
        referral = Referral.objects.create(
            referrer=alice if n % 3 else bob,
            referred_user=friend,
            created_at=at,
            activated_at=at + dt.timedelta(hours=n % 5) if n % 2 else None,
        )
        if referral.activated_at:
            grant = ReferralBonus.objects.create(
                user_id=referral.referrer_id,
                amount=5,
                reason=BonusReason.REFERRAL,
                referral=referral,
                created_at=referral.activated_at,
            )
            if n % 7 == 1:
                ReferralBonus.objects.create(
                    user_id=referral.referrer_id,
                    amount=-5,
                    reason=BonusReason.REVOCATION,
                    revokes=grant,
                    note="abuse",
                    created_at=at + dt.timedelta(days=1),
                )
    rollups_refresh()


@pytest.mark.parametrize("tz", TIME_ZONES)
def test_referrals_equal_a_recount(owner, referrals, tz):
    for start, end in [
        (dt.date(2026, 3, 1), dt.date(2026, 3, 10)),
        (dt.date(2026, 3, 3), dt.date(2026, 3, 4)),
    ]:
        response = owner.get("/dashboard/api/referrals", {"start": start, "end": end, "tz": tz})
        assert response.status_code == 200
        answer = response.json()
        low, high = bounds(start, end, tz)
        invited = Referral.objects.filter(created_at__gte=low, created_at__lt=high)
        activated = Referral.objects.filter(activated_at__gte=low, activated_at__lt=high)
        bonus = ReferralBonus.objects.filter(created_at__gte=low, created_at__lt=high)
        assert answer["invited"] == invited.count()
        assert answer["activated"] == activated.count()
        assert answer["bonus_paid"] == sum(b.amount for b in bonus)
        assert sum(d["invited"] for d in answer["days"]) == invited.count()
        top = answer["top_referrers"][0]
        expected = max((1, 2), key=lambda r: (invited.filter(referrer_id=r).count(), -r))
        assert top["user_id"] == expected
        assert top["invited"] == invited.filter(referrer_id=expected).count()
        assert (
            top["activated"]
            == invited.filter(referrer_id=expected, activated_at__isnull=False).count()
        )


def recount_top(start: dt.date, end: dt.date, tz: str, limit: int) -> list[tuple[int, int, int]]:
    low, high = bounds(start, end, tz)
    counts: dict[int, list[int]] = {}
    for referral in Referral.objects.filter(created_at__gte=low, created_at__lt=high):
        row = counts.setdefault(referral.referrer_id, [0, 0])
        row[0] += 1
        row[1] += referral.activated_at is not None
    ranked = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [(referrer, n, active) for referrer, (n, active) in ranked]


@pytest.mark.parametrize("direct_max", [0, 10_000])
@pytest.mark.parametrize("tz", TIME_ZONES)
def test_top_referrers_equal_a_recount_from_the_totals_or_the_rows(
    owner, referrals, monkeypatch, tz, direct_max
):
    # Referrers 3..14 bring 1..6 friends each, spread over two weeks: many totals of two
    # or more whose referrals fall partly outside a period (the candidates' case).
    for referrer_id in range(3, 15):
        user(referrer_id)
        for n in range(1 + referrer_id % 6):
            at = dt.datetime(2026, 3, 1 + (referrer_id * 3 + n * 5) % 14, (0, 21, 5)[n % 3],
                             tzinfo=dt.UTC)  # fmt: skip
            Referral.objects.create(
                referrer_id=referrer_id, referred_user=user(1000 + referrer_id * 10 + n),
                created_at=at, activated_at=at + dt.timedelta(hours=2) if n % 2 else None,
            )  # fmt: skip
    rollups_refresh()
    monkeypatch.setattr(dashboard, "DIRECT_TOP_MAX", direct_max)
    for start, end, limit in [
        (dt.date(2026, 3, 1), dt.date(2026, 3, 14), 5),
        (dt.date(2026, 3, 2), dt.date(2026, 3, 6), 3),
        (dt.date(2026, 3, 4), dt.date(2026, 3, 4), 10),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 14), 100),
    ]:
        answer = owner.get(
            "/dashboard/api/referrals", {"start": start, "end": end, "tz": tz, "limit": limit}
        ).json()
        got = [(r["user_id"], r["invited"], r["activated"]) for r in answer["top_referrers"]]
        assert got == recount_top(start, end, tz, limit)


def test_the_rollups_follow_activations_and_revocations_made_later(owner, referrals):
    start = end = dt.date(2026, 3, 2)
    before = owner.get("/dashboard/api/referrals", {"start": start, "end": end, "tz": "UTC"})
    referral = Referral.objects.filter(activated_at__isnull=True).order_by("id").first()
    referral.activated_at = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    referral.save()
    ReferralBonus.objects.create(
        user_id=referral.referrer_id, amount=5, reason=BonusReason.REFERRAL,
        referral=referral, created_at=referral.activated_at,
    )  # fmt: skip
    rollups_refresh()
    after = owner.get("/dashboard/api/referrals", {"start": start, "end": end, "tz": "UTC"}).json()
    assert after["activated"] == before.json()["activated"] + 1
    assert after["bonus_paid"] == before.json()["bonus_paid"] + 5


@pytest.mark.django_db(transaction=True)
def test_the_seeded_referrals_are_the_dashboards(owner, monkeypatch):
    monkeypatch.setattr(analytics_seed, "SAFE_NAME_PARTS", ("test_",))
    end = dt.date(2026, 3, 20)
    analytics_seed.seed_run(
        analytics_seed.SeedPlan(users=300, downloads=4000, days=40, end=end), say=lambda _: None
    )
    # Every referrer has a valid code, every activated referral its bonus line.
    referrer_ids = set(Referral.objects.values_list("referrer_id", flat=True))
    codes = dict(Referrer.objects.values_list("user_id", "code"))
    assert set(codes) == referrer_ids
    assert all(referral_code_normalize(code) == code for code in codes.values())
    activated = Referral.objects.filter(activated_at__isnull=False)
    assert (
        0 < activated.count() == ReferralBonus.objects.filter(reason=BonusReason.REFERRAL).count()
    )
    start = end - dt.timedelta(days=29)
    for tz in ("UTC", "America/New_York"):
        answer = owner.get(
            "/dashboard/api/referrals", {"start": start, "end": end, "tz": tz}
        ).json()
        low, high = bounds(start, end, tz)
        assert (
            answer["invited"]
            == Referral.objects.filter(created_at__gte=low, created_at__lt=high).count()
        )
        assert (
            answer["activated"]
            == activated.filter(activated_at__gte=low, activated_at__lt=high).count()
        )
        bonus = ReferralBonus.objects.filter(created_at__gte=low, created_at__lt=high)
        assert answer["bonus_paid"] == sum(b.amount for b in bonus)


@pytest.mark.django_db(transaction=True)
def test_a_refresh_recounts_only_when_the_referrals_moved(owner):
    alice = user(1, "alice")
    at = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    referral = Referral.objects.create(referrer=alice, referred_user=user(2), created_at=at)
    rollups_refresh()
    with CaptureQueriesContext(connection) as queries:
        rollups_refresh()
    assert not [q for q in queries if "dash_referrals_hourly" in q["sql"]]
    referral.activated_at = at + dt.timedelta(hours=1)
    referral.save()
    rollups_refresh()
    answer = owner.get(
        "/dashboard/api/referrals", {"start": "2026-03-02", "end": "2026-03-02", "tz": "UTC"}
    ).json()
    assert (answer["invited"], answer["activated"]) == (1, 1)
