"""Email adapters: Amazon SES (boto3 SESv2), Mailgun (pooled httpx) and SendGrid (SDK on the pooled
transport) against local stand-ins that check the documented request, and SMTP against a real
aiosmtpd server (plain, STARTTLS with a self-signed certificate, AUTH, a refused recipient)."""
import datetime
import email
import email.policy
import ipaddress
import json
import socket
import ssl
from base64 import b64encode
from dataclasses import replace
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fakes.http import Reply
from tests.fakes.mailgun import MAILGUN_DOMAIN, MAILGUN_KEY, FakeMailgun
from tests.fakes.providers import SENDGRID_KEY, FakeSendGrid
from tests.fakes.ses import SES_KEY_ID, SES_REGION, SES_SECRET, FakeSes, ses_error
from webapp.channels.providers.base import (
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    RateLimitedError,
    SendResult,
    TransientProviderError,
)
from webapp.channels.providers.batching import forward
from webapp.channels.providers.mailgun_email import MailgunProvider
from webapp.channels.providers.sendgrid_email import SendGridProvider
from webapp.channels.providers.ses_email import SesProvider
from webapp.channels.providers.smtp_email import SmtpProvider

SUBJECT = "Your order #1001 has shipped"
BODY = "<p>Hello Ada,</p><p>Your order <b>#1001</b> is on its way.</p>"
SENDER = "orders@acme.test"


def message(recipient="ada@example.com", notification_id=42, subject=SUBJECT, body=BODY) -> OutboundMessage:
    return OutboundMessage(notification_id=notification_id, store_id=1, channel="email", recipient=recipient,
                           subject=subject, body=body, idempotency_key=f"notification-{notification_id}")


