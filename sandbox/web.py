"""The project's own web side in the sandbox (the ads' click redirect, the admin), served
in a thread so the buttons of ads shown in the chat page lead somewhere."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.core.wsgi import get_wsgi_application


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


class _ThreadingServer(WSGIServer):
    daemon_threads = True


def web_start(*, host: str, port: int) -> WSGIServer:
    server = make_server(
        host, port, get_wsgi_application(), server_class=_ThreadingServer,
        handler_class=_QuietHandler,
    )  # fmt: skip
    threading.Thread(target=server.serve_forever, name="sandbox-web", daemon=True).start()
    return server
