"""Deep links: ``t.me/<bot>?start=<payload>`` arrives as ``/start <payload>``.

One router maps payload prefixes to handlers, so a feature plugs in with
``@route("ref_")`` without touching ``/start``. A payload that is malformed, too long
or unknown is ignored and the user gets the normal welcome.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

# Telegram allows 1-64 characters of A-Z a-z 0-9 _ - in a start parameter.
PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# A handler gets (update, context, user, argument) and returns True when it answered
# the user itself; False means "show the welcome".
DeepLinkHandler = Callable[[Any, Any, Any, str], Awaitable[bool]]
_routes: dict[str, DeepLinkHandler] = {}


def route(prefix: str) -> Callable[[DeepLinkHandler], DeepLinkHandler]:
    def register(handler: DeepLinkHandler) -> DeepLinkHandler:
        _routes[prefix] = handler
        return handler

    return register


def resolve(payload: str) -> tuple[DeepLinkHandler, str] | None:
    if not PAYLOAD.match(payload or ""):
        return None
    for prefix, handler in _routes.items():
        if payload.startswith(prefix) and len(payload) > len(prefix):
            return handler, payload[len(prefix) :]
    return None