def build(cls, values: dict, base_url: str | None):
    """Split the values into settings and secrets by the spec's secret flags, as configure_provider does."""
    secret = {f.name for f in cls.spec.fields if f.secret}
    assert set(values) <= {f.name for f in cls.spec.fields}
    return cls(settings={k: v for k, v in values.items() if k not in secret},
               secrets={k: v for k, v in values.items() if k in secret}, base_url=base_url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


# One server per module (closing one waits out serve_forever's half-second poll), reset for each test.
@pytest.fixture(scope="module")
def servers():
    fakes = {"ses": FakeSes(), "mailgun": FakeMailgun()}
    yield fakes
    for fake in fakes.values():
        fake.close()


@pytest.fixture
def ses(servers):
    servers["ses"].reset()
    return servers["ses"]


@pytest.fixture
def mailgun(servers):
    servers["mailgun"].reset()
    return servers["mailgun"]


@pytest.fixture(scope="module")
def sendgrid_server():
    fake = FakeSendGrid(keep_alive=True)
    yield fake
    fake.close()


@pytest.fixture
def sendgrid(sendgrid_server):
    sendgrid_server.reset()
    return sendgrid_server


# --- Amazon SES ------------------------------------------------------------------------------------

SES_VALUES = {"region": SES_REGION, "access_key_id": SES_KEY_ID, "secret_access_key": SES_SECRET,
              "from_email": SENDER}


def ses_provider(url, **overrides) -> SesProvider:
    return build(SesProvider, {**SES_VALUES, **overrides}, url)


def test_ses_sends_the_documented_signed_request(ses):
    result = ses_provider(ses.url, configuration_set="notifyhub-events").send(message())

    [request] = ses.requests
    assert (request.method, request.path) == ("POST", "/v2/email/outbound-emails")
    assert request.headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={SES_KEY_ID}/")
    assert f"/{SES_REGION}/ses/aws4_request" in request.headers["Authorization"]
    assert SES_SECRET not in json.dumps(request.headers)
    assert request.headers["Content-Type"].startswith("application/json")
    body = request.json()
    assert body["FromEmailAddress"] == SENDER
    assert body["Destination"] == {"ToAddresses": ["ada@example.com"]}
    assert body["Content"]["Simple"]["Subject"]["Data"] == SUBJECT
    assert body["Content"]["Simple"]["Body"]["Html"]["Data"] == BODY
    assert body["EmailTags"] == [{"Name": "notification_id", "Value": "42"}]
    assert body["ConfigurationSetName"] == "notifyhub-events"
    assert result == SendResult(ses.emails[0]["MessageId"])


def test_ses_leaves_out_an_unset_configuration_set_and_reuses_its_client(ses):
    first, second = ses_provider(ses.url), ses_provider(ses.url)
    assert first.client is second.client
    first.send(message())
    assert "ConfigurationSetName" not in ses.requests[0].json()


def test_ses_sends_reuse_one_keep_alive_connection():
    fake = FakeSes(keep_alive=True)  # its own endpoint, so a client (and connection pool) of its own
    try:
        ses_provider(fake.url).send(message())
        ses_provider(fake.url).send(message("bob@example.com", 43))  # a new provider object, same client
        assert len(fake.emails) == 2
        assert fake.connections == 1
    finally:
        fake.close()


def test_ses_requires_its_settings():
    with pytest.raises(ProviderConfigError):
        build(SesProvider, {"region": SES_REGION, "from_email": SENDER}, None)


@pytest.mark.parametrize("reply, error_type", [
    (ses_error(403, "AccessDeniedException", "User is not authorized to perform ses:SendEmail"), ProviderConfigError),
    (ses_error(401, "UnrecognizedClientException", "The security token is invalid"), ProviderConfigError),
    (ses_error(400, "AccountSuspendedException", "Account suspended"), ProviderConfigError),
    (ses_error(400, "NotFoundException", "Configuration set does not exist"), PermanentProviderError),
    (ses_error(500, "InternalFailure", "Internal error"), TransientProviderError),
    (ses_error(503, "ServiceUnavailable", "Service unavailable"), TransientProviderError),
])
def test_ses_errors_are_classified(ses, reply, error_type):
    ses.fail_with = reply
    with pytest.raises(error_type) as raised:
        ses_provider(ses.url).send(message())
    assert type(raised.value) is error_type
    assert SES_SECRET not in str(raised.value)


def test_ses_wrong_credentials_fail_over_as_configuration(ses):
    with pytest.raises(ProviderConfigError, match="UnrecognizedClientException"):
        ses_provider(ses.url, access_key_id="AKIAWRONGWRONGWRONG0").send(message())


def test_ses_throttling_is_rate_limited_with_retry_after(ses):
    ses.fail_with = ses_error(429, "TooManyRequestsException", "Maximum sending rate exceeded.",
                              {"Retry-After": "7"})
    with pytest.raises(RateLimitedError) as raised:
        ses_provider(ses.url).send(message())
    assert raised.value.retry_after == 7
    assert len(ses.requests) == 1  # botocore does not retry on its own


def test_ses_unverified_recipient_is_permanent(ses):
    with pytest.raises(PermanentProviderError, match="MessageRejected") as raised:
        ses_provider(ses.url).send(message("unverified@example.com"))
    assert type(raised.value) is PermanentProviderError


def test_ses_connection_refused_is_transient_without_the_secret():
    with pytest.raises(TransientProviderError) as raised:
        ses_provider(closed_port_url()).send(message())
    assert type(raised.value) is TransientProviderError
    assert SES_SECRET not in str(raised.value) and SES_SECRET not in repr(raised.value.__cause__)


# --- Mailgun -----------------------------------------------------------------------------------------

MAILGUN_VALUES = {"domain": MAILGUN_DOMAIN, "api_key": MAILGUN_KEY, "from_email": f"Acme <{SENDER}>"}


def mailgun_provider(url, **overrides) -> MailgunProvider:
    return build(MailgunProvider, {**MAILGUN_VALUES, **overrides}, url)


def test_mailgun_sends_the_documented_form(mailgun):
    result = mailgun_provider(mailgun.url).send(message())

    [request] = mailgun.requests
    assert (request.method, request.path) == ("POST", f"/v3/{MAILGUN_DOMAIN}/messages")
    assert request.headers["Authorization"] == "Basic " + b64encode(f"api:{MAILGUN_KEY}".encode()).decode()
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode()) == {"from": [f"Acme <{SENDER}>"], "to": ["ada@example.com"],
                                               "subject": [SUBJECT], "html": [BODY], "v:notification_id": ["42"]}
    assert result == SendResult(f"<20261122.1@{MAILGUN_DOMAIN}>")


