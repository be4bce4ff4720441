"""The Twilio SDK's HTTP client interface over the process's pooled, egress-gated httpx client.

The SDK's own client (TwilioHttpClient, on requests) keeps a pool per Client object and connects
wherever a base URL points; this one shares http_pool's keep-alive connections with the other
adapters and every connection passes the egress gate. The SDK documents replacing the HTTP client
(twilio.http.HttpClient) for exactly this.
"""
from __future__ import annotations

import logging

import httpx
from twilio.base.exceptions import TwilioException
from twilio.http import HttpClient
from twilio.http.response import Response

from webapp.channels.providers import http_pool

log = logging.getLogger(__name__)
JSON_TYPES = ("application/json", "application/scim+json")


class TwilioUnreachable(TwilioException):
    """The request did not get an answer (timeout, refused connection). The text names neither the URL
    nor the httpx error, which could carry it."""


class PooledTwilioClient(HttpClient):
    def __init__(self, timeout: float = 10.0):
        super().__init__(log, is_async=False, timeout=timeout)

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False) -> Response:
        body = {"json": data} if (headers or {}).get("Content-Type") in JSON_TYPES else {"data": data}
        try:
            answer = http_pool.client().request(method.upper(), url, params=params, headers=headers, auth=auth,
                                                timeout=timeout or self.timeout, follow_redirects=allow_redirects,
                                                **body)
        except (httpx.TransportError, httpx.InvalidURL) as error:
            raise TwilioUnreachable(f"Twilio unreachable ({type(error).__name__})") from None
        return Response(answer.status_code, answer.text, answer.headers)
