from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
import yt_dlp.version
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from analytics.models import Download, Video
from referrals.models import Referral
from tests.processes import ROOT, bare_env, run_python
from users.models import BotUser

DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
}


def run_manage(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return run_python(str(ROOT / "manage.py"), *args, env=env, cwd=cwd)


# --- Migrations ---------------------------------------------------------------------


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_every_migration_is_applied_on_postgresql():
    assert connection.vendor == "postgresql"
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


def test_migrations_apply_on_sqlite(tmp_path):
    env = bare_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        DJANGO_SETTINGS_MODULE="config.settings.base",  # as scripts/run sets it
    )
    result = run_manage("migrate", "--noinput", env=env)
    assert result.returncode == 0, result.stderr
    check = run_manage("migrate", "--check", env=env)
    assert check.returncode == 0, check.stdout + check.stderr


# --- Constraints --------------------------------------------------------------------


def make_user(user_id: int) -> BotUser:
    now = timezone.now()
    return BotUser.objects.create(user_id=user_id, first_seen_at=now, last_seen_at=now)


@pytest.mark.django_db
def test_a_download_event_cannot_be_stored_twice():
    user = make_user(1)
    now = timezone.now()
    video = Video.objects.create(video_id="tiktok:1", platform="tiktok", first_seen_at=now)
    fields = {
        "user": user,
        "video": video,
        "platform": "tiktok",
        "source": "message",
        "created_at": now,
        "event_id": uuid.uuid4(),
    }
    Download.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Download.objects.create(**fields)
    assert Download.objects.count() == 1


@pytest.mark.django_db
def test_a_user_cannot_be_referred_twice():
    alice, bob, carol = make_user(1), make_user(2), make_user(3)
    Referral.objects.create(referrer=alice, referred_user=carol, created_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.create(referrer=bob, referred_user=carol, created_at=timezone.now())
    assert Referral.objects.get(referred_user=carol).referrer == alice


@pytest.mark.django_db
def test_a_user_cannot_refer_themselves():
    alice = make_user(1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.create(referrer=alice, referred_user=alice, created_at=timezone.now())


# --- /healthz -----------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_reports_postgresql_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "redis": "ok",
        "yt_dlp": yt_dlp.version.__version__,
        "sign_in_demanded": [],
        "dead_letters": 0,
    }


@pytest.mark.django_db
def test_healthz_names_redis_when_it_is_down(client, settings):
    settings.CACHES = DEAD_REDIS
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "database": "ok",
        "redis": "unavailable",
        "yt_dlp": yt_dlp.version.__version__,
    }


@pytest.mark.django_db
def test_healthz_names_the_database_when_it_is_down(client, monkeypatch):
    from django.db import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "database": "unavailable",
        "redis": "ok",
        "yt_dlp": yt_dlp.version.__version__,
        "sign_in_demanded": [],
        "dead_letters": 0,
    }


HEALTH_SCRIPT = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
django.setup()
from django.conf import settings
from django.test import Client
response = Client(HTTP_HOST="127.0.0.1").get("/healthz")
print(json.dumps({"status": response.status_code, "body": response.json(),
                  "engine": settings.DATABASES["default"]["ENGINE"],
                  "embedded_redis": settings.REDIS_EMBEDDED}))
"""


def test_the_embedded_default_boots_with_no_environment(tmp_path):
    result = run_python("-c", HEALTH_SCRIPT, env=bare_env(PYTHONPATH=str(ROOT)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "status": 200,
        "body": {
            "database": "ok",
            "redis": "ok",
            "yt_dlp": yt_dlp.version.__version__,
            "sign_in_demanded": [],
            "dead_letters": 0,
        },
        "engine": "django.db.backends.sqlite3",
        "embedded_redis": True,
    }


# --- Production settings ------------------------------------------------------------

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/videobot",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "ALLOWED_HOSTS": "bot.example.org",
}


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", env=bare_env(**PRODUCTION))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_media_origin_overrides():
    env = bare_env(
        **PRODUCTION,
        SECRET_KEY="pT7vQ2xL9mR4sW8zK3nB6yH1cF5gJ0dA-eU_iO2pX7qV4tN9wM3r",
        MEDIA_ORIGIN_OVERRIDES='{"https://www.youtube.com": "http://127.0.0.1:9"}',
    )
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "MEDIA_ORIGIN_OVERRIDES" in result.stderr


def test_production_passes_the_deployment_checklist():
    env = bare_env(**PRODUCTION, SECRET_KEY="Zq8#vL2@pR5!mW9$tY3^nB6&hJ1*kD4%sF7(gX0)cV-bN=mQ+wE")
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
