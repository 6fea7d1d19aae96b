"""python-telegram-bot's networking on aiohttp.

python-telegram-bot ships one backend, on httpx. Under load that backend cost the bot
most of its CPU: httpcore checks every pooled connection on each call and each answer
(a ``getpeername`` per connection), and a cache hit is one ``sendVideo`` call, so
httpx's overhead bounded how many cached videos a second the bot could send. This is
the same ``BaseRequest`` contract on aiohttp's connection pool, which does that
bookkeeping in C: the bot's calls are unchanged, only the transport differs.

A call without files goes out as one JSON body (the Bot API takes ``application/json``):
encoding the same parameters as a form cost a cache hit a fifth of the bot's CPU, in
aiohttp's form machinery and URL quoting. A call with files is a multipart form, the
parameters as python-telegram-bot encodes them (a file object is streamed, not read into
memory). Timeouts follow
python-telegram-bot's meaning: ``connect`` to open a connection, ``read`` between two
reads of the answer, ``pool`` to wait for a free pooled connection. aiohttp has no
per-write timeout, so an upload is bounded as a whole by ``write + read`` seconds. An
HTTP(S) proxy is taken from ``HTTPS_PROXY`` (and ``NO_PROXY``) as before, read once per
origin.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    __slots__ = ("_pool_size", "_proxies", "_session", "_timeouts")

    def __init__(
        self,
        *,
        connection_pool_size: int = 16,
        connect_timeout: float | None = 10.0,
        read_timeout: float | None = 30.0,
        write_timeout: float | None = 30.0,
        pool_timeout: float | None = 30.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._timeouts = {
            "connect": connect_timeout,
            "read": read_timeout,
            "write": write_timeout,
            "pool": pool_timeout,
        }
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}  # origin -> its proxy from the environment

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        # The session belongs to the running event loop, so it is made here, not in
        # __init__; initialising twice keeps the first.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                # Telegram answers JSON; cookies and redirects play no part.
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        connect = self._given(connect_timeout, "connect")
        read = self._given(read_timeout, "read")
        write = self._given(write_timeout, "write")
        pool = self._given(pool_timeout, "pool")
        body = _body(request_data)
        uploads = isinstance(body, aiohttp.FormData)
        headers = None if uploads or body is None else _JSON
        timeout = aiohttp.ClientTimeout(
            total=write + read if uploads and write is not None and read is not None else None,
            connect=pool + connect if pool is not None and connect is not None else None,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                proxy=self._proxy_for(url),
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts subclass it
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            # Some aiohttp errors quote the URL, whose path holds the bot token.
            text = str(exc).replace(url, "<url>").replace(urlsplit(url).path, "<path>")
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {text}") from exc

    def _proxy_for(self, url: str) -> str | None:
        # aiohttp's trust_env reads the environment on every request, which cost a
        # quarter of the cache hits a second; the bot talks to one origin, so once.
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._proxies:
            proxies = urllib.request.getproxies_environment()
            bypass = urllib.request.proxy_bypass_environment(parts.hostname or "", proxies)
            self._proxies[origin] = None if bypass else proxies.get(parts.scheme)
        return self._proxies[origin]

    def _given(self, value: ODVInput[float], name: str) -> float | None:
        return self._timeouts[name] if isinstance(value, DefaultValue) else value


_JSON = {"Content-Type": "application/json"}


def _body(request_data: RequestData | None) -> Any:
    """The parameters as JSON bytes, or a multipart form when the call carries files."""
    if request_data is None:
        return None
    files = request_data.multipart_data
    if not files:
        # Nested values (a keyboard, entities) as JSON objects, as Telegram reads them.
        return json.dumps(request_data.parameters).encode()
    fields = request_data.json_parameters
    form = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
