"""The payments back office: read-only history, export, and who may refund."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from ads.models import Payment, PaymentEvent, PremiumInvoice, StarSubscription
from users.models import BotUser

pytestmark = pytest.mark.django_db

CHANGELISTS = ["payment", "premiuminvoice", "starsubscription", "paymentevent"]


def login(client, *, superuser: bool):
    person = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    person.is_superuser = superuser
    person.save()
    client.force_login(person)
    return client


@pytest.fixture
def payment():
    now = timezone.now()
    BotUser.objects.create(user_id=42, first_seen_at=now, last_seen_at=now)
    invoice = PremiumInvoice.objects.create(
        user_id=42, kind="subscription", payload="premium:sub:x", stars=90, days=30
    )
    StarSubscription.objects.create(
        user_id=42, invoice=invoice, telegram_payment_charge_id="stxA",
        expires_at=now + dt.timedelta(days=30), started_at=now,
    )  # fmt: skip
    PaymentEvent.objects.create(
        event_id=uuid.uuid4(), kind="completed", user_id=42, telegram_payment_charge_id="stxA",
        stars=90, premium_kind="subscription", created_at=now,
    )  # fmt: skip
    return Payment.objects.create(
        user_id=42, invoice=invoice, kind="subscription", telegram_payment_charge_id="stxA",
        stars=90, days=30, paid_at=now, paid_until=now + dt.timedelta(days=30),
    )  # fmt: skip


@pytest.mark.parametrize("model", CHANGELISTS)
def test_it_lists_the_paid_tier_read_only_and_exportable(client, payment, model):
    login(client, superuser=True)
    page = client.get(reverse(f"admin:ads_{model}_changelist"))
    assert page.status_code == 200 and b"Export" in page.content
    assert client.get(reverse(f"admin:ads_{model}_add")).status_code == 403


def test_a_payment_opens_without_a_save_button(client, payment):
    login(client, superuser=True)
    page = client.get(reverse("admin:ads_payment_change", args=[payment.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content


def test_it_exports_payments_as_csv(client, payment):
    login(client, superuser=True)
    url = reverse("admin:ads_payment_export")
    form = client.get(url).context["form"]
    data = {"format": 0, "resource": 0}
    data.update({name: "on" for name in form.fields if name not in ("format", "resource")})
    data.pop("export_items", None)
    rows = list(csv.DictReader(io.StringIO(client.post(url, data).content.decode())))
    assert [row["telegram_payment_charge_id"] for row in rows] == ["stxA"]


def test_superusers_get_the_refund_action_and_form(client, payment):
    login(client, superuser=True)
    page = client.get(reverse("admin:ads_payment_changelist"))
    assert b"refund_selected" in page.content
    assert reverse("admin:ads_payment_refund").encode() in page.content
    form = client.get(reverse("admin:ads_payment_refund"))
    assert form.status_code == 200 and b"telegram_payment_charge_id" in form.content


def test_other_staff_cannot_refund(client, payment):
    login(client, superuser=False)
    staff = get_user_model().objects.get(username="staff")
    staff.user_permissions.add(Permission.objects.get(codename="view_payment"))
    page = client.get(reverse("admin:ads_payment_changelist"))
    assert page.status_code == 200 and b"refund_selected" not in page.content
    response = client.post(
        reverse("admin:ads_payment_refund"), {"telegram_payment_charge_id": "stxA"}
    )
    assert response.status_code == 302
    assert Payment.objects.get().status == "paid"
