"""The catch-up of referral activations whose job never ran (its enqueue failed with
Redis down or slow, the job was lost or failed): once the friend's download is
recorded, the referral is activated and the referrer told, exactly once, beside a job
that turns up late and beside another catch-up."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.db.models import F
from django.utils import timezone

from botapp import referral_jobs
from referrals import texts as referral_texts
from referrals.models import BonusOutcome, BonusReason, Referral, ReferralBonus
from referrals.selectors import referral_activations_missed, referral_bonus_total
from referrals.services import referral_activate, referral_attribute, referrer_get_or_create
from users.models import BotUser

ALICE, BORIS, CARMEN, DANA = 1, 2, 3, 4


def user(user_id: int) -> BotUser:
    now = timezone.now()
    return BotUser.objects.create(user_id=user_id, first_seen_at=now, last_seen_at=now)


def referred(friend_id: int, code: str) -> Referral:
    user(friend_id)
    referral = referral_attribute(user_id=friend_id, code=code)
    assert referral is not None
    return referral


def download_recorded(user_id: int) -> None:
    """What the analytics worker does when it stores the user's ``DownloadCompleted``."""
    BotUser.objects.filter(pk=user_id).update(total_downloads=F("total_downloads") + 1)


@pytest.fixture
def alice_code(db) -> str:
    user(ALICE)
    return referrer_get_or_create(user_id=ALICE).code


@pytest.fixture
def notices(monkeypatch) -> list[tuple]:
    """The notices the referral jobs send to referrers, instead of Telegram."""
    sent: list[tuple] = []

    async def record(referrer_id, friend_id, text, *, bonus):
        sent.append((referrer_id, friend_id, text, bonus))

    monkeypatch.setattr(referral_jobs, "_notice_send", record)
    return sent


def credited(referrer_id: int, friend_id: int, bonus: int = 5) -> tuple:
    return (referrer_id, friend_id, referral_texts.NOTICE_BONUS_CREDITED, bonus)


def test_it_finds_the_pending_referrals_whose_friend_downloaded(alice_code):
    for friend in (BORIS, CARMEN, DANA):
        referred(friend, alice_code)
    download_recorded(BORIS)  # its activation job was lost
    download_recorded(DANA)
    referral_activate(referred_user_id=DANA)  # activated as usual
    # Carmen has not downloaded yet: nothing to activate.
    assert referral_activations_missed(limit=10) == [BORIS]


def test_a_missed_activation_is_paid_once_and_the_referrer_told_once(alice_code, notices):
    referred(BORIS, alice_code)
    assert referral_jobs.referral_activations_catch_up() == 0  # no download yet
    assert Referral.objects.get().outcome == BonusOutcome.PENDING

    download_recorded(BORIS)
    assert referral_jobs.referral_activations_catch_up() == 1
    referral = Referral.objects.get()
    assert referral.outcome == BonusOutcome.PAID and referral.is_activated
    assert referral_bonus_total(user_id=ALICE) == 5
    assert notices == [credited(ALICE, BORIS)]

    # Run again, then the lost job turning up late: neither pays nor tells again.
    assert referral_jobs.referral_activations_catch_up() == 0
    referral_jobs.referral_activation_run(BORIS)
    download_recorded(BORIS)  # a second download changes nothing either
    assert referral_jobs.referral_activations_catch_up() == 0
    [bonus] = ReferralBonus.objects.all()
    assert (bonus.user_id, bonus.amount, bonus.reason) == (ALICE, 5, BonusReason.REFERRAL)
    assert notices == [credited(ALICE, BORIS)]


def test_a_capped_referral_is_caught_up_without_a_notice(alice_code, notices, settings):
    settings.REFERRAL_MAX_PER_DAY = 1
    for friend in (BORIS, CARMEN):
        referred(friend, alice_code)
        download_recorded(friend)
    referral_activate(referred_user_id=BORIS)  # the day's one bonus
    assert referral_jobs.referral_activations_catch_up() == 1
    assert Referral.objects.get(referred_user_id=CARMEN).outcome == BonusOutcome.CAPPED_DAY
    assert referral_bonus_total(user_id=ALICE) == 5
    assert notices == []


def test_one_run_takes_at_most_its_limit_and_the_next_the_rest(alice_code, notices):
    for friend in (BORIS, CARMEN, DANA):
        referred(friend, alice_code)
        download_recorded(friend)
    assert referral_jobs.referral_activations_catch_up(limit=2) == 2
    assert referral_jobs.referral_activations_catch_up(limit=2) == 1
    assert not Referral.objects.filter(activated_at__isnull=True).exists()
    assert sorted(friend for _, friend, _, _ in notices) == [BORIS, CARMEN, DANA]
    assert referral_bonus_total(user_id=ALICE) == 15


@pytest.mark.django_db(transaction=True)
def test_catch_ups_and_late_jobs_at_once_pay_each_friend_once(notices, settings):
    settings.REFERRAL_MAX_PER_DAY = 100
    user(ALICE)
    code = referrer_get_or_create(user_id=ALICE).code
    friends = list(range(100, 120))
    for friend in friends:
        referred(friend, code)
        download_recorded(friend)
    go = threading.Event()

    def run(call):
        go.wait(10)
        try:
            return call()
        finally:
            connections.close_all()

    calls = [referral_jobs.referral_activations_catch_up] * 4 + [
        (lambda f=friend: referral_jobs.referral_activation_run(f)) for friend in friends
    ]
    with ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(run, call) for call in calls]
        go.set()
        for future in futures:
            future.result()
    assert ReferralBonus.objects.filter(user_id=ALICE, reason=BonusReason.REFERRAL).count() == 20
    assert referral_bonus_total(user_id=ALICE) == 100
    assert not Referral.objects.filter(activated_at__isnull=True).exists()
    assert sorted(friend for _, friend, _, _ in notices) == friends  # one notice each
