"""The referral back office: lists, the per-referrer summary and flags, revoking a
bonus and blocking a referrer through the admin, exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from referrals.models import BonusReason, ReferralBonus, Referrer
from referrals.selectors import referral_bonus_total
from referrals.services import referral_activate, referral_attribute, referrer_get_or_create
from users.models import BotUser

pytestmark = pytest.mark.django_db

ALICE, BORIS, CARMEN = 1001, 1002, 1003


@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_superuser("owner", password="pw")
    client.force_login(staff)
    return client


@pytest.fixture
def paid_referral():
    now = timezone.now()
    for user_id, name in ((ALICE, "alice"), (BORIS, "boris"), (CARMEN, "carmen")):
        BotUser.objects.create(user_id=user_id, username=name, first_seen_at=now, last_seen_at=now)
    code = referrer_get_or_create(user_id=ALICE).code
    referral_attribute(user_id=BORIS, code=code)
    referral_attribute(user_id=CARMEN, code=code)
    referral_activate(referred_user_id=BORIS)
    return ReferralBonus.objects.get(reason=BonusReason.REFERRAL)


@pytest.mark.parametrize("model", ["referral", "referrer", "referralbonus"])
def test_it_lists_referrals_referrers_and_the_ledger(staff_client, paid_referral, model):
    page = staff_client.get(reverse(f"admin:referrals_{model}_changelist"))
    assert page.status_code == 200
    assert b"Export" in page.content and b"Import" in page.content


def test_the_referrer_summary_shows_invited_activated_and_bonus(staff_client, paid_referral):
    page = staff_client.get(reverse("admin:referrals_referrer_changelist"))
    [row] = page.context["cl"].result_list
    assert (row.invited, row.activated, row.bonus, row.capped) == (2, 1, 5, 0)


def test_staff_revoke_a_bonus_with_a_reason(staff_client, paid_referral):
    url = reverse("admin:referrals_referralbonus_changelist")
    ask = staff_client.post(url, {"action": "revoke", "_selected_action": [paid_referral.pk]})
    assert ask.status_code == 200 and b"Why?" in ask.content
    assert referral_bonus_total(user_id=ALICE) == 5
    done = staff_client.post(
        url,
        {"action": "revoke", "_selected_action": [paid_referral.pk], "confirm": "Revoke",
         "reason": "same device as the referrer"},
    )  # fmt: skip
    assert done.status_code == 302
    revocation = ReferralBonus.objects.get(reason=BonusReason.REVOCATION)
    assert (revocation.amount, revocation.note, revocation.created_by) == (
        -5, "same device as the referrer", "owner",
    )  # fmt: skip
    assert referral_bonus_total(user_id=ALICE) == 0


def test_staff_block_a_referrer_from_earning(staff_client, paid_referral):
    url = reverse("admin:referrals_referrer_changelist")
    staff_client.post(
        url,
        {"action": "block_earning", "_selected_action": [ALICE], "confirm": "Block",
         "reason": "farming"},
    )  # fmt: skip
    referrer = Referrer.objects.get(pk=ALICE)
    assert referrer.earning_blocked and referrer.earning_blocked_reason == "farming (owner)"
    assert referral_activate(referred_user_id=CARMEN).amount == 0


def test_it_exports_the_ledger_as_csv(staff_client, paid_referral):
    url = reverse("admin:referrals_referralbonus_export")
    form = staff_client.get(url).context["form"]
    data = {"format": 0, "resource": 0}
    data.update({name: "on" for name in form.fields if name not in ("format", "resource")})
    data.pop("export_items", None)
    response = staff_client.post(url, data)
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(row["user"], row["amount"], row["reason"]) for row in rows] == [
        (str(ALICE), "5", "referral")
    ]
