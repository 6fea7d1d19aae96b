from __future__ import annotations

import csv
import io
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from analytics.models import ClickEvent, Download, Video
from botapp.models import GroupChat
from downloads.models import CachedMedia
from referrals.models import Referral
from users.models import BotUser

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    ("users", "botuser"),
    ("downloads", "cachedmedia"),
    ("botapp", "groupchat"),
    ("analytics", "video"),
    ("analytics", "download"),
    ("analytics", "clickevent"),
    ("referrals", "referral"),
]


@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_user("owner", password="pw", is_staff=True)
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    return client


@pytest.fixture
def history():
    now = timezone.now()
    alice = BotUser.objects.create(
        user_id=1001, username="alice", first_seen_at=now, last_seen_at=now
    )
    bob = BotUser.objects.create(
        user_id=1002, first_name="Bob", first_seen_at=now, last_seen_at=now
    )
    video = Video.objects.create(
        video_id="youtube:dQw4w9WgXcQ", platform="youtube", title="Never", first_seen_at=now
    )
    Download.objects.create(
        user=alice,
        video=video,
        platform="youtube",
        source="message",
        format="720p",
        created_at=now,
        event_id=uuid.uuid4(),
    )
    ClickEvent.objects.create(
        user=bob, event_type="button_click", video=video, created_at=now, event_id=uuid.uuid4()
    )
    Referral.objects.create(referrer=alice, referred_user=bob, created_at=now)
    CachedMedia.objects.create(media_key=video.video_id, format="720p", file_id="F1")
    GroupChat.objects.create(chat_id=-100500, title="Friends")
    return video


@pytest.mark.parametrize(("app", "model"), CHANGELISTS)
def test_it_renders_every_changelist_for_staff(staff_client, history, app, model):
    response = staff_client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 200
    assert b"Export" in response.content


@pytest.mark.parametrize(("app", "model"), CHANGELISTS)
def test_it_redirects_anonymous_users_to_login(client, app, model):
    response = client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize(("app", "model"), [("analytics", "download"), ("analytics", "clickevent")])
def test_history_rows_are_read_only(staff_client, history, app, model):
    assert staff_client.get(reverse(f"admin:{app}_{model}_add")).status_code == 403
    row = Download.objects.first() if model == "download" else ClickEvent.objects.first()
    page = staff_client.get(reverse(f"admin:{app}_{model}_change", args=[row.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content


def _export(client, app, model, fmt_index):
    url = reverse(f"admin:{app}_{model}_export")
    form = client.get(url).context["form"]
    data = {"format": fmt_index, "resource": 0}
    data.update({name: "on" for name in form.fields if name not in ("format", "resource")})
    data.pop("export_items", None)
    return client.post(url, data)


def test_it_exports_downloads_as_csv(staff_client, history):
    response = _export(staff_client, "analytics", "download", 0)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 1
    assert "youtube:dQw4w9WgXcQ" in rows[0].values()


def test_it_exports_users_as_xlsx(staff_client, history):
    response = _export(staff_client, "users", "botuser", 1)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [cell for row in sheet.iter_rows(values_only=True) for cell in row]
    assert 1001 in values and 1002 in values


QUEUE_DASHBOARD = "/admin/django_rq/dashboard/"


def test_the_queue_dashboard_is_staff_only(staff_client):
    assert Client().get(QUEUE_DASHBOARD).status_code == 302
    page = staff_client.get(QUEUE_DASHBOARD)
    assert page.status_code == 200
    assert b"downloads" in page.content  # the one queue


def test_the_admin_index_links_to_the_queue_dashboard(staff_client):
    page = staff_client.get(reverse("admin:index"))
    assert QUEUE_DASHBOARD.encode() in page.content
