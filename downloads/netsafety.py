"""Keep user links from steering the server at anything but the enabled platforms.

Every outgoing request that a user link can cause (short-link resolution, everything
yt-dlp fetches) passes ``validate_url``: http(s) only, no credentials, ports 80/443,
a host that belongs to an enabled platform, and every address that host resolves to
is public. The one exception are the origins in ``settings.MEDIA_ORIGIN_OVERRIDES``
(sandbox and tests only; production refuses the setting): they are configured by the
operator, not supplied by a user, and usually live on loopback.

Name resolution goes through the module-level ``resolve_host`` so tests can stub it,
and connections are made to the very addresses that were checked (see
``_connect_pinned``), so a DNS answer that changes between check and connect
(DNS rebinding) cannot slip a private address in.
"""

from __future__ import annotations

import enum
import functools
import http.client
import ipaddress
import socket
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from yt_dlp.downloader import get_suitable_downloader
from yt_dlp.downloader.common import FileDownloader
from yt_dlp.downloader.dash import DashSegmentsFD
from yt_dlp.downloader.fragment import HttpQuietDownloader
from yt_dlp.downloader.hls import HlsFD
from yt_dlp.downloader.http import HttpFD
from yt_dlp.networking._helper import create_connection
from yt_dlp.networking._urllib import HTTPHandler, RedirectHandler, UrllibRH
from yt_dlp.networking.exceptions import RequestError

from downloads.platforms import PLATFORMS

if TYPE_CHECKING:
    from yt_dlp import YoutubeDL

# Domains (and all their subdomains) each platform's pages, APIs and CDNs live on.
PLATFORM_DOMAINS: dict[str, tuple[str, ...]] = {
    platform: spec.fetch_domains for platform, spec in PLATFORMS.items()
}

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Ranges that is_global does not exclude on every Python 3.11 patch level, plus the
# ones that embed an IPv4 address (checked separately, see _embedded_ipv4).
_BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeReason(enum.StrEnum):
    SCHEME = "scheme"  # not http or https
    MALFORMED = "malformed"
    CREDENTIALS = "credentials"  # user:password@ in the URL
    PORT = "port"  # not 80 or 443
    HOST_NOT_ALLOWED = "host_not_allowed"  # not a host of an enabled platform
    UNRESOLVABLE = "unresolvable"
    PRIVATE_ADDRESS = "private_address"
    EXTERNAL_DOWNLOADER = "external_downloader"  # yt-dlp would hand the URL to ffmpeg etc.


class UnsafeURLError(Exception):
    """A URL the server must not fetch; ``reason`` is an ``UnsafeReason``."""

    def __init__(self, reason: UnsafeReason, url: str = "", *, detail: str = "") -> None:
        text = " ".join(part for part in (detail, url) if part)
        super().__init__(f"{reason}: {text}" if text else str(reason))
        self.reason = reason
        self.url = url


class GuardBlockedRequest(RequestError):
    """Raised inside yt-dlp, so that it unwinds like any other request error."""

    def __init__(self, unsafe: UnsafeURLError) -> None:
        super().__init__(f"blocked by netsafety: {unsafe}", cause=unsafe)
        self.unsafe = unsafe


@dataclass(frozen=True, slots=True)
class CheckedTarget:
    """Where a URL may be fetched from, as validated."""

    scheme: str
    host: str
    port: int
    # The checked public addresses to connect to; empty for an override origin, which is
    # connected to as configured.
    addresses: tuple[str, ...]

    @property
    def is_override(self) -> bool:
        return not self.addresses


