"""Settings shared by every way of running the project.

With no environment variable set this is the embedded default: a SQLite file, an
in-process Redis stand-in (fakeredis) shared by the cache, the counters and django-rq,
and rq workers running in threads of the bot process. Setting ``DATABASE_URL`` and
``REDIS_URL`` switches to real PostgreSQL and Redis; ``config.settings.production``
adds the checks a deployment needs.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import environ
from import_export.formats.base_formats import CSV, XLSX

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)  # the SQLite file, generated clips and spools live here

# python-telegram-bot's coming durations as timedelta; the bot reads both forms.
os.environ.setdefault("PTB_TIMEDELTA", "1")

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# An insecure key is fine for the embedded default only; production.py demands one.
SECRET_KEY = env.str("SECRET_KEY", default="embedded-default-insecure-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django_rq",  # before admin so its link shows on the admin index
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "import_export",
    "botapp",
    "downloads",
    "ads",
    "referrals",
    "abtests",
    "users",
    "analytics",
]
# The development sandbox (offline Telegram, video site, benchmarks) is not in the
# Docker image; where it exists its management commands are available.
if importlib.util.find_spec("sandbox") is not None:
    INSTALLED_APPS.append("sandbox")
INSTALLED_APPS.append("config.apps.BackOfficeConfig")  # last: adjusts the admin registrations

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.admin_access.back_office_context",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'videobot.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The bot, its worker threads and the web process share one file.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: one connection setting for the cache, the counters and the queues ----
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_EMBEDDED = not REDIS_URL
# Calls made on the bot's event loop (and in the one thread its sync_to_async calls
# share) wait at most REDIS_LOOP_TIMEOUT, never retry, and then skip Redis for a few
# seconds (config.redis.get_fast_redis); everything else waits up to REDIS_TIMEOUT.
REDIS_LOOP_TIMEOUT = env.float("REDIS_LOOP_TIMEOUT", default=0.3)
_redis_options: dict = {
    "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=1.0),
    "SOCKET_TIMEOUT": env.float("REDIS_TIMEOUT", default=3.0),
}
if REDIS_EMBEDDED:
    import fakeredis

    # fakeredis keeps one server per host:port in the process, so every client built
    # from this location (cache, counters, django-rq) sees the same data.
    _redis_options["CONNECTION_POOL_KWARGS"] = {"connection_class": fakeredis.FakeConnection}
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL or "redis://embedded-fakeredis:6379/0",
        "KEY_PREFIX": "cache",
        "OPTIONS": _redis_options,
    },
}

# --- Queues ---------------------------------------------------------------------
# One queue: download jobs (events travel on a Redis stream, not through rq).
RQ_QUEUES = {"downloads": {"USE_REDIS_CACHE": "default", "DEFAULT_TIMEOUT": 900}}
RQ = {
    "COMMIT_MODE": "on_db_commit",
    # Failures are stored (and shown on the dashboard) with secrets redacted.
    "JOB_CLASS": "config.queues.RedactingJob",
    "WORKER_CLASS": "config.queues.Worker",
}
RQ_SHOW_ADMIN_LINK = True
# Without a Redis server no rqworker process can share the stand-in, so the bot runs
# its workers in threads instead.
RQ_EMBEDDED_WORKERS = env.int("RQ_EMBEDDED_WORKERS", default=2 if REDIS_EMBEDDED else 0)

# --- Auth, i18n, static ---------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский"), ("uk", "Українська"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG:
    STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
LOGIN_URL = "admin:login"
IMPORT_EXPORT_FORMATS = [CSV, XLSX]
EXPORT_FORMATS = [CSV, XLSX]
# Export and import each need their own permission per model (<app>.export_<model>,
# <app>.import_<model>; superusers have all), not just access to the admin.
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
# Exports run inside the web request: more rows than this are refused with a message
# (about 5 s of work; gunicorn stops a request after 30 s).
EXPORT_MAX_ROWS = env.int("EXPORT_MAX_ROWS", default=20000)

# --- The bot --------------------------------------------------------------------
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
# Empty: the cloud Bot API. A local Bot API server (telegram-bot-api --local) lifts
# the upload limit to 2000 MB.
TELEGRAM_API_URL = env.str("TELEGRAM_API_URL", default="")
TELEGRAM_LOCAL_MODE = env.bool("TELEGRAM_LOCAL_MODE", default=bool(TELEGRAM_API_URL))
# Keep under Telegram's flood limits (per chat, per group, overall). Off only for
# throughput benchmarks against the offline API with its limits off.
TELEGRAM_FLOOD_LIMITS = env.bool("TELEGRAM_FLOOD_LIMITS", default=True)
FREE_DOWNLOADS = env.int("FREE_DOWNLOADS", default=10)
# Where this project's web side is reachable from users' phones: ad buttons point at its
# click redirect (/ads/click/<token>). Telegram accepts only public https URLs there.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8001")
ADS_CLICK_TOKEN_MAX_AGE_DAYS = env.int("ADS_CLICK_TOKEN_MAX_AGE_DAYS", default=30)
# The paid tier, in Telegram Stars (XTR): 30 days without ads, once or every month.
# An invoice issued at another price is refused at checkout once the price changes.
PREMIUM_STARS = env.int("PREMIUM_STARS", default=100)
PREMIUM_SUBSCRIPTION_STARS = env.int("PREMIUM_SUBSCRIPTION_STARS", default=90)
# Where /paysupport sends users with a payment problem (Telegram's terms ask for it).
PAYMENTS_SUPPORT_CONTACT = env.str("PAYMENTS_SUPPORT_CONTACT", default="support@example.org")
# Referrals: ad-free downloads a referrer earns when a friend completes a first download,
# the optional gift to the friend, and how many paid bonuses one referrer may collect.
REFERRAL_BONUS = env.int("REFERRAL_BONUS", default=5)
REFERRAL_WELCOME_BONUS = env.int("REFERRAL_WELCOME_BONUS", default=0)
REFERRAL_MAX_PER_DAY = env.int("REFERRAL_MAX_PER_DAY", default=10)
REFERRAL_MAX_TOTAL = env.int("REFERRAL_MAX_TOTAL", default=100)
MAX_UPLOAD_MB = env.int("MAX_UPLOAD_MB", default=2000 if TELEGRAM_LOCAL_MODE else 50)
# Files under this size go from yt-dlp to Telegram in memory, never touching disk.
IN_MEMORY_MAX_MB = env.int("IN_MEMORY_MAX_MB", default=20)
DOWNLOAD_TIMEOUT_SECONDS = env.int("DOWNLOAD_TIMEOUT_SECONDS", default=600)
DOWNLOAD_TMP_DIR = env.str("DOWNLOAD_TMP_DIR", default="")
ENABLED_PLATFORMS = env.list("ENABLED_PLATFORMS", default=["youtube", "instagram", "tiktok"])
# A private channel or chat the bot can post to; inline downloads are uploaded there to
# obtain a file_id.
TELEGRAM_STORAGE_CHAT_ID = env.int("TELEGRAM_STORAGE_CHAT_ID", default=0)
# yt-dlp from a server (config/ytdlp.py): a Netscape cookies file of a signed-in account
# per platform (read-only, never logged), and an outbound proxy for everything yt-dlp
# fetches (the network guard still checks every URL it is asked for).
YOUTUBE_COOKIES_FILE = env.str("YOUTUBE_COOKIES_FILE", default="")
INSTAGRAM_COOKIES_FILE = env.str("INSTAGRAM_COOKIES_FILE", default="")
TIKTOK_COOKIES_FILE = env.str("TIKTOK_COOKIES_FILE", default="")
YTDLP_COOKIES_FILES = {
    "youtube": YOUTUBE_COOKIES_FILE,
    "instagram": INSTAGRAM_COOKIES_FILE,
    "tiktok": TIKTOK_COOKIES_FILE,
}
YTDLP_PROXY = env.str("YTDLP_PROXY", default="")
# A platform refusing this many downloads with a bot check within the window raises
# the admin alert (config/platform_alerts.py).
SIGNIN_ALERT_THRESHOLD = env.int("SIGNIN_ALERT_THRESHOLD", default=3)
SIGNIN_ALERT_WINDOW_SECONDS = env.int("SIGNIN_ALERT_WINDOW_SECONDS", default=3600)
# Maps a platform's real origin to the local video site (sandbox and tests only).
# production.py refuses any value here.
MEDIA_ORIGIN_OVERRIDES = env.json("MEDIA_ORIGIN_OVERRIDES", default={})

# Where events wait when Redis cannot be reached (replayed into the stream later).
ANALYTICS_SPOOL_DIR = env.path("ANALYTICS_SPOOL_DIR", default=str(VAR_DIR / "spool"))
# The spool's size limit; at it new events are dropped (logged), the spooled ones kept.
# About 1.5 million events (an event is about 350 bytes).
ANALYTICS_SPOOL_MAX_MB = env.int("ANALYTICS_SPOOL_MAX_MB", default=512)

# --- The staff dashboard (/dashboard/) -----------------------------------------
# Bearer token for /dashboard/api/ (read-only); empty: staff sessions only.
DASHBOARD_API_TOKEN = env.str("DASHBOARD_API_TOKEN", default="")
# Time zones the dashboard cuts days in (whole-hour offsets only); the first one of
# DASHBOARD_TIME_ZONE and this list is the default of the picker.
DASHBOARD_TIME_ZONE = env.str("DASHBOARD_TIME_ZONE", default=TIME_ZONE)
DASHBOARD_TIME_ZONES = env.list(
    "DASHBOARD_TIME_ZONES", default=["UTC", "Europe/Moscow", "Europe/Kyiv", "America/New_York"]
)
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=30)
# How often the analytics worker refreshes the rollups the stream does not keep itself.
DASHBOARD_ROLLUP_SECONDS = env.float("DASHBOARD_ROLLUP_SECONDS", default=30.0)
# The insights' full recomputes (geography, retention, cohorts) run at most this often.
DASHBOARD_INSIGHTS_SECONDS = env.int("DASHBOARD_INSIGHTS_SECONDS", default=600)
# Log every SQL query slower than this (milliseconds, with its SQL); 0 turns it off.
SLOW_QUERY_MS = env.int("SLOW_QUERY_MS", default=200)
# Warn (worker start, /healthz) when Redis would lose or evict the event stream:
# appendonly off, or a maxmemory-policy other than noeviction. On in production.
REDIS_PERSISTENCE_CHECK = env.bool("REDIS_PERSISTENCE_CHECK", default=False)
# Updates of one chat waiting their turn (each chat's run one at a time); past this a
# private chat's further updates are dropped with one "slow down" answer. A group's
# come from many people: its bound is much higher.
CHAT_UPDATES_BACKLOG = env.int("CHAT_UPDATES_BACKLOG", default=20)
GROUP_UPDATES_BACKLOG = env.int("GROUP_UPDATES_BACKLOG", default=500)
# Admission control. Requests one user may have waiting or running at once; jobs the
# downloads queue may hold before new requests are told to come back later; the longest
# media fetched (seconds, read from the metadata before downloading; 0: no limit).
MAX_QUEUED_PER_USER = env.int("MAX_QUEUED_PER_USER", default=3)
DOWNLOADS_QUEUE_MAX = env.int("DOWNLOADS_QUEUE_MAX", default=1000)
MAX_DURATION_SECONDS = env.int("MAX_DURATION_SECONDS", default=3 * 3600)

# --- Logging --------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "config.logging.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # httpx logs every request URL, and Bot API URLs carry the token.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# A/B experiments: how long a process keeps its snapshot of the running experiments (an
# admin change reaches the bot within it), and the users per variant below which the
# results page says "not enough data" instead of comparing.
ABTESTS_SNAPSHOT_SECONDS = env.float("ABTESTS_SNAPSHOT_SECONDS", default=5.0)
ABTESTS_MIN_SAMPLE = env.int("ABTESTS_MIN_SAMPLE", default=100)
