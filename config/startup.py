"""Which settings module a process uses when ``DJANGO_SETTINGS_MODULE`` is not set.

Anything that serves or works for real users (gunicorn, an ASGI server, ``runbot``,
``rqworker``, ``migrate``...) defaults to ``config.settings.production``, which refuses
to start without a real secret key, hosts, PostgreSQL and Redis. Forgetting the
variable on a server therefore stops the process instead of running it on the
repository's published development key. Only the ``manage.py`` commands that exist for
development default to the embedded settings; ``scripts/run`` (the development runner)
sets ``config.settings.base`` itself, the test suite sets ``config.settings.test``, and
a ``DJANGO_SETTINGS_MODULE`` line in ``.env`` counts like the environment variable.

This module must not import Django settings: it runs before they are chosen.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = "config.settings.production"
DEVELOPMENT = "config.settings.base"

# manage.py commands that only make sense on a developer's machine. (Not "shell" or
# "migrate": on a server they must reach the real database, not an embedded one.)
DEVELOPMENT_COMMANDS = frozenset(
    {
        "runserver",
        "sandbox",
        "test",
        "makemigrations",
        "squashmigrations",
        "makemessages",
        "compilemessages",
        "bench_bot",
        "bench_events",
        "bench_cleanup",
        "record_demo",
    }
)


def settings_module_default(argv: Sequence[str] | None = None) -> str:
    """The settings module for ``manage.py argv`` (None: a server entry point)."""
    if argv is not None and len(argv) > 1 and argv[1] in DEVELOPMENT_COMMANDS:
        return DEVELOPMENT
    return PRODUCTION


def settings_module_select(argv: Sequence[str] | None = None) -> str:
    """Set ``DJANGO_SETTINGS_MODULE`` unless the environment or ``.env`` chose one;
    returns it."""
    # The settings read .env too (never overriding the environment); reading it first
    # lets its DJANGO_SETTINGS_MODULE take part in the choice.
    environ.Env.read_env(ROOT / ".env", overwrite=False)
    return os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module_default(argv))