def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to. Tests replace this function."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        ip = embedded
    if any(ip in network for network in _BLOCKED_NETWORKS if network.version == ip.version):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _embedded_ipv4(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | None:
    # ::ffff:10.0.0.1, 2002:0a00:0001:: (6to4), Teredo and NAT64 all lead to an IPv4
    # address, which is what has to be judged.
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def platform_for_host(host: str) -> str | None:
    """The enabled platform whose domains include ``host``, if any."""
    host = host.lower().rstrip(".")
    for platform, domains in PLATFORM_DOMAINS.items():
        if platform not in settings.ENABLED_PLATFORMS:
            continue
        if any(host == domain or host.endswith("." + domain) for domain in domains):
            return str(platform)
    return None


def validate_url(url: str) -> CheckedTarget:
    """Check ``url`` and resolve its host once; raise ``UnsafeURLError`` if unsafe."""
    scheme, host, port = _split_origin(url)
    if (scheme, host, port) in _override_origins():
        return CheckedTarget(scheme, host, port, addresses=())
    if port != _DEFAULT_PORTS[scheme]:
        raise UnsafeURLError(UnsafeReason.PORT, url)
    if platform_for_host(host) is None:
        raise UnsafeURLError(UnsafeReason.HOST_NOT_ALLOWED, url)
    return CheckedTarget(scheme, host, port, addresses=_public_addresses(host, url))


def assert_url_allowed(url: str) -> None:
    validate_url(url)


def override_origin(url: str) -> str:
    """``url`` with its origin swapped for the configured override target, if any."""
    overrides = settings.MEDIA_ORIGIN_OVERRIDES
    if not overrides:
        return url
    try:
        origin = _split_origin(url)
    except UnsafeURLError:
        return url
    for source, target in overrides.items():
        if _split_origin(source) == origin:
            parts = urllib.parse.urlsplit(url)
            target_parts = urllib.parse.urlsplit(target)
            return parts._replace(scheme=target_parts.scheme, netloc=target_parts.netloc).geturl()
    return url


def find_unsafe_url_error(error: BaseException | None) -> UnsafeURLError | None:
    """The ``UnsafeURLError`` behind an exception yt-dlp raised or wrapped, if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, UnsafeURLError):
            return error
        seen.add(id(error))
        exc_info = getattr(error, "exc_info", None)  # yt-dlp's DownloadError
        error = (
            getattr(error, "cause", None)
            or error.__cause__
            or error.__context__
            or (exc_info[1] if exc_info else None)
        )
        if not isinstance(error, BaseException):
            error = None
    return None


def _split_origin(url: str) -> tuple[str, str, int]:
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeURLError(UnsafeReason.MALFORMED, url) from error
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UnsafeURLError(UnsafeReason.SCHEME, url)
    if "@" in parts.netloc:
        raise UnsafeURLError(UnsafeReason.CREDENTIALS, url)
    host = (parts.hostname or "").rstrip(".")
    if not host or "\\" in parts.netloc:
        raise UnsafeURLError(UnsafeReason.MALFORMED, url)
    return scheme, host, port or _DEFAULT_PORTS[scheme]


def _override_origins() -> set[tuple[str, str, int]]:
    return {_split_origin(target) for target in settings.MEDIA_ORIGIN_OVERRIDES.values()}


def _public_addresses(host: str, url: str) -> tuple[str, ...]:
    try:
        addresses = resolve_host(host)
    except OSError as error:
        raise UnsafeURLError(UnsafeReason.UNRESOLVABLE, url) from error
    if not addresses:
        raise UnsafeURLError(UnsafeReason.UNRESOLVABLE, url)
    # One private answer is enough to refuse: the client might pick exactly that one.
    if not all(is_public_address(address) for address in addresses):
        raise UnsafeURLError(UnsafeReason.PRIVATE_ADDRESS, url)
    return tuple(addresses)


# --- yt-dlp -----------------------------------------------------------------------


# yt-dlp's downloaders that fetch through its own networking layer (so through
# ``GuardedUrllibRH``) and run no other program. Exact classes: yt-dlp's external
# downloaders (ffmpeg, curl, aria2c...) subclass FragmentFD too, and RtmpFD (rtmpdump)
# or F4mFD/IsmFD are no "external downloader" at all, so a deny-list misses them.
NATIVE_DOWNLOADERS: frozenset[type[FileDownloader]] = frozenset(
    {HttpFD, HttpQuietDownloader, HlsFD, DashSegmentsFD}
)
_GUARDED = "_netsafety_guarded"


def guard_ytdlp(ydl: YoutubeDL) -> None:
    """Make every request ``ydl`` issues, redirects included, pass ``validate_url``.

    Call right after creating the ``YoutubeDL``. It then sends through one request
    handler only, ``GuardedUrllibRH``, and downloads only with ``NATIVE_DOWNLOADERS``:
    any other downloader (ffmpeg, rtmpdump, aria2c...) would resolve and fetch URLs
    outside yt-dlp's networking layer, where no check applies.
    """
    stock_build = ydl.build_request_director

    def build_guarded_director(handlers: Any, preferences: Any = None) -> Any:
        # Whatever handlers are installed (requests, curl_cffi, websockets), only the
        # guarded one is offered to the director. Patching the builder rather than the
        # cached director keeps the guard when yt-dlp rebuilds it after close().
        return stock_build([GuardedUrllibRH], preferences)

    ydl.build_request_director = build_guarded_director  # type: ignore[method-assign]
    if "_request_director" in ydl.__dict__:
        ydl.__dict__.pop("_request_director").close()
    # HLS that is not live can always go through the native (guarded) downloader.
    ydl.params["hls_prefer_native"] = True
    ydl.dl = _refusing_foreign_downloaders(ydl, ydl.dl)  # type: ignore[method-assign]
    setattr(ydl, _GUARDED, True)


def is_guarded(ydl: Any) -> bool:
    return bool(getattr(ydl, _GUARDED, False))


def _check_for_ytdlp(url: str) -> None:
    if urllib.parse.urlsplit(url).scheme.lower() == "data":
        return  # the payload is in the URL itself: nothing is fetched
    try:
        validate_url(url)
    except UnsafeURLError as unsafe:
        raise GuardBlockedRequest(unsafe) from unsafe


def _refuse_downloader(downloader: type, url: str) -> GuardBlockedRequest:
    return GuardBlockedRequest(
        UnsafeURLError(UnsafeReason.EXTERNAL_DOWNLOADER, url, detail=downloader.__name__)
    )


def _refusing_foreign_downloaders(ydl: YoutubeDL, stock_dl: Callable[..., Any]) -> Any:
    def dl(name: str, info: dict, subtitle: bool = False, test: bool = False) -> Any:
        # Same choice as YoutubeDL.dl makes; test downloads run without the user params.
        # Refusing here, before yt-dlp starts, leaves no partial file behind.
        params = {} if test else ydl.params
        downloader = get_suitable_downloader(info, params, to_stdout=(name == "-"))
        if downloader not in NATIVE_DOWNLOADERS:
            raise _refuse_downloader(downloader or type(None), str(info.get("url", "")))
        return stock_dl(name, info, subtitle=subtitle, test=test)

    return dl


def _guarded_downloader_init(stock_init: Callable[..., None]) -> Callable[..., None]:
    # yt-dlp also builds downloaders itself, past YoutubeDL.dl: HlsFD hands a stream it
    # cannot decrypt natively (SAMPLE-AES; AES-128 without pycryptodomex) to a new
    # FFmpegFD, which would fetch the key and segments with ffmpeg's own resolver. Every
    # downloader is constructed with its YoutubeDL, so this is where a guarded run can
    # refuse them all; unguarded YoutubeDL objects are untouched.
    @functools.wraps(stock_init)
    def init(self: FileDownloader, ydl: Any, params: Any) -> None:
        if is_guarded(ydl) and type(self) not in NATIVE_DOWNLOADERS:
            raise _refuse_downloader(type(self), "")
        stock_init(self, ydl, params)

    init.netsafety_hook = True  # type: ignore[attr-defined]
    return init


if not getattr(FileDownloader.__init__, "netsafety_hook", False):
    FileDownloader.__init__ = _guarded_downloader_init(FileDownloader.__init__)  # type: ignore[method-assign]


class GuardedUrllibRH(UrllibRH):
    """yt-dlp's urllib handler with every request, redirect and connection checked."""

    def _send(self, request: Any) -> Any:
        _check_for_ytdlp(request.url)
        return super()._send(request)

    def _create_instance(self, proxies: Any, cookiejar: Any, legacy_ssl_support: Any = None) -> Any:
        # Start from yt-dlp's own opener so its handler list stays the source of truth,
        # and swap in the checking versions of the two handlers that matter.
        stock = super()._create_instance(
            proxies=proxies, cookiejar=cookiejar, legacy_ssl_support=legacy_ssl_support
        )
        opener = urllib.request.OpenerDirector()
        for handler in stock.handlers:
            opener.add_handler(_guarded_handler(handler))
        opener.addheaders = []
        return opener


def _guarded_handler(handler: urllib.request.BaseHandler) -> urllib.request.BaseHandler:
    if type(handler) is HTTPHandler:
        return _PinnedHTTPHandler(
            context=handler._context,
            source_address=handler._source_address,
            debuglevel=handler._debuglevel,
        )
    if type(handler) is RedirectHandler:
        return _CheckedRedirectHandler()
    return handler


class _CheckedRedirectHandler(RedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            _check_for_ytdlp(newurl)
        except GuardBlockedRequest:
            fp.close()
            raise
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _PinnedHTTPHandler(HTTPHandler):
    """Connects to the addresses ``validate_url`` checked, not to a second lookup."""

    def http_open(self, req):
        if _is_proxied(req):
            return super().http_open(req)
        return self.do_open(self._connection_factory(http.client.HTTPConnection, "http"), req)

    def https_open(self, req):
        if _is_proxied(req):
            return super().https_open(req)
        factory = self._connection_factory(http.client.HTTPSConnection, "https")
        return self.do_open(factory, req, context=self._context)

    def _connection_factory(self, http_class: type, scheme: str) -> Callable[..., Any]:
        def build(*args: Any, **kwargs: Any) -> http.client.HTTPConnection:
            connection = http_class(*args, **kwargs)
            # http.client calls _create_connection((host, port), ...) and keeps using
            # its own host for the Host header, SNI and the certificate check.
            connection._create_connection = functools.partial(_connect_pinned, scheme)
            if self._source_address is not None:
                connection.source_address = (self._source_address, 0)
            return connection

        return build


def _is_proxied(req: urllib.request.Request) -> bool:
    # Through a proxy, the proxy resolves the name; only the URL-level checks apply.
    return bool(req.has_proxy() or req._tunnel_host or req.get_header("Ytdl-socks-proxy"))


def _connect_pinned(
    scheme: str,
    address: tuple[str, int],
    timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
    source_address: Any = None,
) -> socket.socket:
    host, port = address
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        target = validate_url(f"{scheme}://{netloc}/")
    except UnsafeURLError as unsafe:
        raise GuardBlockedRequest(unsafe) from unsafe
    if target.is_override:
        return create_connection(address, timeout, source_address)
    error: OSError | None = None
    for ip in target.addresses:
        try:
            return create_connection((ip, port), timeout, source_address)
        except OSError as failure:
            error = failure
    raise error or OSError(f"could not connect to {host}")
