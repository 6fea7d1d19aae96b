from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import django_rq
import pytest
import yaml

from config.redis import get_redis

ROOT = Path(__file__).resolve().parents[2]


def test_rqworker_processes_the_downloads_queue_against_redis():
    django_rq.get_queue("downloads").enqueue("tests.foundation.jobs.mark_done", "done:downloads")
    result = subprocess.run(
        [sys.executable, "manage.py", "rqworker", "downloads", "--burst"],
        cwd=ROOT,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "config.settings.test"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert get_redis().get("done:downloads") == b"done"


def test_the_only_queue_is_downloads_and_the_docs_say_so(settings, compose):
    assert set(settings.RQ_QUEUES) == {"downloads"}
    readme = (ROOT / "README.md").read_text()
    documented = re.findall(r"(?:manage\.py |`)rqworker((?: [a-z]+)+)", readme)
    assert documented and all(queues.split() == ["downloads"] for queues in documented)
    assert compose["services"]["worker"]["command"][-2:] == ["rqworker", "downloads"]


def test_the_docker_image_leaves_the_sandbox_and_tests_out():
    ignored = {
        line.strip().strip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"sandbox", "tests", ".venv", "var"} <= ignored


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_part_with_health_checks(compose):
    services = compose["services"]
    assert {"postgres", "redis", "web", "bot", "worker", "events"} <= set(services)
    for name in ("postgres", "redis", "web"):
        assert services[name]["healthcheck"]["test"]
    assert services["bot"]["command"][-1] == "runbot"
    assert "rqworker" in services["worker"]["command"]
    assert services["web"]["environment"]["DJANGO_SETTINGS_MODULE"] == (
        "config.settings.production"
    )


def test_the_image_runs_as_a_non_root_user_with_ffmpeg_and_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11-slim")
    assert "ffmpeg" in dockerfile and "collectstatic" in dockerfile
    assert "\nUSER app" in dockerfile


def test_env_example_lists_every_setting_read_from_the_environment():
    names = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        text = path.read_text()
        for kind in ("str", "bool", "int", "float", "list", "json", "path", "db_url"):
            marker = f'env.{kind}("'
            for chunk in text.split(marker)[1:]:
                names.add(chunk.split('"', 1)[0])
    listed = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert names and names <= listed, sorted(names - listed)
