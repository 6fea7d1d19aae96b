"""The spool for events published while Redis is down: bounded, and on a volume."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml
from django.test import override_settings

from analytics import publisher
from analytics.events import DownloadCompleted
from analytics.models import Download
from analytics.publisher import publish, spool_dropped_count, spool_size
from analytics.worker import Worker

from .conftest import drain

ROOT = Path(__file__).resolve().parents[2]


def event(user_id: int) -> DownloadCompleted:
    return DownloadCompleted(
        user_id=user_id,
        video_id="youtube:aaaaaaaaaaa",
        platform="youtube",
        source="message",
    )


@pytest.mark.django_db(transaction=True)  # the event worker commits
def test_at_the_cap_new_events_are_dropped_and_the_spooled_ones_kept(settings, caplog, monkeypatch):
    monkeypatch.setattr(publisher, "_next_drop_log", 0.0)
    one_event = len(event(1).to_json()) + 1
    settings.ANALYTICS_SPOOL_MAX_MB = 10.5 * one_event / publisher.MB  # room for 10 events
    dropped_before = spool_dropped_count()
    unreachable = {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/15"}

    with override_settings(CACHES={"default": unreachable}), caplog.at_level(logging.ERROR):
        for user_id in range(1, 26):
            publish(event(user_id))  # never raises, never blocks, full or not

    assert spool_size() <= publisher.spool_limit_bytes()
    assert spool_dropped_count() - dropped_before == 15
    full = [r for r in caplog.records if "event spool full" in r.getMessage()]
    assert len(full) == 1  # once a minute, not once per event
    assert "new events are dropped" in full[0].getMessage()

    worker = Worker(consumer="spool", block_ms=50)
    worker.maintenance(partitions_due=False)  # Redis is back: the spool replays
    drain(worker)
    assert sorted(Download.objects.values_list("user_id", flat=True)) == list(range(1, 11))
    assert spool_size() == 0
    publisher.breaker_reset()  # as after the breaker's few seconds
    publish(event(99))
    drain(worker)
    assert Download.objects.filter(user_id=99).exists()


def test_compose_keeps_the_spool_on_a_volume_every_service_shares():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "spool" in compose["volumes"]
    for name in ("web", "bot", "worker", "events", "migrate"):
        service = compose["services"][name]
        directory = service["environment"]["ANALYTICS_SPOOL_DIR"]
        assert f"spool:{directory}" in service["volumes"], name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "mkdir -p var/spool && chown -R app:app var" in dockerfile  # writable by the app user
