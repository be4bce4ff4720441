"""A stand-in for Amazon SNS: an RSA key and self-signed certificate served by a FakeServer (as
SigningCertURL), messages signed exactly as SNS signs them, and a SubscribeURL that records its GET."""
from __future__ import annotations

import base64
import datetime
import json
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.fakes.http import FakeServer, Reply

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ses-events"
# What the app is told may serve certificates in tests (the real rule wants https://sns.<region>.amazonaws.com).
URL_PATTERN = r"http://127\.0\.0\.1:\d+/.*"
NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def _certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.us-east-1.amazonaws.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


class FakeSNS:
    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.cert_pem = _certificate(self.key)
        self.confirmed: list[str] = []
        self.cert_fetches = 0
        self.server = FakeServer(self.handle)
        self.url = self.server.url
        self.cert_url = f"{self.url}/SimpleNotificationService-{uuid.uuid4().hex}.pem"

    def handle(self, request):
        if request.path.endswith(".pem"):
            self.cert_fetches += 1
            return Reply(200, self.cert_pem)
        if "Action=ConfirmSubscription" in request.path:
            self.confirmed.append(request.path)
            return Reply(200, b"<ConfirmSubscriptionResponse/>")
        return Reply(404, {})

    def sign(self, message: dict, version: str = "1") -> dict:
        keys = NOTIFICATION_KEYS if message["Type"] == "Notification" else SUBSCRIPTION_KEYS
        canonical = "".join(f"{k}\n{message[k]}\n" for k in keys if k in message).encode()
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS SignatureVersion 1
        signature = self.key.sign(canonical, padding.PKCS1v15(), algorithm)
        return {**message, "SignatureVersion": version, "Signature": base64.b64encode(signature).decode(),
                "SigningCertURL": self.cert_url}

    def notification(self, event: dict, version: str = "1", message_id: str | None = None) -> dict:
        return self.sign({
            "Type": "Notification", "MessageId": message_id or str(uuid.uuid4()), "TopicArn": TOPIC_ARN,
            "Message": json.dumps(event), "Timestamp": "2024-05-02T10:00:00.000Z",
            "UnsubscribeURL": f"{self.url}/?Action=Unsubscribe"}, version)

    def subscription_confirmation(self, subscribe_url: str | None = None) -> dict:
        token = uuid.uuid4().hex
        return self.sign({
            "Type": "SubscriptionConfirmation", "MessageId": str(uuid.uuid4()), "Token": token,
            "TopicArn": TOPIC_ARN, "Message": f"You have chosen to subscribe to the topic {TOPIC_ARN}.",
            "SubscribeURL": subscribe_url
            or f"{self.url}/?Action=ConfirmSubscription&TopicArn={TOPIC_ARN}&Token={token}",
            "Timestamp": "2024-05-02T10:00:00.000Z"})

    def close(self):
        self.server.close()
