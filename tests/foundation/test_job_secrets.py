"""A job that fails with the bot token in its exception stores no token anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import django_rq
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rq.job import Job

from config.queues import RedactingJob, ThreadWorker, Worker
from config.redis import get_redis
from tests.processes import ROOT

# The shape of a real token (bot id, colon, 35 characters), made up.
TOKEN = "7312456890:AAFq3ZkT9vXw2LmN8pRs4HjY6cBd1EgUiOo"


class _Rejecting(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def rejecting_api() -> Iterator[str]:
    """A Bot API on 127.0.0.1 that rejects every token, as Telegram does a revoked one."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Rejecting)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bot"
    server.shutdown()
    server.server_close()


def test_the_configured_queues_and_workers_redact_failures(settings):
    assert django_rq.get_queue("downloads").job_class is RedactingJob
    assert issubclass(django_rq.workers.get_worker_class(), Worker)
    assert Worker.job_class is RedactingJob and ThreadWorker.job_class is RedactingJob


@pytest.mark.django_db
def test_the_token_is_absent_from_stored_job_results_and_the_dashboard(
    rejecting_api: str, client, settings
):
    queue = django_rq.get_queue("downloads", commit_mode="auto")
    job = queue.enqueue("tests.foundation.jobs.bot_initialize", rejecting_api)

    worker = subprocess.run(
        [sys.executable, "manage.py", "rqworker", "downloads", "--burst"],
        cwd=ROOT,
        env=os.environ
        | {"DJANGO_SETTINGS_MODULE": "config.settings.test", "TELEGRAM_BOT_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert worker.returncode == 0, worker.stderr
    job = Job.fetch(job.id, connection=get_redis())
    assert job.get_status() == "failed"
    stored = job.latest_result().exc_string
    assert "InvalidToken" in stored and "was rejected by the server" in stored
    assert TOKEN not in stored and "[REDACTED]" in stored
    assert TOKEN not in (job._exc_info or "")
    assert job.id in queue.failed_job_registry.get_job_ids()
    # Whatever rq wrote to Redis, compressed or not, holds no token either.
    for key in get_redis().scan_iter("rq:*"):
        assert TOKEN.encode() not in _dump(key), key
    assert TOKEN not in worker.stdout + worker.stderr  # the worker's log

    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    index = sorted(settings.RQ_QUEUES).index("downloads")  # django-rq orders queues by name
    page = client.get(reverse("admin:django_rq_job_detail", args=[index, job.id]))
    assert page.status_code == 200 and TOKEN.encode() not in page.content
    result = job.latest_result()
    shown = client.get(reverse("admin:django_rq_result_detail", args=[index, job.id, result.id]))
    assert shown.status_code == 200
    assert b"was rejected by the server" in shown.content  # the failure is on show...
    assert TOKEN.encode() not in shown.content  # ...without the token


def _dump(key: bytes) -> bytes:
    redis = get_redis()
    kind = redis.type(key)
    if kind == b"string":
        return _inflated(redis.get(key))
    if kind == b"hash":
        return b" ".join(_inflated(value) for value in redis.hgetall(key).values())
    if kind == b"stream":
        return b" ".join(
            _inflated(value) for _id, fields in redis.xrange(key) for value in fields.values()
        )
    if kind == b"zset":
        return b" ".join(redis.zrange(key, 0, -1))
    if kind == b"list":
        return b" ".join(redis.lrange(key, 0, -1))
    return b""


def _inflated(value: bytes) -> bytes:
    try:
        return value + zlib.decompress(value)
    except zlib.error:
        return value
