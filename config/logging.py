"""Keeps the bot token and other secrets out of every log line."""

from __future__ import annotations

import logging
import re

from django.conf import settings

# Bot API URLs embed the token as /bot<id>:<secret>/; mask any such shape, known or not.
_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
# user:password@ in any URL, e.g. a proxy's (YTDLP_PROXY=http://user:password@host).
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s@:]+:[^/\s@]+(?=@)")


def redact(text: str) -> str:
    for secret in _secrets():
        text = text.replace(secret, "[REDACTED]")
    text = _URL_CREDENTIALS.sub("[REDACTED]", text)
    return _TOKEN_SHAPE.sub("[REDACTED]", text)


def _secrets() -> list[str]:
    if not settings.configured:
        return []
    values = [getattr(settings, "TELEGRAM_BOT_TOKEN", ""), getattr(settings, "SECRET_KEY", "")]
    return [v for v in values if v and len(v) >= 8]


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
