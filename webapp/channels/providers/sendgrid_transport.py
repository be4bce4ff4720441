"""Keep-alive for the official SendGrid SDK.

The SDK's HTTP layer (python_http_client) opens a fresh urllib connection for every request, so
each email would pay a TCP and TLS handshake to api.sendgrid.com. `_make_request` is the seam the
library keeps for replacing the transport; this Client sends through one pooled httpx client per
process instead, and answers in urllib's shapes so the SDK's responses and typed HTTP errors
(python_http_client.exceptions) stay exactly what they are.
"""
from __future__ import annotations

import io
import urllib.error
from email.message import Message
from functools import lru_cache

import httpx
import python_http_client
from python_http_client.exceptions import handle_error

from webapp.channels import egress

TIMEOUT = httpx.Timeout(10.0, connect=3.0)


@lru_cache(maxsize=1)
def _pool() -> httpx.Client:
    return egress.http_client(timeout=TIMEOUT, limits=httpx.Limits(max_keepalive_connections=20, max_connections=50))


class _UrllibShapedResponse:
    """What python_http_client.Response reads from a urllib response: getcode(), read(), info()."""

    def __init__(self, response: httpx.Response):
        self._response = response

    def getcode(self) -> int:
        return self._response.status_code

    def read(self) -> bytes:
        return self._response.content

    def info(self) -> Message:
        headers = Message()
        for name, value in self._response.headers.multi_items():
            headers[name] = value
        return headers


class PooledClient(python_http_client.Client):
    def _build_client(self, name=None):
        # The library builds a new Client per URL segment (client.mail.send); keep them pooled too.
        url_path = self._url_path + [name] if name else self._url_path
        return PooledClient(host=self.host, version=self._version, request_headers=self.request_headers,
                            url_path=url_path, append_slash=self.append_slash, timeout=self.timeout)

    def _make_request(self, opener, request, timeout=None):
        try:
            response = _pool().request(request.get_method(), request.get_full_url(), content=request.data,
                                       headers=dict(request.header_items()), timeout=timeout or TIMEOUT)
        except httpx.TransportError as error:
            # The SendGrid provider treats OSError as "unreachable, try again later".
            raise ConnectionError(f"SendGrid unreachable ({type(error).__name__})") from None
        if response.status_code >= 400:
            raise handle_error(urllib.error.HTTPError(request.get_full_url(), response.status_code,
                                                      response.reason_phrase, _UrllibShapedResponse(response).info(),
                                                      io.BytesIO(response.content)))
        return _UrllibShapedResponse(response)


def pooled(sdk_client):
    """Give a SendGridAPIClient the pooled transport, keeping its host and headers."""
    current = sdk_client.client
    sdk_client.client = PooledClient(host=current.host, request_headers=current.request_headers,
                                     version=current._version, url_path=current._url_path,
                                     append_slash=current.append_slash, timeout=current.timeout)
    return sdk_client
