from __future__ import annotations

import logging

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_it_logs_a_query_slower_than_the_threshold_with_its_sql(settings, caplog):
    settings.SLOW_QUERY_MS = 50
    with (
        caplog.at_level(logging.WARNING, logger="analytics.slow_queries"),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT pg_sleep(0.08), 'slow one'")
        cursor.execute("SELECT 'quick one'")
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1
    assert messages[0].startswith("slow query ")
    assert "pg_sleep(0.08), 'slow one'" in messages[0]


def test_it_logs_nothing_when_turned_off(settings, caplog):
    settings.SLOW_QUERY_MS = 0
    with (
        caplog.at_level(logging.WARNING, logger="analytics.slow_queries"),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT pg_sleep(0.02)")
    assert not caplog.records
