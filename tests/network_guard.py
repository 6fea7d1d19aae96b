"""The suite's network guard: nothing a test runs may reach beyond the loopback range.

Installed for the whole session by ``tests/conftest.py``. A connection (or a name
lookup, which would talk to a DNS server) to anything but 127.0.0.0/8 or ::1 is refused
with ``NetworkBlocked`` and recorded; the test during which it happened then fails even
if the code under test swallowed the error.
"""

from __future__ import annotations

import ipaddress
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class NetworkBlocked(OSError):
    pass


violations: list[str] = []

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto
_real_getaddrinfo = socket.getaddrinfo


def is_loopback_host(host: object) -> bool:
    if not isinstance(host, str | bytes):
        return False
    name = host.decode() if isinstance(host, bytes) else host
    name = name.strip("[]").split("%")[0]
    if name.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _check(address: object, what: str) -> None:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return
    host = address[0] if isinstance(address, tuple) and address else address
    if not is_loopback_host(host):
        message = f"{what} to {host!r} blocked: tests may only reach 127.0.0.0/8 and ::1"
        violations.append(message)
        raise NetworkBlocked(message)


def _connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address, "connection")
    return _real_connect(self, address)


def _connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address, "connection")
    return _real_connect_ex(self, address)


def _sendto(self, data, *args):
    address = args[-1]
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address, "datagram")
    return _real_sendto(self, data, *args)


def _getaddrinfo(host, *args, **kwargs):
    if host is not None:
        _check((host,), "name lookup")
    return _real_getaddrinfo(host, *args, **kwargs)


def install() -> None:
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.socket.sendto = _sendto
    socket.getaddrinfo = _getaddrinfo


def uninstall() -> None:
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex
    socket.socket.sendto = _real_sendto
    socket.getaddrinfo = _real_getaddrinfo
