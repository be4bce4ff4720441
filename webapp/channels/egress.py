"""The one gate for every outbound connection built from a merchant's configuration.

Provider base URLs, webhook URLs, SMTP hosts, the URLs inside a key file (a Firebase service
account's `token_uri`), regional host names built from a setting, an integration's API base URL:
the merchant chooses them and the server connects. In production each must be a public internet
address, so a store cannot make this server reach its own network (loopback, private ranges,
link-local and the cloud metadata address, CGNAT, multicast) with the store's credentials attached.

The check is made where the connection is made: the HTTP clients' network backend and the SMTP
socket resolve the name once, check every address it resolved to, and connect to a checked
address, so no URL spelling (decimal, hex or short IPv4, IPv4-mapped IPv6, userinfo tricks) and no
DNS answer that changes between a check and the connection (rebinding) gets past it. Whatever the
URL parser makes of a string, the address connected to is what is judged. Saving settings runs the
same check (`check_destination`) so the merchant gets a clear error at once.

Development and tests allow loopback too, for local test servers; the policy is set per process by
`set_policy` (create_app does it from APP_ENV). Every outbound client in the product is built here
(`http_client`, `smtp_connection`); tests/unit/channels/test_egress_everywhere.py fails when code
elsewhere opens a connection of its own.
"""
from __future__ import annotations

import http.cookiejar
import ipaddress
import smtplib
import socket
from dataclasses import dataclass

import httpcore
import httpx

from webapp.channels.providers.base import ProviderConfigError

# Prefixes that carry an IPv4 address in their low 32 bits and are routed to it (NAT64, RFC 6052 and
# RFC 8215): 64:ff9b::7f00:1 reaches 127.0.0.1 through a NAT64 gateway.
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class PrivateDestination(ValueError):
    """The destination is not a public internet address (raised when settings are saved)."""


class EgressRefused(ProviderConfigError, PrivateDestination):
    """A connection to a forbidden address was refused. A ProviderConfigError: the provider's
    settings point somewhere this server may not go, so delivery fails over and says why."""

    def __init__(self, why: str):
        super().__init__(f"the configured destination is {why}; only public internet addresses are allowed")
        self.why = why


@dataclass(frozen=True)
class Policy:
    allow_loopback: bool


_policy = Policy(allow_loopback=False)  # the safe default until the app says otherwise


def set_policy(*, production: bool) -> None:
    global _policy
    _policy = Policy(allow_loopback=not production)


def refusal(address: Address, allow_loopback: bool = False) -> str | None:
    """Why a connection to `address` is refused, or None when it is allowed."""
    if isinstance(address, ipaddress.IPv6Address):
        if allow_loopback and address.is_loopback:
            return None
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return refusal(embedded, allow_loopback) or _not_global(address, ignore_private_prefix=True)
    elif allow_loopback and address.is_loopback:
        return None
    return _not_global(address)


def _not_global(address: Address, ignore_private_prefix: bool = False) -> str | None:
    if address.is_multicast:
        return f"a multicast address ({address})"
    if not address.is_global and not ignore_private_prefix:
        return f"a private or reserved address ({address})"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if int(address) >> 32 == 0 and int(address) > 1:  # IPv4-compatible (deprecated): ::127.0.0.1
        return ipaddress.IPv4Address(int(address))
    if any(address in prefix for prefix in NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def resolve(host: str, port: int, allow_loopback: bool | None = None) -> list[tuple[int, tuple]]:
    """Every (family, sockaddr) `host` resolves to, each checked against the policy (or
    `allow_loopback`). Raises EgressRefused when any is forbidden (a name with one private answer is
    not used at all), and OSError (socket.gaierror) when the name does not resolve."""
    loopback = _policy.allow_loopback if allow_loopback is None else allow_loopback
    answers = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    for *_, sockaddr in answers:
        why = refusal(ipaddress.ip_address(sockaddr[0].split("%")[0]), loopback)
        if why:
            raise EgressRefused(why)
    return [(family, sockaddr) for family, *_, sockaddr in answers]


def open_socket(host: str, port: int, timeout: float | None, source_address=None) -> socket.socket:
    """socket.create_connection, to checked addresses only."""
    last_error: OSError | None = None
    for family, sockaddr in resolve(host, port):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as error:
            sock.close()
            last_error = error
    raise last_error or OSError(f"{host} has no address")


# --- HTTP --------------------------------------------------------------------------------------------

class GatedBackend(httpcore.SyncBackend):
    """httpcore's network backend with the gate in front of every TCP connection. TLS still verifies
    the certificate against the URL's host name: httpcore takes that from the request, not from here."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = resolve(host, port)
        except OSError as error:  # unresolvable: a connection error like any other, retried later
            raise httpcore.ConnectError(f"cannot resolve the destination ({type(error).__name__})") from None
        last_error: Exception | None = None
        for _, sockaddr in addresses:
            try:
                return super().connect_tcp(sockaddr[0], port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        raise last_error or httpcore.ConnectError("no address to connect to")


def transport(**options) -> httpx.HTTPTransport:
    gated = httpx.HTTPTransport(**options)
    # httpx does not take a network backend, but its connection pool does; the egress test fails if
    # an httpx release moves it.
    assert hasattr(gated._pool, "_network_backend")  # noqa: S101
    gated._pool._network_backend = GatedBackend()
    return gated


def http_client(*, http2: bool = False, http1: bool = True, limits: httpx.Limits | None = None,
                **options) -> httpx.Client:
    """An httpx client whose every connection passes the gate. Proxy settings from the environment
    are not used: a proxy would make the connection the gate cannot see."""
    pool = transport(http1=http1, http2=http2, limits=limits or httpx.Limits())
    # Cookies are refused: the clients are shared by all stores, and a cookie one store's request
    # earned must not ride along on another's.
    no_cookies = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(transport=pool, trust_env=False, cookies=no_cookies, **options)


# --- SMTP --------------------------------------------------------------------------------------------

class GatedSMTP(smtplib.SMTP):
    def _get_socket(self, host, port, timeout):
        return open_socket(host, port, timeout, self.source_address)


class GatedSMTP_SSL(smtplib.SMTP_SSL):  # noqa: N801 - named after smtplib's class
    def _get_socket(self, host, port, timeout):
        sock = open_socket(host, port, timeout, self.source_address)
        return self.context.wrap_socket(sock, server_hostname=self._host)


def smtp_connection(host: str, port: int, *, ssl_context=None, **options) -> smtplib.SMTP:
    if ssl_context is not None:
        return GatedSMTP_SSL(host, port, context=ssl_context, **options)
    return GatedSMTP(host, port, **options)


# --- saving settings ---------------------------------------------------------------------------------

def host_of(destination: str) -> str:
    """The host a URL (as the HTTP client parses it) or a bare host name names."""
    if "://" not in destination:
        return destination.strip()
    try:
        return httpx.URL(destination.strip()).host
    except (httpx.InvalidURL, ValueError):
        raise PrivateDestination("is not a valid URL") from None


def check_destination(destination: str) -> None:
    """Raise PrivateDestination unless every address `destination` (a URL or a host name) resolves to is
    public. Used when settings are saved in production; connections are checked again when made."""
    host = host_of(destination)
    if not host:
        raise PrivateDestination("has no host name")
    try:
        resolve(host, 443, allow_loopback=False)
    except EgressRefused as error:
        raise PrivateDestination(f"host “{host}” is {error.why}") from None
    except (OSError, UnicodeError) as error:
        raise PrivateDestination(f"host “{host}” cannot be resolved") from error
