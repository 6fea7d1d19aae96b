"""HTTP side of the sandbox: the Bot API endpoint, file downloads and the chat page.

URL layout (all on one port):

- ``/bot<token>/<method>``: the Bot API (query string, JSON, urlencoded or multipart).
- ``/file/bot<token>/<file_path>``: downloads of files that getFile described.
- ``/``: the chat page; ``/sandbox/api/...``: its JSON endpoints (see ``chat_page``);
  ``/sandbox/files/<file_id>``: stored media with Range support, for ``<video>``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from sandbox import chat_page
from sandbox.telegram_state import ApiError, Upload, bad_request

if TYPE_CHECKING:
    from sandbox.telegram_api import TelegramApiDouble

PAGE = Path(__file__).with_name("static") / "chat.html"
_CHUNK = 1024 * 1024
_ONE_WRITE_MAX = 64 * 1024
# Room for the non-file fields and multipart framing next to a file of the maximum size.
_BODY_SLACK = 1024 * 1024

_JSON_FIELDS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "media",
    "results",
    "commands",
    "scope",
    "allowed_updates",
    "reply_parameters",
    "link_preview_options",
    "button",
    "prices",
    "suggested_tip_amounts",
}
_INT_FIELDS = {
    "message_id",
    "user_id",
    "offset",
    "limit",
    "timeout",
    "reply_to_message_id",
    "duration",
    "width",
    "height",
    "cache_time",
    "message_thread_id",
    "max_connections",
    "subscription_period",
    "max_tip_amount",
}
_BOOL_FIELDS = {
    "disable_notification",
    "protect_content",
    "supports_streaming",
    "show_alert",
    "is_personal",
    "drop_pending_updates",
    "has_spoiler",
    "disable_web_page_preview",
    "allow_sending_without_reply",
    "disable_content_type_detection",
    "show_caption_above_media",
    "ok",
    "is_canceled",
}


def decode_params(raw: dict, uploads: dict[str, Upload]) -> dict:
    """Typed parameters as Telegram reads them: form values are strings, JSON is nested."""
    params: dict = {}
    for key, value in raw.items():
        params[key] = _coerce(key, value)
    for name, upload in uploads.items():
        params.setdefault(name, upload)
    params["__uploads__"] = uploads
    return params


def _coerce(key: str, value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        if key in _JSON_FIELDS:
            return json.loads(value)
        if key in _INT_FIELDS or (key == "chat_id" and re.fullmatch(r"-?\d+", value)):
            return int(value)
    except ValueError:
        raise bad_request(f"can't parse parameter {key}") from None
    if key in _BOOL_FIELDS:
        return value.lower() in ("true", "1")
    return value


def loggable(params: dict) -> dict:
    """The payload as tests read it back: files as name and size, never bytes."""
    uploads = params.get("__uploads__", {})

    def clean(value: object) -> object:
        if isinstance(value, Upload):
            return value.describe()
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
            return upload.describe() if upload else value
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return {k: clean(v) for k, v in params.items() if k != "__uploads__"}


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, Upload]]:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise bad_request("multipart boundary is missing")
    fields: dict[str, str] = {}
    uploads: dict[str, Upload] = {}
    for chunk in body.split(b"--" + match.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = dict(
            (name.strip().lower(), value.strip())
            for name, _, value in (line.partition(":") for line in head.decode().split("\r\n"))
        )
        disposition = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"|filename\*=(?:utf-8\'\')?([^;]+)', disposition)
        if not name:
            continue
        data = data.removesuffix(b"\r\n")
        if filename:
            uploads[name.group(1)] = Upload(
                field=name.group(1),
                filename=unquote(filename.group(1) or filename.group(2) or "file"),
                content_type=headers.get("content-type", ""),
                data=data,
            )
        else:
            fields[name.group(1)] = data.decode()
    return fields, uploads


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a burst of concurrent calls on a busy machine
    # found it full and had connections reset. Telegram's servers take any burst.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], double: TelegramApiDouble) -> None:
        self.double = double
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, SandboxHandler)

    def process_request(self, request: socket.socket, client_address: tuple) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut idle keep-alive connections so their threads end with the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TelegramSandbox/1.0"
    timeout = 300
    # Without this, Nagle plus delayed ACKs add about 40 ms to a call whose answer goes
    # out in more than one write (a file download).
    disable_nagle_algorithm = True
    server: SandboxServer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the URL holds the bot token, which must never reach a log."""

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def _route(self, verb: str) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)  # PTB percent-encodes file URLs, token included
        try:
            if match := re.fullmatch(r"/bot([^/]*)/([^/]+)", path):
                self._bot_api(match.group(1), match.group(2), url.query)
            elif match := re.fullmatch(r"/file/bot([^/]*)/(.+)", path):
                self._bot_file(match.group(1), match.group(2), verb)
            elif path == "/":
                self._send(200, PAGE.read_bytes(), "text/html; charset=utf-8", verb)
            elif path.startswith("/sandbox/files/"):
                self._media(path.removeprefix("/sandbox/files/"), verb)
            elif path.startswith("/sandbox/api/"):
                self._page_api(verb, path.removeprefix("/sandbox/api/"), url.query)
            else:
                self._discard_body()
                self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as error:  # a sandbox bug must reach the client, not kill it
            self.close_connection = True
            message = f"Internal Server Error: {type(error).__name__}: {error}"
            self._json(500, {"ok": False, "error_code": 500, "description": message})

    # -- Bot API -------------------------------------------------------------------

    def _bot_api(self, token: str, method: str, query: str) -> None:
        double = self.server.double
        if token != double.token or not double.api.knows(method):
            # As Telegram: a well-formed but wrong token is 401, anything else unknown 404.
            self._discard_body()
            wrong_token = token != double.token and re.fullmatch(r"\d+:[\w-]+", token)
            status, description = (401, "Unauthorized") if wrong_token else (404, "Not Found")
            self._json(status, {"ok": False, "error_code": status, "description": description})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > double.api.config.upload_limit + _BODY_SLACK:
            self._discard_body()
            error = ApiError(413, "Request Entity Too Large")
            double.state.record_call(method, {"body_size": length}, 413, error.body())
            self._json(413, error.body())
            return
        status, answer = self._call(method, query, self._read_body())
        self._json(status, answer)

    def _call(self, method: str, query: str, body: bytes) -> tuple[int, dict]:
        state = self.server.double.state
        params: dict = {}
        try:
            params = decode_params(*self._raw_params(query, body))
            result = self.server.double.api.call(method, params)
            status, answer = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, answer = error.status, error.body()
        if method.lower() != "getupdates":
            state.record_call(method, loggable(params), status, answer)
        return status, answer

    def _raw_params(self, query: str, body: bytes) -> tuple[dict, dict[str, Upload]]:
        raw: dict = dict(parse_qsl(query, keep_blank_values=True))
        uploads: dict[str, Upload] = {}
        content_type = self.headers.get("Content-Type", "")
        if not body:
            return raw, uploads
        if content_type.startswith("application/json"):
            try:
                decoded = json.loads(body)
            except ValueError:
                raise bad_request("can't parse JSON request body") from None
            raw.update(decoded if isinstance(decoded, dict) else {})
        elif content_type.startswith("multipart/form-data"):
            fields, uploads = parse_multipart(body, content_type)
            raw.update(fields)
        else:
            raw.update(parse_qsl(body.decode(), keep_blank_values=True))
        return raw, uploads

    def _bot_file(self, token: str, file_path: str, verb: str) -> None:
        double = self.server.double
        file_id = double.state.file_paths.get(file_path)
        stored = double.state.files.get(file_id or "")
        if token != double.token:
            self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        elif stored is None or stored.content is None:
            self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        else:
            self._send_range(stored.content, stored.mime_type, verb)

    # -- chat page -----------------------------------------------------------------

    def _page_api(self, verb: str, endpoint: str, query: str) -> None:
        body = self._read_body()
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = {}
        params = dict(parse_qsl(query)) | (payload if isinstance(payload, dict) else {})
        status, answer = chat_page.handle(self.server.double, verb, endpoint, params)
        self._json(status, answer)

    def _media(self, file_id: str, verb: str) -> None:
        stored = self.server.double.state.files.get(file_id)
        if stored is None or stored.content is None:
            self._send(404, b"not found", "text/plain", verb)
        else:
            self._send_range(stored.content, stored.mime_type, verb)

    # -- plumbing ------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _discard_body(self) -> None:
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            chunk = self.rfile.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)

    def _json(self, status: int, answer: object) -> None:
        body = json.dumps(answer, ensure_ascii=False).encode()
        self._send(status, body, "application/json", "POST")

    def _send(self, status: int, body: bytes, content_type: str, verb: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        # A small answer goes out in one write with its headers: two writes wake the
        # client twice (a busy double spent half its time in the header write).
        small = len(body) <= _ONE_WRITE_MAX
        self._headers_buffer.append(b"\r\n")
        if verb != "HEAD" and small:
            self._headers_buffer.append(body)
        self.flush_headers()
        if verb != "HEAD" and not small:
            self.wfile.write(body)

    def _send_range(self, data: bytes, content_type: str, verb: str) -> None:
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if not match or not data:
            self._send(200, data, content_type, verb, Accept_Ranges="bytes")
            return
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
        else:
            start, end = max(len(data) - int(last or 0), 0), len(data) - 1
        if start > end:
            self._send(416, b"", content_type, verb, Content_Range=f"bytes */{len(data)}")
            return
        self._send(
            206,
            data[start : end + 1],
            content_type,
            verb,
            Accept_Ranges="bytes",
            Content_Range=f"bytes {start}-{end}/{len(data)}",
        )