def test_mailgun_sends_reuse_one_keep_alive_connection():
    fake = FakeMailgun(keep_alive=True)  # its own server: no pooled connection to it exists yet
    try:
        mailgun_provider(fake.url).send(message())
        mailgun_provider(fake.url).send(message("bob@example.com", 43))  # a new provider object, same pool
        assert len(fake.messages) == 2
        assert fake.connections == 1
    finally:
        fake.close()


def test_mailgun_wrong_key_fails_over_as_configuration(mailgun):
    with pytest.raises(ProviderConfigError) as raised:
        mailgun_provider(mailgun.url, api_key="key-wrong-0000000000").send(message())
    assert "401" in str(raised.value) and "key-wrong" not in str(raised.value)


def test_mailgun_unknown_domain_fails_over_as_configuration(mailgun):
    with pytest.raises(ProviderConfigError, match="Domain not found"):
        mailgun_provider(mailgun.url, domain="other.acme.test").send(message())


def test_mailgun_rate_limit_carries_retry_after(mailgun):
    mailgun.fail_with = Reply(429, {"message": "Too many requests"}, {"Retry-After": "30"})
    with pytest.raises(RateLimitedError) as raised:
        mailgun_provider(mailgun.url).send(message())
    assert raised.value.retry_after == 30


def test_mailgun_server_error_is_transient(mailgun):
    mailgun.fail_with = Reply(502, b"<html>Bad Gateway</html>")
    with pytest.raises(TransientProviderError) as raised:
        mailgun_provider(mailgun.url).send(message())
    assert type(raised.value) is TransientProviderError


def test_mailgun_invalid_recipient_is_permanent(mailgun):
    with pytest.raises(PermanentProviderError, match="not a valid address"):
        mailgun_provider(mailgun.url).send(message("not-an-address"))


def test_mailgun_connection_refused_is_transient_without_the_key():
    with pytest.raises(TransientProviderError) as raised:
        mailgun_provider(closed_port_url()).send(message())
    assert type(raised.value) is TransientProviderError and MAILGUN_KEY not in str(raised.value)


def test_mailgun_batch_sends_one_request_per_identical_content(mailgun):
    batch = [message("ada@example.com", 1), message("bob@example.com", 2, body="<p>Other</p>"),
             message("cy@example.com", 3)]
    outcomes = mailgun_provider(mailgun.url).send_batch(batch)

    assert len(mailgun.requests) == 2
    first, second = (parse_qs(r.body.decode()) for r in mailgun.requests)
    assert first["to"] == ["ada@example.com", "cy@example.com"]
    assert json.loads(first["recipient-variables"][0]) == {"ada@example.com": {"notification_id": "1"},
                                                           "cy@example.com": {"notification_id": "3"}}
    assert first["v:notification_id"] == ["%recipient.notification_id%"]
    assert (first["subject"], first["html"]) == ([SUBJECT], [BODY])
    assert second["to"] == ["bob@example.com"] and second["v:notification_id"] == ["2"]
    assert "recipient-variables" not in second
    assert outcomes == [SendResult(f"<20261122.1@{MAILGUN_DOMAIN}>"), SendResult(f"<20261122.2@{MAILGUN_DOMAIN}>"),
                        SendResult(f"<20261122.1@{MAILGUN_DOMAIN}>")]


def test_mailgun_batch_sends_the_template_with_recipient_variables(mailgun):
    batch = [campaign(f"{name.lower()}@example.com", n, name, headers=False) for n, name in enumerate(["Ada", "Bob"])]
    outcomes = mailgun_provider(mailgun.url).send_batch(batch)

    [form] = mailgun.messages
    assert form["subject"] == ["%recipient.name%, spring is here"]
    assert form["html"] == ["<p>Hi %recipient.name%</p><a href='%recipient.unsubscribe%'>Unsubscribe</a>"]
    assert json.loads(form["recipient-variables"][0])["bob@example.com"] == {
        "name": "Bob", "unsubscribe": "https://hub.example/u/1", "notification_id": "1"}
    assert_delivered_as_given(mailgun.deliveries, batch)
    assert [d["variables"]["notification_id"] for d in mailgun.deliveries] == ["0", "1"]
    assert outcomes == [SendResult(f"<20261122.1@{MAILGUN_DOMAIN}>")] * 2


