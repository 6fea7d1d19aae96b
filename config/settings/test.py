"""Settings for the test suite: real PostgreSQL and Redis on localhost.

The suite never falls back to SQLite or the in-process stand-in: a test that needs
PostgreSQL or Redis fails when they are not running (``make test`` starts them).
"""

from __future__ import annotations

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/videobot")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")


def _worker_redis_url(url: str, worker: str) -> str:
    """The suite runs in several processes (pytest-xdist's ``gw0``, ``gw1``, ...); each
    flushes its Redis database before every test, so worker n takes the database n
    below the given one (wrapping within Redis's 16). PostgreSQL needs nothing here:
    pytest-django gives each worker a test database of its own."""
    if not worker.startswith("gw"):
        return url
    head, _, number = url.rpartition("/")
    if not number.isdigit():
        head, number = url.rstrip("/"), "0"
    return f"{head}/{(int(number) - int(worker[2:])) % 16}"


_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# Once per worker: its child processes (workers, commands) inherit the URL it chose.
if os.environ.get("REDIS_URL_OF_WORKER", "") != _WORKER:
    os.environ["REDIS_URL"] = _worker_redis_url(os.environ["REDIS_URL"], _WORKER)
    os.environ["REDIS_URL_OF_WORKER"] = _WORKER

from .base import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
RQ_EMBEDDED_WORKERS = 0
STORAGES["staticfiles"]["BACKEND"] = (  # noqa: F405
    "django.contrib.staticfiles.storage.StaticFilesStorage"
)
STATIC_ROOT.mkdir(exist_ok=True)  # noqa: F405  (whitenoise warns about a missing one)
# The suite's own setup (TRUNCATE, DROP DATABASE) is slow by nature; tests that check
# the slow-query log set their own threshold.
SLOW_QUERY_MS = 5000
# Workers must not replay each other's spooled events (tests that spool set their own).
ANALYTICS_SPOOL_DIR = str(VAR_DIR / f"spool-{_WORKER or 'test'}")  # noqa: F405
