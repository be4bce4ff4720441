"""botocore's requests sent through the process's pooled, egress-gated httpx client.

botocore connects with its own urllib3 pool, wherever the region or endpoint URL points. Its
`before-send` event lets a handler answer a request instead (the hook botocore's own stubbing
uses), so the SES client's requests go out here: every connection passes the egress gate, and
transport failures come back as the botocore errors the adapter already reads.
"""
from __future__ import annotations

import httpx
from botocore import exceptions as aws
from botocore.awsrequest import AWSResponse

from webapp.channels.providers import http_pool

TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class _Body:
    """What AWSResponse reads its content from (urllib3's response interface: stream())."""

    def __init__(self, content: bytes):
        self._content = content

    def stream(self, *_args, **_kwargs):
        yield self._content


def _body(request) -> bytes:
    body = request.body
    if body is None:
        return b""
    if hasattr(body, "read"):
        return body.read()
    return body.encode() if isinstance(body, str) else bytes(body)


def send(request, **_kwargs) -> AWSResponse:
    try:
        answer = http_pool.client().request(request.method, request.url, content=_body(request),
                                            headers=dict(request.headers.items()), timeout=TIMEOUT)
    except httpx.ConnectTimeout:
        raise aws.ConnectTimeoutError(endpoint_url="(the SES endpoint)") from None
    except httpx.TimeoutException:
        raise aws.ReadTimeoutError(endpoint_url="(the SES endpoint)") from None
    except (httpx.TransportError, httpx.InvalidURL):
        raise aws.EndpointConnectionError(endpoint_url="(the SES endpoint)") from None
    return AWSResponse(request.url, answer.status_code, dict(answer.headers.items()), _Body(answer.content))


def gated(client, service: str):
    """`client` (a boto3 client of `service`) with its requests sent through the gate."""
    client.meta.events.register(f"before-send.{service}", send)
    return client
