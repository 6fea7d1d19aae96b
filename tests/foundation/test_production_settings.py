"""Production settings refuse unsafe values, and are what a process gets by default."""

from __future__ import annotations

import json
import secrets

import pytest

from config.deploy_checks import allowed_hosts_problem, secret_key_weakness
from config.startup import settings_module_default
from tests.processes import ROOT, bare_env, run_python

STRONG_KEY = "pT7vQ2xL9mR4sW8zK3nB6yH1cF5gJ0dA-eU_iO2pX7qV4tN9wM3r"
PRODUCTION = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/videobot",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "ALLOWED_HOSTS": "bot.example.org",
    "SECRET_KEY": STRONG_KEY,
}

REPORT = """
import json, sys
sys.argv = ["manage.py", *sys.argv[1:]]
from config.startup import settings_module_select
settings_module_select(sys.argv if len(sys.argv) > 1 else None)
import django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0])
forwarded = client.get("/nothing-here", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({"module": settings.SETTINGS_MODULE, "forwarded_status": forwarded.status_code}))
"""


def report(*argv: str, **env: str) -> dict:
    result = run_python("-c", REPORT, *argv, env=bare_env(PYTHONPATH=str(ROOT), **env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def manage(*args: str, **env: str):
    return run_python(str(ROOT / "manage.py"), *args, env=bare_env(**env))


@pytest.mark.parametrize(
    "key",
    [
        "a" * 50,  # the repeated letter of the report
        "x" * 64,
        "ab" * 30,
        "Zq8#vL2@pR" * 6,  # one random-looking chunk, repeated
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789" * 3 + "9876543210" * 3,
        "k" * 30 + "Zq8#vL2@pR5!mW9$tY3^nB6&",  # random tail, long run of one letter
        # Named: random parameters would differ between the suite's worker processes.
        pytest.param("django-insecure-" + secrets.token_urlsafe(50), id="django-insecure"),
        pytest.param(secrets.token_urlsafe(20), id="random-but-short"),
    ],
)
def test_it_judges_weak_secret_keys_weak(key: str) -> None:
    assert secret_key_weakness(key) is not None


def test_it_accepts_generated_secret_keys() -> None:
    for _ in range(2000):
        assert secret_key_weakness(secrets.token_urlsafe(50)) is None
        assert secret_key_weakness(secrets.token_hex(32)) is None  # openssl rand -hex 32
    assert secret_key_weakness(STRONG_KEY) is None


@pytest.mark.parametrize("hosts", [["*"], ["bot.example.org", "*"], [""], []])
def test_it_judges_wildcard_or_empty_hosts_unfit(hosts: list[str]) -> None:
    assert allowed_hosts_problem(hosts) is not None


def test_production_refuses_a_repeated_letter_secret_key_without_printing_it() -> None:
    key = "q" * 50
    result = manage("check", DJANGO_SETTINGS_MODULE="config.settings.production",
                    **(PRODUCTION | {"SECRET_KEY": key}))  # fmt: skip
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr
    assert key not in result.stderr + result.stdout


def test_production_refuses_any_host() -> None:
    result = manage("check", DJANGO_SETTINGS_MODULE="config.settings.production",
                    **(PRODUCTION | {"ALLOWED_HOSTS": "bot.example.org,*"}))  # fmt: skip
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is unfit for production" in result.stderr


def test_without_a_settings_module_server_entry_points_get_production_settings() -> None:
    assert settings_module_default(None) == "config.settings.production"
    for command in ("runbot", "rqworker", "migrate", "analytics_worker", "check", "shell"):
        assert settings_module_default(["manage.py", command]) == "config.settings.production"
    for command in ("runserver", "sandbox", "makemigrations", "compilemessages", "bench_bot"):
        assert settings_module_default(["manage.py", command]) == "config.settings.base"

    # A server started with no variable at all refuses, naming what is missing...
    bare = run_python("-c", "import config.wsgi", env=bare_env(PYTHONPATH=str(ROOT)))
    assert bare.returncode != 0
    assert "SECRET_KEY" in bare.stderr and "scripts/run" in bare.stderr
    migrate = manage("migrate", "--check")
    assert migrate.returncode != 0 and "SECRET_KEY" in migrate.stderr
    # ...and with the production variables set, it runs on production settings.
    wsgi = run_python(
        "-c",
        "import config.wsgi; from django.conf import settings; print(settings.SETTINGS_MODULE)",
        env=bare_env(PYTHONPATH=str(ROOT), **PRODUCTION),
    )
    assert wsgi.returncode == 0, wsgi.stderr
    assert wsgi.stdout.strip().splitlines()[-1] == "config.settings.production"


def test_development_commands_still_default_to_the_embedded_settings(tmp_path) -> None:
    assert report("sandbox")["module"] == "config.settings.base"
    run = (ROOT / "scripts" / "run").read_text()
    assert "DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.base}" in run


def test_x_forwarded_proto_is_trusted_only_when_configured() -> None:
    # Plain HTTP with a forged header: redirected to HTTPS, as a direct request must be.
    assert report(**PRODUCTION)["forwarded_status"] == 301
    # Trusted: taken as HTTPS, so the request reaches URL routing (nothing there: 404).
    trusted = report(**PRODUCTION, TRUST_X_FORWARDED_PROTO="true")
    assert trusted == {"module": "config.settings.production", "forwarded_status": 404}
