from __future__ import annotations

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config import platform_alerts, ytdlp
from config.health import health_reports
from config.redis import redis_ping

log = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        log.warning("healthz: database check failed", exc_info=True)
        return False


def _redis_ok() -> bool:
    try:
        return redis_ping()
    except Exception:
        log.warning("healthz: redis check failed", exc_info=True)
        return False


@never_cache
@require_GET
def healthz(request):
    status = {
        "database": "ok" if _database_ok() else "unavailable",
        "redis": "ok" if _redis_ok() else "unavailable",
    }
    healthy = all(value == "ok" for value in status.values())
    # Facts for the operator that do not make the process unhealthy.
    status["yt_dlp"] = ytdlp.ytdlp_version()
    if status["redis"] == "ok":
        status["sign_in_demanded"] = [d.platform for d in platform_alerts.signin_demands()]
        # The apps' reports (the event pipeline's dead letters and Redis persistence):
        # reported, never a reason to restart.
        warnings: list[str] = []
        for report in health_reports():
            figures, found = report()
            status.update(figures)
            warnings += found
        if warnings:
            status["warnings"] = warnings
    return JsonResponse(status, status=200 if healthy else 503)
