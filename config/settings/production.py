"""Production: real PostgreSQL and Redis, a secret key, and HTTPS-only cookies.

Refuses to start without the variables a deployment must set itself.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, MEDIA_ORIGIN_OVERRIDES, env

SECRET_KEY = env.str("SECRET_KEY")  # no default: a missing key stops the process
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters.")
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

env.str("REDIS_URL")  # no default: production never runs on the in-process stand-in
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production needs DATABASE_URL pointing at PostgreSQL.")
if MEDIA_ORIGIN_OVERRIDES:
    raise ImproperlyConfigured("MEDIA_ORIGIN_OVERRIDES is for the sandbox and tests only.")

REDIS_PERSISTENCE_CHECK = env.bool("REDIS_PERSISTENCE_CHECK", default=True)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
