"""Back-office permissions: staff alone opens nothing sensitive; history is protected."""

from __future__ import annotations

import django_rq
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from django_rq.models import Dashboard

from config.admin_mixins import CappedExportMixin
from downloads.models import CachedMedia
from referrals.models import Referral
from users.models import BotUser

pytestmark = pytest.mark.django_db

# Every model whose admin offers export, and the one that offers import.
EXPORTABLE = [
    ("users", "botuser"),
    ("downloads", "cachedmedia"),
    ("botapp", "groupchat"),
    ("analytics", "video"),
    ("analytics", "download"),
    ("analytics", "clickevent"),
    ("referrals", "referral"),
]
IMPORTABLE = [("users", "botuser")]


def staff_user(username: str, *permissions: str):
    user = get_user_model().objects.create_user(username, password="pw", is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def nobody(client):
    """A staff member with no permission at all."""
    client.force_login(staff_user("nobody"))
    return client


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root", password="pw")
    client.force_login(user)
    return client


def make_users(count: int) -> list[BotUser]:
    now = timezone.now()
    return [
        BotUser.objects.create(user_id=5000 + n, first_seen_at=now, last_seen_at=now)
        for n in range(count)
    ]


def export_post(client, app: str, model: str):
    """Post the export form as CSV with every field ticked (as the form page offers)."""
    url = reverse(f"admin:{app}_{model}_export")
    data = {"format": 0, "resource": 0}
    page = client.get(url)
    if page.status_code == 200:
        form = page.context["form"]
        data.update({name: "on" for name in form.fields if name not in ("format", "resource")})
        data.pop("export_items", None)
    return client.post(url, data)


# --- export and import -------------------------------------------------------------


@pytest.mark.parametrize(("app", "model"), EXPORTABLE)
def test_it_refuses_export_to_staff_without_the_export_permission(nobody, app, model):
    make_users(2)
    url = reverse(f"admin:{app}_{model}_export")
    assert nobody.get(url).status_code == 403
    response = export_post(nobody, app, model)
    assert response.status_code == 403
    assert b"5000" not in response.content


@pytest.mark.parametrize(("app", "model"), IMPORTABLE)
def test_it_refuses_import_to_staff_without_the_import_permission(nobody, app, model):
    page = reverse(f"admin:{app}_{model}_import")
    assert nobody.get(page).status_code == 403
    assert nobody.post(page, {}).status_code == 403
    assert nobody.post(reverse(f"admin:{app}_{model}_process_import"), {}).status_code == 403


def test_the_export_permission_exists_for_every_exportable_model_and_opens_export(client):
    for app, model in EXPORTABLE:
        assert Permission.objects.filter(
            content_type__app_label=app, codename=f"export_{model}"
        ).exists(), (app, model)
    assert Permission.objects.filter(codename="import_botuser").exists()
    make_users(2)
    client.force_login(staff_user("exporter", "users.view_botuser", "users.export_botuser"))

    response = export_post(client, "users", "botuser")

    assert response.status_code == 200
    assert b"5000" in response.content and b"5001" in response.content
    # Export alone does not open import.
    assert client.get(reverse("admin:users_botuser_import")).status_code == 403


def test_every_exporting_admin_is_capped():
    exporting = [ma for ma in admin.site._registry.values() if hasattr(ma, "export_action")]
    assert len(exporting) >= len(EXPORTABLE)
    assert all(isinstance(ma, CappedExportMixin) for ma in exporting)


def test_a_large_export_is_refused_with_a_message_not_run(superuser_client, settings):
    settings.EXPORT_MAX_ROWS = 2
    make_users(3)

    response = export_post(superuser_client, "users", "botuser")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")  # the form again, no file
    assert b"would contain more than 2 rows, the limit" in response.content
    settings.EXPORT_MAX_ROWS = 3
    exported = export_post(superuser_client, "users", "botuser")
    assert exported["Content-Type"].startswith("text/csv")


def test_the_export_action_on_too_many_selected_rows_is_refused(superuser_client, settings):
    settings.EXPORT_MAX_ROWS = 1
    users = make_users(2)

    response = superuser_client.post(
        reverse("admin:downloads_cachedmedia_changelist"),
        {"action": "export_admin_action", "_selected_action": []},
    )
    assert response.status_code in (200, 302)  # nothing selected: Django's own message
    for n, _user in enumerate(users):
        CachedMedia.objects.create(media_key=f"tiktok:{n}", format="best", file_id=f"F{n}")
    response = superuser_client.post(
        reverse("admin:downloads_cachedmedia_changelist"),
        {
            "action": "export_admin_action",
            "_selected_action": list(CachedMedia.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert b"would contain more than 1 rows, the limit" in response.content


# --- the queue dashboard -----------------------------------------------------------


def queue_urls() -> list[tuple[str, str]]:
    """(name, path) of every page and action the dashboard serves, with sample values."""
    samples = {
        "queue_index": 0,
        "job_id": "job-1",
        "result_id": "1-0",
        "key": "rq:worker:x",
        "scheduler_index": 0,
        "connection_index": 0,
        "scheduler_name": "s",
        "cron_job_name": "c",
        "object_id": "1",
    }
    urls = {}
    for pattern in admin.site._registry[Dashboard].get_urls():
        if pattern.name and pattern.name not in urls:
            kwargs = {name: samples[name] for name in pattern.pattern.converters}
            urls[pattern.name] = reverse(f"admin:{pattern.name}", kwargs=kwargs)
    return list(urls.items())


def test_every_queue_page_and_action_is_refused_to_staff_without_the_permission(nobody, settings):
    # Enqueued at once, not at a commit the test transaction never makes.
    queue = django_rq.get_queue("downloads", commit_mode="auto")
    queue.enqueue("tests.foundation.jobs.mark_done", "kept")
    urls = queue_urls()
    names = {name for name, _ in urls}
    assert {
        "django_rq_home",
        "django_rq_clear",
        "django_rq_requeue_all",
        "django_rq_actions",
        "django_rq_delete_job",
        "django_rq_stop_job",
        "django_rq_home_json",
    } <= names

    for name, path in urls:
        for method in (nobody.get, nobody.post):
            response = method(path)
            if name in ("django_rq_home_json", "django_rq_metrics"):
                assert response.status_code in (401, 404), (name, response.status_code)
            else:
                assert response.status_code == 403, (name, path, response.status_code)
    downloads_index = sorted(settings.RQ_QUEUES).index("downloads")  # django-rq sorts by name
    nobody.post(reverse("admin:django_rq_clear", args=[downloads_index]), {"post": "yes"})
    assert queue.count == 1  # not emptied
    index = nobody.get(reverse("admin:index"))
    assert b"/admin/django_rq/dashboard/" not in index.content


def test_the_queue_dashboard_opens_for_superusers_and_the_named_permission(
    client, superuser_client
):
    dashboard = reverse("admin:django_rq_home")
    assert superuser_client.get(dashboard).status_code == 200
    client.force_login(staff_user("operator", "django_rq.admin"))
    assert client.get(dashboard).status_code == 200
    assert client.get(reverse("admin:django_rq_home_json")).status_code == 200


# --- referral history --------------------------------------------------------------


def test_deleting_a_user_with_referral_history_is_refused_with_an_explanation(
    superuser_client,
):
    alice, bob = make_users(2)
    Referral.objects.create(referrer=alice, referred_user=bob, created_at=timezone.now())

    for user in (alice, bob):
        url = reverse("admin:users_botuser_delete", args=[user.pk])
        page = superuser_client.get(url)
        assert b"would require deleting the following protected related objects" in page.content
        assert b"5000 -&gt; 5001" in page.content
        superuser_client.post(url, {"post": "yes"})
    bulk = superuser_client.post(
        reverse("admin:users_botuser_changelist"),
        {"action": "delete_selected", "_selected_action": [alice.pk], "post": "yes"},
    )
    assert b"protected related objects" in bulk.content

    assert BotUser.objects.filter(pk__in=[alice.pk, bob.pk]).count() == 2
    assert Referral.objects.filter(referrer=alice, referred_user=bob).exists()


def test_deleting_a_user_with_referral_history_is_refused_outside_the_admin_too():
    alice, bob, carol = make_users(3)
    Referral.objects.create(referrer=alice, referred_user=bob, created_at=timezone.now())

    for user in (alice, bob):
        with pytest.raises(ProtectedError):
            user.delete()
    carol.delete()  # no history: deleted as before

    assert Referral.objects.filter(referrer=alice, referred_user=bob).exists()
