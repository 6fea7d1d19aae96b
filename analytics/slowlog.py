"""Logs every SQL query slower than ``SLOW_QUERY_MS`` with its SQL and duration.

Installed on each new database connection (``connection_created``) through Django's
``execute_wrapper``, so it sees the ORM's and raw cursors' queries alike. Parameters
are not logged: they may hold personal data.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db.backends.signals import connection_created
from django.dispatch import receiver

log = logging.getLogger("analytics.slow_queries")
_MAX_SQL = 4000


def slow_query_logger(execute, sql, params, many, context):
    threshold = settings.SLOW_QUERY_MS
    if threshold <= 0:
        return execute(sql, params, many, context)
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000
        if elapsed_ms >= threshold:
            text = " ".join(str(sql).split())
            log.warning("slow query %.0f ms: %s", elapsed_ms, text[:_MAX_SQL])


@receiver(connection_created)
def _install(sender, connection, **kwargs) -> None:
    if slow_query_logger not in connection.execute_wrappers:
        connection.execute_wrappers.append(slow_query_logger)
