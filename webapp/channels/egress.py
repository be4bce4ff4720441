"""Where a store's provider settings may point the server.

Base URLs, webhook URLs and SMTP hosts are chosen by the merchant, and the server connects to them
(every send, and "Send test message"). In production they must resolve to public addresses only,
so a store cannot make this server reach its own internal network (loopback, private ranges, the
cloud metadata address). Development and tests use local servers, so the check applies only when
APP_ENV=production. A name that changes its answer after the check (DNS rebinding) is not caught
here; a production deployment should also deny private egress at the network level.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlparse

# Setting names whose values the server connects to, besides the API base URL.
DESTINATION_FIELDS = {"url", "webhook_url", "host"}


class PrivateDestination(ValueError):
    """The destination is not a public internet address."""


def check_public(destination: str) -> None:
    """Raise PrivateDestination unless every address `destination` (a URL or a host name) resolves to is public."""
    host = urlparse(destination).hostname if "://" in destination else destination.strip()
    if not host:
        raise PrivateDestination("has no host name")
    try:
        answers = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise PrivateDestination(f"host “{host}” cannot be resolved") from error
    for *_, sockaddr in answers:
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if not address.is_global or address.is_multicast:
            raise PrivateDestination(f"host “{host}” is a private or reserved address ({address})")
