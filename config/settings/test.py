"""Settings for the test suite: real PostgreSQL and Redis on localhost.

The suite never falls back to SQLite or the in-process stand-in: a test that needs
PostgreSQL or Redis fails when they are not running (``make test`` starts them).
"""

from __future__ import annotations

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/videobot")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
RQ_EMBEDDED_WORKERS = 0
STORAGES["staticfiles"]["BACKEND"] = (  # noqa: F405
    "django.contrib.staticfiles.storage.StaticFilesStorage"
)
STATIC_ROOT.mkdir(exist_ok=True)  # noqa: F405  (whitenoise warns about a missing one)
# The suite's own setup (TRUNCATE, DROP DATABASE) is slow by nature; tests that check
# the slow-query log set their own threshold.
SLOW_QUERY_MS = 5000