def test_mailgun_batch_sends_apart_messages_whose_headers_differ(mailgun):
    # Recipient variables are not documented to reach h: headers: a request shares its headers.
    batch = [campaign(f"{name.lower()}@example.com", n, name) for n, name in enumerate(["Ada", "Bob"])]
    outcomes = mailgun_provider(mailgun.url).send_batch(batch)

    assert [form["to"] for form in mailgun.messages] == [["ada@example.com"], ["bob@example.com"]]
    assert all("recipient-variables" not in form for form in mailgun.messages)
    assert_delivered_as_given(mailgun.deliveries, batch)
    assert outcomes[0] != outcomes[1]


def test_mailgun_batch_failure_applies_to_its_group(mailgun):
    batch = [message("ada@example.com", 1), message("bad-address", 2, body="<p>Other</p>"),
             message("cy@example.com", 3), message("ada@example.com", 4)]
    outcomes = mailgun_provider(mailgun.url).send_batch(batch)

    # ada twice in the same content: recipient variables are keyed by address, so a second request.
    assert len(mailgun.requests) == 3
    assert isinstance(outcomes[0], SendResult) and outcomes[0] == outcomes[2]
    assert isinstance(outcomes[1], PermanentProviderError)
    assert isinstance(outcomes[3], SendResult) and outcomes[3] != outcomes[0]


# --- SendGrid -------------------------------------------------------------------------------------

def sendgrid_provider(url, api_key=SENDGRID_KEY) -> SendGridProvider:
    return build(SendGridProvider, {"api_key": api_key, "from_email": SENDER, "from_name": "Acme Goods"}, url)


def test_sendgrid_sends_the_documented_request(sendgrid):
    result = sendgrid_provider(sendgrid.url).send(message())

    [request] = sendgrid.server.requests
    assert (request.method, request.path) == ("POST", "/v3/mail/send")
    headers = {name.lower(): value for name, value in request.headers.items()}  # urllib sends "Content-type"
    assert headers["authorization"] == f"Bearer {SENDGRID_KEY}"
    assert headers["content-type"] == "application/json"
    mail = request.json()
    assert mail["from"] == {"email": SENDER, "name": "Acme Goods"}
    assert mail["subject"] == SUBJECT
    assert mail["content"] == [{"type": "text/html", "value": BODY}]
    assert mail["personalizations"][0]["to"] == [{"email": "ada@example.com"}]
    assert mail["custom_args"] == {"notification_id": "42"}
    assert result == SendResult("sg-1")


def test_sendgrid_reuses_one_keep_alive_connection():
    fake = FakeSendGrid(keep_alive=True)  # its own server: no pooled connection to it exists yet
    try:
        sendgrid_provider(fake.url).send(message())
        sendgrid_provider(fake.url).send(message("bob@example.com"))  # a new provider object, same pool
        assert len(fake.mails) == 2
        assert fake.connections == 1
    finally:
        fake.close()


@pytest.mark.parametrize("reply, error_type", [
    (Reply(429, {"errors": [{"message": "too many requests"}]}, {"Retry-After": "12"}), RateLimitedError),
    (Reply(500, {"errors": [{"message": "internal error"}]}), TransientProviderError),
    (Reply(400, {"errors": [{"message": "Does not contain a valid address.",
                             "field": "personalizations.0.to.0.email"}]}), PermanentProviderError),
])
def test_sendgrid_errors_are_classified(sendgrid, reply, error_type):
    sendgrid.fail_with = reply
    with pytest.raises(error_type) as raised:
        sendgrid_provider(sendgrid.url).send(message())
    assert type(raised.value) is error_type
    if error_type is RateLimitedError:
        assert raised.value.retry_after == 12


def test_sendgrid_wrong_key_fails_over_as_configuration(sendgrid):
    with pytest.raises(ProviderConfigError):
        sendgrid_provider(sendgrid.url, api_key="SG.wrong.key").send(message())


