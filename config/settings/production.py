"""Production: real PostgreSQL and Redis, a secret key, and HTTPS-only cookies.

Refuses to start without the variables a deployment must set itself.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.deploy_checks import allowed_hosts_problem, secret_key_weakness

from .base import *  # noqa: F403
from .base import DATABASES, INSTALLED_APPS, MEDIA_ORIGIN_OVERRIDES, env

_DEVELOPMENT_HINT = (
    " (Production settings are the default outside manage.py's development commands;"
    " for the embedded development setup use scripts/run or"
    " DJANGO_SETTINGS_MODULE=config.settings.base.)"
)

try:
    SECRET_KEY = env.str("SECRET_KEY")  # no default: a missing key stops the process
except ImproperlyConfigured as missing:
    raise ImproperlyConfigured(f"{missing}{_DEVELOPMENT_HINT}") from None
if weakness := secret_key_weakness(SECRET_KEY):
    # The reason names a property of the key, never the key itself.
    raise ImproperlyConfigured(
        f"SECRET_KEY is too weak: {weakness}. Generate one with"
        " `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
if problem := allowed_hosts_problem(ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        f"ALLOWED_HOSTS is unfit for production: {problem}. List the host names, e.g."
        " ALLOWED_HOSTS=bot.example.org."
    )

env.str("REDIS_URL")  # no default: production never runs on the in-process stand-in
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production needs DATABASE_URL pointing at PostgreSQL.")
if MEDIA_ORIGIN_OVERRIDES:
    raise ImproperlyConfigured("MEDIA_ORIGIN_OVERRIDES is for the sandbox and tests only.")
# The development sandbox is not in the image; a deployment from a checkout leaves it
# out all the same.
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "sandbox"]

REDIS_PERSISTENCE_CHECK = env.bool("REDIS_PERSISTENCE_CHECK", default=True)

# X-Forwarded-Proto tells Django a request came over HTTPS; anyone who can reach
# gunicorn directly could send it, so it is trusted only when the operator says a proxy
# that sets (and overwrites) it is the only way in.
TRUST_X_FORWARDED_PROTO = env.bool("TRUST_X_FORWARDED_PROTO", default=False)
if TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
