"""Metrics of exposed users from PostgreSQL, the results page and its CSV, SRM."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from abtests import metrics
from abtests.models import ABTestExposure
from analytics.models import Download
from referrals.models import Referral
from users.models import BotUser

from .conftest import experiment

pytestmark = pytest.mark.django_db(transaction=True)

NOW = timezone.now()
EXPOSED_AT = NOW - dt.timedelta(days=10)


def _expose(test, counts: dict[str, int], *, first_user: int = 10_000) -> dict[str, list[int]]:
    users: dict[str, list[int]] = {}
    rows = []
    user = first_user
    for variant_name, count in counts.items():
        users[variant_name] = list(range(user, user + count))
        for uid in users[variant_name]:
            rows.append(
                ABTestExposure(event_id=uuid.uuid4(), test=test, phase=test.phase, user_id=uid,
                               variant_name=variant_name, exposed_at=EXPOSED_AT)
            )  # fmt: skip
        user += count
    ABTestExposure.objects.bulk_create(rows)
    return users


def _downloads(user_id: int, count: int, *, after: dt.timedelta) -> list[Download]:
    return [
        Download(user_id=user_id, video_id="youtube:aaaaaaaaaaa", platform="youtube",
                 source="message", created_at=EXPOSED_AT + after + dt.timedelta(minutes=i),
                 event_id=uuid.uuid4())
        for i in range(count)
    ]  # fmt: skip


def _by_key(results):
    return {m.metric.key: m for m in results.metrics}


def _ensure_table(name: str, ddl: str) -> bool:
    """Create a minimal stand-in for another app's table if this branch lacks it."""
    if name in connection.introspection.table_names():
        return False
    with connection.cursor() as cursor:
        cursor.execute(ddl)
    return True


def test_it_measures_each_variant_and_finds_a_real_difference():
    test = experiment(start=True)
    users = _expose(test, {"control": 300, "fifteen": 300})
    rows = []
    for i, uid in enumerate(users["control"]):
        rows += _downloads(uid, 1 + i % 3, after=dt.timedelta(hours=1))  # mean 2
    for i, uid in enumerate(users["fifteen"]):
        rows += _downloads(uid, 2 + i % 3, after=dt.timedelta(hours=1))  # mean 3
        if i % 2 == 0:
            rows += _downloads(uid, 1, after=dt.timedelta(days=1, hours=2))  # day 1 return
    rows += _downloads(users["control"][0], 50, after=-dt.timedelta(days=1))  # before: ignored
    Download.objects.bulk_create(rows)
    BotUser.objects.bulk_create(
        BotUser(user_id=uid, first_seen_at=NOW, last_seen_at=NOW)
        for uid in users["control"][:3] + users["fifteen"][:3] + [1, 2, 3, 4]
    )
    Referral.objects.bulk_create(
        Referral(referrer_id=users["fifteen"][0], referred_user_id=other, created_at=NOW)
        for other in (1, 2, 3)
    )

    results = metrics.results_for(test=test, now=NOW)

    assert [(v.variant_name, v.exposed) for v in results.variants] == [
        ("control", 300), ("fifteen", 300),
    ]  # fmt: skip
    assert not results.srm_warning
    by_key = _by_key(results)
    control, fifteen = by_key["downloads"].values
    assert (control.n, control.value) == (300, pytest.approx(2.0))
    assert fifteen.value == pytest.approx(3.5)  # 3 on average, plus half returned on day 1
    assert fifteen.comparison.effect == pytest.approx(0.75)
    assert fifteen.comparison.ci_low > 0 and fifteen.comparison.p_value < 0.001
    assert fifteen.comparison.chance_to_win > 0.99
    d1_control, d1_fifteen = by_key["d1"].values
    assert (d1_control.value, d1_fifteen.value) == (0.0, 0.5)
    invites = by_key["invites"].values
    assert invites[1].value == pytest.approx(3 / 300)
    assert by_key["d7"].values[1].value == 0.0