def test_sendgrid_connection_refused_is_transient_without_the_key():
    with pytest.raises(TransientProviderError) as raised:
        sendgrid_provider(closed_port_url()).send(message())
    assert SENDGRID_KEY not in str(raised.value)


def test_sendgrid_batch_sends_one_personalization_per_message(sendgrid):
    batch = [message("ada@example.com", 1), message("bob@example.com", 2, subject="Other"),
             message("cy@example.com", 3)]
    outcomes = sendgrid_provider(sendgrid.url).send_batch(batch)

    assert len(sendgrid.mails) == 2
    first, second = sendgrid.mails
    assert [p["to"] for p in first["personalizations"]] == [[{"email": "ada@example.com"}],
                                                             [{"email": "cy@example.com"}]]
    assert [p["custom_args"] for p in first["personalizations"]] == [{"notification_id": "1"},
                                                                      {"notification_id": "3"}]
    assert "custom_args" not in first and first["subject"] == SUBJECT
    assert second["subject"] == "Other" and second["personalizations"][0]["custom_args"] == {"notification_id": "2"}
    assert outcomes == [SendResult("sg-1"), SendResult("sg-2"), SendResult("sg-1")]


NAME, LINK = "[[nh:name]]", "[[nh:unsubscribe]]"


def campaign(recipient, notification_id, name, headers=True, **values) -> OutboundMessage:
    """A personalised campaign message as the renderer stores it: final content and its values."""
    values = {NAME: name, LINK: f"https://hub.example/u/{notification_id}",
              **{f"[[nh:{key}]]": value for key, value in values.items()}}
    fill = lambda text: forward(text, values)  # noqa: E731
    return OutboundMessage(
        notification_id=notification_id, store_id=1, channel="email", recipient=recipient,
        subject=fill(f"{NAME}, spring is here"), body=fill(f"<p>Hi {NAME}</p><a href='{LINK}'>Unsubscribe</a>"),
        idempotency_key=f"n-{notification_id}", text=fill(f"Hi {NAME}. Unsubscribe: {LINK}"),
        headers={"List-Unsubscribe": fill(f"<{LINK}>"), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        if headers else None, substitutions=values)


def assert_delivered_as_given(deliveries, messages):
    by_address = {d["to"]: d for d in deliveries}
    assert sorted(by_address) == sorted(m.recipient for m in messages)
    for m in messages:
        got = by_address[m.recipient]
        assert (got["subject"], got["html"], got.get("text")) == (m.subject, m.body, m.text)
        assert got["headers"] == dict(m.headers or {})


def test_sendgrid_batch_sends_the_template_once_with_substitutions_and_own_headers(sendgrid):
    batch = [campaign("ada@example.com", 1, "Ada"), campaign("bob@example.com", 2, "Bob", city="Oslo"),
             campaign("cy@example.com", 3, "Cy")]
    outcomes = sendgrid_provider(sendgrid.url).send_batch(batch)

    [mail] = sendgrid.mails
    assert mail["subject"] == f"{NAME}, spring is here"
    assert [c["value"] for c in mail["content"]] == [f"Hi {NAME}. Unsubscribe: {LINK}",
                                                     f"<p>Hi {NAME}</p><a href='{LINK}'>Unsubscribe</a>"]
    assert mail["headers"] == {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}  # equal for all: once
    first = mail["personalizations"][0]
    assert first["substitutions"] == {NAME: "Ada", LINK: "https://hub.example/u/1"}  # only the tokens used
    assert first["headers"] == {"List-Unsubscribe": "<https://hub.example/u/1>"}
    assert_delivered_as_given(sendgrid.deliveries, batch)
    assert outcomes == [SendResult("sg-1")] * 3


def test_sendgrid_batch_sends_alone_and_as_it_is_what_a_personalization_cannot_carry(sendgrid):
    batch = [campaign("ada@example.com", 1, "Ada"), campaign("bob@example.com", 2, "Bob"),
             campaign("cy@example.com", 3, "Cy", note="x" * 10_000)]  # over 10,000 bytes of substitutions
    outcomes = sendgrid_provider(sendgrid.url).send_batch(batch)

    assert [len(mail["personalizations"]) for mail in sendgrid.mails] == [2, 1]
    alone = sendgrid.mails[1]
    assert "substitutions" not in alone["personalizations"][0] and alone["subject"] == "Cy, spring is here"
    assert_delivered_as_given(sendgrid.deliveries, batch)
    assert outcomes == [SendResult("sg-1"), SendResult("sg-1"), SendResult("sg-2")]


@pytest.mark.parametrize("change, field", [
    (lambda mail: mail["personalizations"].extend([mail["personalizations"][0]] * 1000), "personalizations"),
    (lambda mail: mail["personalizations"].append(mail["personalizations"][0]), "personalizations"),
    (lambda mail: mail["personalizations"][0].update(substitutions={NAME: "x" * 10_000}),
     "personalizations.0.substitutions"),
    (lambda mail: mail["personalizations"][0].update(substitutions={NAME: 7}), "personalizations.0.substitutions"),
    (lambda mail: mail["personalizations"][0].update(headers={"Subject": "hijacked"}), "personalizations.0.headers"),
    (lambda mail: mail["content"].reverse(), "content"),
])
def test_the_sendgrid_stand_in_refuses_what_sendgrid_documents_it_refuses(sendgrid, change, field):
    import httpx

    mail = {"from": {"email": SENDER}, "subject": SUBJECT, "personalizations": [{"to": [{"email": "a@example.com"}]}],
            "content": [{"type": "text/plain", "value": "Hi"}, {"type": "text/html", "value": "<p>Hi</p>"}]}
    change(mail)
    answer = httpx.post(f"{sendgrid.url}/v3/mail/send", json=mail, headers={"Authorization": f"Bearer {SENDGRID_KEY}"})
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == field
    assert sendgrid.mails == [] and sendgrid.deliveries == []


def test_sendgrid_batch_error_applies_to_every_message_of_the_request(sendgrid):
    sendgrid.fail_with = Reply(503, {"errors": [{"message": "unavailable"}]})
    outcomes = sendgrid_provider(sendgrid.url).send_batch([message("ada@example.com", 1),
                                                           message("bob@example.com", 2)])
    assert len(sendgrid.server.requests) == 1
    assert all(isinstance(outcome, TransientProviderError) for outcome in outcomes)


# --- SMTP against a real aiosmtpd server ---------------------------------------------------------

class Inbox:
    def __init__(self):
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("full@"):
            return "452 4.2.2 Mailbox full, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 2.0.0 Message accepted for delivery"


def self_signed(tmp_path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"mailer", b"s3cret-pass")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def smtp_server():
    controllers = []

    def start(**kwargs):
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **kwargs)
        controller.start()
        controllers.append(controller)
        return inbox, controller.port

    yield start
    for controller in controllers:
        controller.stop()


