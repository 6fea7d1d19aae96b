"""The referral program's rules on real PostgreSQL: codes, attribution, activation,
caps, the ledger, revocation and blocking, including concurrent callers."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.utils import timezone

from analytics.events import UserReferred
from referrals import selectors
from referrals.models import (
    REFERRAL_CODE_ALPHABET,
    BonusOutcome,
    BonusReason,
    Referral,
    ReferralBonus,
    Referrer,
    referral_code_generate,
    referral_code_normalize,
)
from referrals.selectors import (
    referral_bonus_total,
    referral_pending,
    referral_pending_forget,
    referral_pending_warm,
    referral_stats,
    referrer_flag_reason,
    referrers_flagged,
    referrers_summary,
)
from referrals.services import (
    NotRevocable,
    referral_activate,
    referral_attribute,
    referral_bonus_revoke,
    referrer_earning_block,
    referrer_get_or_create,
)
from tests.e2e.published import published
from users.models import BotUser

ALICE, BORIS, CARMEN = 1, 2, 3


def user(user_id: int, **fields) -> BotUser:
    now = timezone.now()
    return BotUser.objects.create(user_id=user_id, first_seen_at=now, last_seen_at=now, **fields)


@pytest.fixture
def alice_code(db) -> str:
    user(ALICE)
    return referrer_get_or_create(user_id=ALICE).code


def referred(friend_id: int, code: str) -> Referral:
    user(friend_id)
    referral = referral_attribute(user_id=friend_id, code=code)
    assert referral is not None
    return referral


# --- Codes ------------------------------------------------------------------------------


def test_it_draws_codes_from_the_unambiguous_alphabet():
    codes = {referral_code_generate() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(code) == 8 and set(code) <= set(REFERRAL_CODE_ALPHABET) for code in codes)
    assert not set("0o1li") & set(REFERRAL_CODE_ALPHABET)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("abcd2345", "abcd2345"), ("ABCD2345", "abcd2345"), (" AbCd2345 ", "abcd2345"),
     ("abcd234", None), ("abcd23456", None), ("abcd0345", None), ("abcl2345", None),
     ("abcd-345", None), ("", None), ("x" * 200, None)],
)  # fmt: skip
def test_it_reads_a_code_whatever_its_case_and_refuses_what_cannot_be_one(typed, stored):
    assert referral_code_normalize(typed) == stored


def test_it_makes_a_users_code_once_when_first_needed(db):
    user(ALICE)
    assert not Referrer.objects.exists()
    first = referrer_get_or_create(user_id=ALICE)
    assert referrer_get_or_create(user_id=ALICE).code == first.code
    assert Referrer.objects.count() == 1


# --- Attribution ------------------------------------------------------------------------


def test_it_attributes_a_new_user_in_one_go(alice_code, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        referral = referred(BORIS, alice_code.upper())
    assert (referral.referrer_id, referral.referred_user_id) == (ALICE, BORIS)
    assert BotUser.objects.get(pk=BORIS).referred_by_id == ALICE
    assert referral.outcome == BonusOutcome.PENDING and not referral.is_activated
    [event] = published(UserReferred)
    assert (event.referrer_id, event.new_user_id) == (ALICE, BORIS)


@pytest.mark.parametrize("code", ["", "nosuchcd", "abc", "ÄÖÜ12345", "a" * 64])
def test_it_ignores_unknown_and_malformed_codes(alice_code, code):
    user(BORIS)
    assert referral_attribute(user_id=BORIS, code=code) is None
    assert not Referral.objects.exists()
    assert BotUser.objects.get(pk=BORIS).referred_by_id is None
    assert not published(UserReferred)


def test_it_never_attributes_users_to_themselves(alice_code):
    assert referral_attribute(user_id=ALICE, code=alice_code) is None
    assert not Referral.objects.exists()


def test_the_first_code_followed_wins(alice_code):
    user(CARMEN)
    carmen_code = referrer_get_or_create(user_id=CARMEN).code
    referred(BORIS, alice_code)
    assert referral_attribute(user_id=BORIS, code=carmen_code) is None
    assert Referral.objects.get().referrer_id == ALICE
    assert BotUser.objects.get(pk=BORIS).referred_by_id == ALICE


def test_it_gives_the_optional_welcome_bonus_to_the_new_user(alice_code, settings):
    settings.REFERRAL_WELCOME_BONUS = 3
    referral = referred(BORIS, alice_code)
    welcome = ReferralBonus.objects.get(user_id=BORIS)
    assert (welcome.amount, welcome.reason, welcome.referral) == (3, BonusReason.WELCOME, referral)
    assert referral_bonus_total(user_id=BORIS) == 3
    assert referral_bonus_total(user_id=ALICE) == 0


# --- Activation and the ledger ---------------------------------------------------------


def test_the_first_download_pays_the_referrer_once(alice_code):
    referral = referred(BORIS, alice_code)
    activation = referral_activate(referred_user_id=BORIS)
    assert (activation.referrer_id, activation.outcome, activation.amount) == (
        ALICE, BonusOutcome.PAID, 5,
    )  # fmt: skip
    assert referral_activate(referred_user_id=BORIS) is None
    bonus = ReferralBonus.objects.get()
    assert (bonus.user_id, bonus.amount, bonus.reason, bonus.referral) == (
        ALICE, 5, BonusReason.REFERRAL, referral,
    )  # fmt: skip
    assert referral_bonus_total(user_id=ALICE) == 5
    stats = referral_stats(user_id=ALICE)
    assert (stats.invited, stats.activated, stats.earned) == (1, 1, 5)


def test_nothing_is_activated_for_a_user_nobody_referred(db):
    user(BORIS)
    assert referral_activate(referred_user_id=BORIS) is None
    assert not ReferralBonus.objects.exists()


def test_it_stops_paying_at_the_daily_cap_and_at_the_total_cap(alice_code, settings):
    settings.REFERRAL_MAX_PER_DAY, settings.REFERRAL_MAX_TOTAL = 2, 3
    friends = range(10, 14)
    for friend in friends:
        referred(friend, alice_code)
    outcomes = [referral_activate(referred_user_id=f).outcome for f in friends[:3]]
    assert outcomes == [BonusOutcome.PAID, BonusOutcome.PAID, BonusOutcome.CAPPED_DAY]
    # A day later the daily cap has room again, but the total cap allows one more only.
    ReferralBonus.objects.update(created_at=timezone.now() - dt.timedelta(days=1))
    assert referral_activate(referred_user_id=13).outcome == BonusOutcome.PAID
    assert referral_bonus_total(user_id=ALICE) == 15
    stats = referral_stats(user_id=ALICE)
    assert (stats.invited, stats.activated, stats.earned, stats.left) == (4, 4, 15, 0)
    user(20)
    referral_attribute(user_id=20, code=alice_code)
    assert referral_activate(referred_user_id=20).outcome == BonusOutcome.CAPPED_TOTAL


def test_a_blocked_referrer_earns_nothing_but_referrals_are_recorded(alice_code):
    assert referrer_earning_block(user_id=ALICE, reason="farm")
    referred(BORIS, alice_code)
    assert referral_activate(referred_user_id=BORIS).outcome == BonusOutcome.BLOCKED
    assert referral_bonus_total(user_id=ALICE) == 0
    stats = referral_stats(user_id=ALICE)
    assert (stats.invited, stats.activated, stats.left, stats.earning_blocked) == (1, 1, 0, True)


def test_a_revocation_is_a_negative_row_with_its_reason(alice_code):
    referred(BORIS, alice_code)
    referral_activate(referred_user_id=BORIS)
    grant = ReferralBonus.objects.get()
    revocation = referral_bonus_revoke(bonus_id=grant.pk, note="fake account", by="owner")
    assert (revocation.amount, revocation.reason, revocation.revokes) == (
        -5, BonusReason.REVOCATION, grant,
    )  # fmt: skip
    assert (revocation.note, revocation.created_by) == ("fake account", "owner")
    assert referral_bonus_revoke(bonus_id=grant.pk, note="again").pk == revocation.pk
    assert referral_bonus_total(user_id=ALICE) == 0
    assert ReferralBonus.objects.count() == 2  # history kept
    with pytest.raises(NotRevocable):
        referral_bonus_revoke(bonus_id=revocation.pk, note="a revocation")
    with pytest.raises(NotRevocable):
        referral_bonus_revoke(bonus_id=grant.pk, note="  ")


def test_history_survives_no_deletion_of_a_user(alice_code):
    from django.db.models import ProtectedError

    referred(BORIS, alice_code)
    with pytest.raises(ProtectedError):
        BotUser.objects.filter(pk=BORIS).delete()


def test_the_admin_flags_referrers_whose_friends_never_download(alice_code, settings):
    settings.REFERRAL_MAX_PER_DAY = 1
    for friend in range(10, 16):
        referred(friend, alice_code)
    Referral.objects.update(created_at=timezone.now() - dt.timedelta(days=2))
    referral_activate(referred_user_id=10)
    [flagged] = referrers_flagged()
    assert flagged.pk == ALICE
    assert "1 of 6 invited users ever downloaded" in referrer_flag_reason(flagged)
    for friend in range(11, 16):
        referral_activate(referred_user_id=friend)  # all over the daily cap
    summary = referrers_summary().get(pk=ALICE)
    assert (summary.invited, summary.activated, summary.capped) == (6, 6, 5)
    assert "hit the caps 5 times" in referrer_flag_reason(summary)


# --- Concurrency ------------------------------------------------------------------------


def _in_threads(function, arguments, workers=16):
    """``function`` over ``arguments`` from many threads, released at the same moment."""
    go = threading.Event()

    def run(argument):
        go.wait(10)
        try:
            return function(argument)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(run, argument) for argument in arguments]
        go.set()
        return [future.result() for future in futures]


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_downloads_pay_exactly_once():
    user(ALICE)
    code = referrer_get_or_create(user_id=ALICE).code
    referred(BORIS, code)
    results = _in_threads(lambda _: referral_activate(referred_user_id=BORIS), range(16))
    assert len([r for r in results if r is not None]) == 1
    assert ReferralBonus.objects.filter(user_id=ALICE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_fifty_friends_at_once_are_paid_exactly_as_the_caps_allow(settings):
    settings.REFERRAL_MAX_PER_DAY, settings.REFERRAL_MAX_TOTAL = 7, 100
    user(ALICE)
    code = referrer_get_or_create(user_id=ALICE).code
    friends = list(range(100, 150))
    for friend in friends:
        user(friend)
    attributed = _in_threads(lambda f: referral_attribute(user_id=f, code=code), friends)
    assert all(attributed) and Referral.objects.count() == 50
    # Each first download twice at once, as a retried job would.
    _in_threads(lambda f: referral_activate(referred_user_id=f), friends * 2)
    assert ReferralBonus.objects.filter(user_id=ALICE, reason=BonusReason.REFERRAL).count() == 7
    assert referral_bonus_total(user_id=ALICE) == 35
    assert Referral.objects.filter(activated_at__isnull=False).count() == 50
    assert Referral.objects.filter(outcome=BonusOutcome.CAPPED_DAY).count() == 43
    assert connection.vendor == "postgresql"


# --- Warming with the user's row ------------------------------------------------------


def test_the_warm_remembers_only_users_without_a_pending_referral(alice_code):
    referral_pending_forget()
    referred(BORIS, alice_code)
    carmen = user(CARMEN)
    referral_pending_warm(BotUser.objects.get(pk=BORIS))  # pending: the policy asks
    referral_pending_warm(carmen)  # none: remembered, so the delivery asks nothing
    assert BORIS not in selectors._NOT_PENDING
    assert CARMEN in selectors._NOT_PENDING


def test_the_warm_skips_the_update_that_created_the_row(alice_code):
    referral_pending_forget()
    newcomer = user(CARMEN)
    newcomer.first_contact = True  # its /start may be the one that attributes a referral
    referral_pending_warm(newcomer)
    assert CARMEN not in selectors._NOT_PENDING
    referral_attribute(user_id=CARMEN, code=alice_code)
    assert referral_pending(user_id=CARMEN)