def test_it_reads_ad_ctr_and_payments_when_their_tables_exist():
    created_impressions = _ensure_table(
        "ad_impressions", "CREATE TABLE ad_impressions (user_id bigint, created_at timestamptz)"
    )
    created_clicks = _ensure_table(
        "ad_clicks", "CREATE TABLE ad_clicks (user_id bigint, created_at timestamptz)"
    )
    created_payments = _ensure_table(
        "payments", "CREATE TABLE payments (user_id bigint, paid_at timestamptz)"
    )
    try:
        test = experiment()
        users = _expose(test, {"control": 150, "fifteen": 150})
        results = metrics.results_for(test=test, now=NOW, min_sample=100)
        by_key = _by_key(results)
        assert by_key["ad_ctr"].available and by_key["paid"].available
        if created_impressions and created_clicks and created_payments:
            later = EXPOSED_AT + dt.timedelta(hours=3)
            with connection.cursor() as cursor:
                for uid in users["control"] + users["fifteen"]:
                    cursor.execute(
                        "INSERT INTO ad_impressions VALUES (%s, %s), (%s, %s)",
                        [uid, later, uid, later],
                    )
                for uid in users["fifteen"][:60] + users["control"][:30]:
                    cursor.execute("INSERT INTO ad_clicks VALUES (%s, %s)", [uid, later])
                for uid in users["fifteen"][:15]:
                    cursor.execute("INSERT INTO payments VALUES (%s, %s)", [uid, later])
            by_key = _by_key(metrics.results_for(test=test, now=NOW, min_sample=100))
            control, fifteen = by_key["ad_ctr"].values
            assert (control.value, fifteen.value) == (0.1, 0.2)
            assert fifteen.comparison.effect == pytest.approx(1.0)
            assert by_key["paid"].values[1].value == pytest.approx(0.1)
            assert by_key["paid"].values[0].value == 0.0
    finally:
        with connection.cursor() as cursor:
            for created, name in (
                (created_impressions, "ad_impressions"), (created_clicks, "ad_clicks"),
                (created_payments, "payments"),
            ):  # fmt: skip
                if created:
                    cursor.execute(f"DROP TABLE {name}")


def test_a_missing_source_is_reported_not_raised(monkeypatch):
    test = experiment()
    _expose(test, {"control": 5, "fifteen": 5})
    real = connection.introspection.table_names

    def without_ads(*args, **kwargs):
        return [t for t in real(*args, **kwargs) if t not in {"ad_impressions", "payments"}]

    monkeypatch.setattr(connection.introspection, "table_names", without_ads)
    by_key = _by_key(metrics.results_for(test=test))
    assert not by_key["ad_ctr"].available and "ad_impressions" in by_key["ad_ctr"].note
    assert not by_key["paid"].available
    assert by_key["downloads"].available


def test_below_the_minimum_sample_it_says_not_enough_data():
    test = experiment()
    _expose(test, {"control": 20, "fifteen": 20})
    fifteen = _by_key(metrics.results_for(test=test))["downloads"].values[1]
    assert not fifteen.comparison.enough_data
    assert "not enough data" in fifteen.comparison.reason


def test_it_warns_of_a_sample_ratio_mismatch_on_a_skewed_split():
    test = experiment()
    _expose(test, {"control": 500, "fifteen": 400})
    results = metrics.results_for(test=test)
    assert results.srm_p_value < 0.001 and results.srm_warning


@pytest.fixture
def staff_client(client):
    admin = User.objects.create_superuser("owner", "owner@example.org", "pw")
    client.force_login(admin)
    return client


def test_the_results_page_shows_intervals_srm_and_csv(staff_client):
    test = experiment()
    users = _expose(test, {"control": 500, "fifteen": 400})
    rows = []
    for i, uid in enumerate(users["control"] + users["fifteen"]):
        rows += _downloads(uid, 1 + i % 4, after=dt.timedelta(hours=2))
    Download.objects.bulk_create(rows)
    url = reverse("admin:abtests_abtest_results", args=[test.pk])

    page = staff_client.get(url).content.decode()
    assert 'id="srm-warning"' in page and "Sample ratio mismatch" in page
    assert "Downloads per user" in page and "fixed horizon" in page
    assert "[" in page and "chance to win" in page
    sequential = staff_client.get(url + "?sequential=1").content.decode()
    assert "always-valid" in sequential

    response = staff_client.get(url + "?format=csv")
    assert response["Content-Type"] == "text/csv"
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0] == metrics.CSV_HEADER
    downloads = [row for row in table if row[0] == "downloads"]
    assert [row[1] for row in downloads] == ["control", "fifteen"]
    assert downloads[1][5] and downloads[1][6] and downloads[1][8]  # lift, ci_low, p-value


def test_the_results_page_is_for_staff_only(client):
    test = experiment()
    url = reverse("admin:abtests_abtest_results", args=[test.pk])
    assert client.get(url).status_code == 302
    User.objects.create_user("visitor", password="pw")
    client.login(username="visitor", password="pw")
    assert client.get(url).status_code == 302