def smtp_provider(port, **values) -> SmtpProvider:
    return build(SmtpProvider, {"host": "127.0.0.1", "port": str(port), "from_email": SENDER, **values},
                 "http://ignored.example")


def test_smtp_delivers_html_with_a_plain_text_alternative(smtp_server):
    inbox, port = smtp_server()
    result = smtp_provider(port, security="none").send(message())

    [(mail_from, rcpt_tos, received)] = inbox.received
    assert (mail_from, rcpt_tos) == (SENDER, ["ada@example.com"])
    assert (received["From"], received["To"], received["Subject"]) == (SENDER, "ada@example.com", SUBJECT)
    assert received["X-NotifyHub-Notification"] == "42"
    assert received["Message-ID"] == result.provider_message_id and result.provider_message_id.endswith("@acme.test>")
    assert received.get_content_type() == "multipart/alternative"
    assert received.get_body(("html",)).get_content().strip() == BODY
    plain = received.get_body(("plain",)).get_content()
    assert "Your order #1001 is on its way." in plain and "<" not in plain


def test_smtp_starttls_with_a_self_signed_certificate(smtp_server, tmp_path):
    inbox, port = smtp_server(tls_context=self_signed(tmp_path), require_starttls=True)
    smtp_provider(port, security="starttls", verify_tls="false").send(message())
    assert len(inbox.received) == 1


