"""The development sandbox, never part of the product (left out of the Docker image):

- an offline Telegram Bot API double with a web chat page (``telegram_api.py`` and the
  ``telegram_*.py`` modules it is built from, ``chat_page.py``); the entry point is
  ``from sandbox.telegram_api import TelegramApiDouble``;
- a local video site answering for youtube.com, instagram.com and tiktok.com links
  (``videosite.py``, clips made with ffmpeg in ``clips.py``);
- the benchmarks' helpers (``events_benchmark.py``) and the ``sandbox``, ``bench_bot``,
  ``bench_events`` and ``bench_cleanup`` commands (``management/commands/``).

Imports: anything (it drives the real bot). Nothing in the product imports it; the
tests and ``scripts/run`` (through ``manage.py sandbox``) do.
"""
