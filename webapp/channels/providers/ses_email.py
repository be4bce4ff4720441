"""Amazon SES email through boto3's SESv2 client: SendEmail (POST /v2/email/outbound-emails).

Sent: FromEmailAddress, Destination.ToAddresses, Content.Simple (Subject and an HTML body, UTF-8),
EmailTags [{"Name": "notification_id", "Value": <id>}] (echoed in SES event publishing, so callbacks
find the notification) and ConfigurationSetName when configured. The answer's MessageId is the
provider message id.

Clients are cached per (access key id, secret fingerprint, region, endpoint) for the life of the
process; their requests go out through the pooled, egress-gated httpx client (aws_transport), so
sends reuse keep-alive connections and never reach an internal address. botocore retries are off
(max_attempts=1): retrying is the delivery pipeline's job, driven by the typed error.

Errors (see docs.aws.amazon.com/ses/latest/APIReference-V2/CommonErrors.html and SendEmail): throttling
is rate limited; 5xx and connection failures are transient; credential, signature and access errors
and a suspended account fail over as configuration; MessageRejected, BadRequest, NotFound and other
4xx reject this message. No reason quotes the secret access key.
"""
from __future__ import annotations

import hashlib
import threading

import boto3
import botocore.exceptions
from botocore.config import Config

from webapp.channels.providers import aws_transport
from webapp.channels.providers.base import (
    ConfigField,
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    ProviderSpec,
    RateLimitedError,
    SendResult,
    TransientProviderError,
)
from webapp.channels.providers.ses_callbacks import SesCallbacks

SPEC = ProviderSpec("ses", "Amazon SES", ("email",), (
    ConfigField("region", "AWS region (e.g. us-east-1)"),
    ConfigField("access_key_id", "Access key ID"),
    ConfigField("secret_access_key", "Secret access key", secret=True),
    ConfigField("from_email", "Sender address (a verified identity)"),
    ConfigField("configuration_set", "Configuration set", required=False),
    # Only events from these topics are heard at /callbacks/ses/<store>: anyone can sign SNS messages
    # from their own AWS account, so the topic is what ties an event to this store's SES.
    ConfigField("sns_topic_arn", "SNS topic ARN(s) for delivery events (comma-separated)", required=False),
), callbacks=SesCallbacks())
LABEL = "Amazon SES"
MAX_REASON = 300
# botocore's `max_attempts` counts retries after the first attempt (max_attempts=1 would send twice);
# `total_max_attempts` counts every attempt, so 1 means exactly one request per send.
CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=3, read_timeout=10)

THROTTLING = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException"})
CONFIG_CODES = frozenset({"UnrecognizedClientException", "InvalidSignatureException", "SignatureDoesNotMatch",
                          "InvalidClientTokenId", "MissingAuthenticationToken", "ExpiredTokenException",
                          "AccountSuspendedException", "SendingPausedException",
                          "MailFromDomainNotVerifiedException"})

_clients: dict[tuple[str, str, str, str | None], object] = {}
_clients_lock = threading.Lock()


def _client(key_id: str, secret: str, region: str, endpoint: str | None):
    # The secret's fingerprint is part of the key so a corrected secret for the same key id is used.
    cache_key = (key_id, hashlib.sha256(secret.encode()).hexdigest(), region, endpoint)
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            session = boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret,
                                            region_name=region)
            client = aws_transport.gated(session.client("sesv2", endpoint_url=endpoint, config=CONFIG), "sesv2")
            _clients[cache_key] = client
        return client


class SesProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        self.region = (settings.get("region") or "").strip()
        key_id = (settings.get("access_key_id") or "").strip()
        self.secret = secrets.get("secret_access_key") or ""
        self.from_email = (settings.get("from_email") or "").strip()
        self.configuration_set = (settings.get("configuration_set") or "").strip() or None
        if not (self.region and key_id and self.secret and self.from_email):
            raise ProviderConfigError("Amazon SES needs a region, an access key ID, a secret access key and a "
                                      "sender address")
        try:
            self.client = _client(key_id, self.secret, self.region, base_url.rstrip("/") if base_url else None)
        except (botocore.exceptions.BotoCoreError, ValueError) as error:
            raise ProviderConfigError(self._why(f"cannot use the configured region or endpoint "
                                                f"({type(error).__name__})")) from None

    def send(self, message: OutboundMessage) -> SendResult:
        request = {
            "FromEmailAddress": self.from_email,
            "Destination": {"ToAddresses": [message.recipient]},
            "Content": {"Simple": {
                "Subject": {"Data": message.subject or "", "Charset": "UTF-8"},
                "Body": {"Html": {"Data": message.body, "Charset": "UTF-8"},
                         **({"Text": {"Data": message.text, "Charset": "UTF-8"}} if message.text else {})},
                **({"Headers": [{"Name": k, "Value": v} for k, v in message.headers.items()]}
                   if message.headers else {}),
            }},
            "EmailTags": [{"Name": "notification_id", "Value": str(message.notification_id)}],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            answer = self.client.send_email(**request)
        except botocore.exceptions.ClientError as error:
            raise self._client_error(error) from None
        except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError):
            raise ProviderConfigError(self._why("no usable credentials")) from None
        except botocore.exceptions.ParamValidationError:
            raise PermanentProviderError(self._why("the message has a field SES does not accept")) from None
        except botocore.exceptions.HTTPClientError as error:
            # EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError…
            raise TransientProviderError(self._why(f"connection failed ({type(error).__name__})")) from None
        except botocore.exceptions.BotoCoreError as error:
            raise TransientProviderError(self._why(f"request failed ({type(error).__name__})")) from None
        return SendResult(str(answer.get("MessageId", "")))

    def _why(self, detail: str) -> str:
        text = " ".join(f"{LABEL}: {detail}".split())
        if self.secret and len(self.secret) >= 4:
            text = text.replace(self.secret, "****")
        return text[:MAX_REASON]

    def _client_error(self, error: botocore.exceptions.ClientError) -> ProviderError:
        details = error.response.get("Error", {}) or {}
        meta = error.response.get("ResponseMetadata", {}) or {}
        code = str(details.get("Code") or "")
        status = int(meta.get("HTTPStatusCode") or 0)
        why = self._why(f"HTTP {status} {code}: {details.get('Message') or ''}")
        if code in THROTTLING or status == 429:
            return RateLimitedError(why, _retry_after(meta.get("HTTPHeaders") or {}))
        if status >= 500:
            return TransientProviderError(why)
        if code in CONFIG_CODES or code.startswith("AccessDenied") or status in (401, 403):
            return ProviderConfigError(why)
        return PermanentProviderError(why)


def _retry_after(headers: dict) -> float | None:
    value = str(headers.get("retry-after") or "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