def test_smtp_implicit_tls(smtp_server, tmp_path):
    inbox, port = smtp_server(ssl_context=self_signed(tmp_path))
    smtp_provider(port, security="ssl", verify_tls="false").send(message())
    assert len(inbox.received) == 1


def test_smtp_starttls_refuses_an_unverifiable_certificate_by_default(smtp_server, tmp_path):
    inbox, port = smtp_server(tls_context=self_signed(tmp_path), require_starttls=True)
    with pytest.raises(ProviderConfigError, match="certificate"):
        smtp_provider(port).send(message())
    assert inbox.received == []


def test_smtp_starttls_missing_is_a_configuration_error(smtp_server):
    _, port = smtp_server()
    with pytest.raises(ProviderConfigError, match="STARTTLS"):
        smtp_provider(port, security="starttls").send(message())


def test_smtp_auth_over_starttls(smtp_server, tmp_path):
    inbox, port = smtp_server(tls_context=self_signed(tmp_path), require_starttls=True, authenticator=authenticator,
                              auth_required=True, auth_require_tls=True)
    smtp_provider(port, verify_tls="false", username="mailer", password="s3cret-pass").send(message())
    assert len(inbox.received) == 1


def test_smtp_auth_failure_fails_over_as_configuration(smtp_server, tmp_path):
    inbox, port = smtp_server(tls_context=self_signed(tmp_path), require_starttls=True, authenticator=authenticator,
                              auth_required=True, auth_require_tls=True)
    with pytest.raises(ProviderConfigError) as raised:
        smtp_provider(port, verify_tls="false", username="mailer", password="wrong-password").send(message())
    assert "wrong-password" not in str(raised.value) and inbox.received == []


def test_smtp_recipient_rejected_with_550_is_permanent(smtp_server):
    inbox, port = smtp_server()
    with pytest.raises(PermanentProviderError, match="550") as raised:
        smtp_provider(port, security="none").send(message("nobody@example.com"))
    assert type(raised.value) is PermanentProviderError and inbox.received == []


def test_smtp_recipient_deferred_with_4xx_is_transient(smtp_server):
    _, port = smtp_server()
    with pytest.raises(TransientProviderError, match="452"):
        smtp_provider(port, security="none").send(message("full@example.com"))


def test_smtp_connection_refused_is_transient():
    with pytest.raises(TransientProviderError) as raised:
        smtp_provider(free_port(), security="none", username="mailer", password="s3cret-pass").send(message())
    assert type(raised.value) is TransientProviderError and "s3cret-pass" not in str(raised.value)


def test_smtp_rejects_bad_settings_and_addresses():
    with pytest.raises(ProviderConfigError):
        build(SmtpProvider, {"host": "127.0.0.1", "from_email": SENDER, "security": "tls-please"}, None)
    with pytest.raises(ProviderConfigError):
        build(SmtpProvider, {"host": "127.0.0.1", "from_email": SENDER, "port": "smtp"}, None)
    provider = build(SmtpProvider, {"host": "127.0.0.1", "from_email": SENDER}, None)
    assert (provider.port, provider.security, provider.verify_tls) == (587, "starttls", True)
    with pytest.raises(PermanentProviderError):
        provider.send(message("ada@example.com\r\nBcc: eve@example.com"))


# --- the plain-text part --------------------------------------------------------------------------

TEXT = "Order #1001 was cancelled.\n\nView your order (https://shop.example.com/orders/1001)\n"


def with_text() -> OutboundMessage:
    return replace(message(), text=TEXT)


def test_every_email_provider_sends_the_plain_text_part_beside_the_html(ses, mailgun, sendgrid):
    ses_provider(ses.url).send(with_text())
    assert ses.requests[-1].json()["Content"]["Simple"]["Body"]["Text"] == {"Data": TEXT, "Charset": "UTF-8"}
    mailgun_provider(mailgun.url).send(with_text())
    assert parse_qs(mailgun.requests[-1].body.decode())["text"] == [TEXT]
    sendgrid_provider(sendgrid.url).send(with_text())
    assert sendgrid.server.requests[-1].json()["content"] == [{"type": "text/plain", "value": TEXT},
                                                               {"type": "text/html", "value": BODY}]
