"""Email through any SMTP server (stdlib smtplib): a relay, a mailbox provider or an in-house MTA.

Settings: host, port (default 587, or 465 when security is "ssl"), security — "starttls" (default:
plain connection upgraded with STARTTLS, which must be offered), "ssl" (implicit TLS, SMTPS) or
"none" (no encryption) —, username and password (optional: AUTH only when a username is set),
from_email and verify_tls ("true" by default).

verify_tls "false" accepts any certificate (self-signed, expired, wrong host name). That removes the
protection TLS gives: anyone on the network path can impersonate the server and read the password and
every message. Use it only for a server on a trusted network whose certificate cannot be fixed.
Security "none" sends the password (if any) and messages in clear text likewise.

The base URL is ignored: SMTP has no URL; the host and port settings say where to connect.

Each message is one connection (connect, EHLO, STARTTLS, AUTH, MAIL/RCPT/DATA, QUIT) with a 10 s
timeout. The message is multipart/alternative: a plain-text rendering of the HTML body and the HTML,
a Message-ID made here (returned as the provider message id) and an X-NotifyHub-Notification header
with the notification id.

Errors: rejected credentials, a missing STARTTLS or AUTH, a refused sender address and a certificate
that fails verification fail over as configuration; 5xx answers to the recipient or the message
reject this message; 4xx answers, timeouts and connection failures are transient.
"""
from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from functools import lru_cache

from webapp.channels import egress
from webapp.channels.providers.base import (
    ConfigField,
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    ProviderSpec,
    SendResult,
    TransientProviderError,
)
from webapp.templating.plain_text import html_to_text

SPEC = ProviderSpec("smtp", "SMTP server", ("email",), (
    ConfigField("host", "SMTP host", connects_to="host"),
    ConfigField("port", "Port (587 for STARTTLS, 465 for SSL)", required=False),
    ConfigField("security", "Security: starttls, ssl or none", required=False),
    ConfigField("username", "Username", required=False),
    ConfigField("password", "Password", secret=True, required=False),
    ConfigField("from_email", "Sender address"),
    ConfigField("verify_tls", "Verify the server's TLS certificate (true/false; false is insecure)", required=False),
))
LABEL = "SMTP"
TIMEOUT = 10.0
MAX_REASON = 300
SECURITY = ("starttls", "ssl", "none")


@lru_cache(maxsize=1)
def _local_hostname() -> str:
    # smtplib would look this up on every connection; the FQDN lookup can take seconds.
    return socket.getfqdn()


class SmtpProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        del base_url  # SMTP has no URL: host and port say where to connect.
        self.host = (settings.get("host") or "").strip()
        self.security = (settings.get("security") or "starttls").strip().lower()
        self.username = (settings.get("username") or "").strip() or None
        self.password = secrets.get("password") or ""
        self.from_email = (settings.get("from_email") or "").strip()
        if not (self.host and self.from_email):
            raise ProviderConfigError("SMTP needs a host and a sender address")
        if self.security not in SECURITY:
            raise ProviderConfigError("SMTP: security must be starttls, ssl or none")
        port = str(settings.get("port") or "").strip() or ("465" if self.security == "ssl" else "587")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ProviderConfigError("SMTP: the port must be a number between 1 and 65535")
        self.port = int(port)
        if self.username and not self.password:
            raise ProviderConfigError("SMTP: a username needs a password")
        verify = str(settings.get("verify_tls", "true")).strip().lower()
        if verify not in ("true", "false", "1", "0", "yes", "no", ""):
            raise ProviderConfigError("SMTP: verify_tls must be true or false")
        self.verify_tls = verify not in ("false", "0", "no")
        if "@" not in parseaddr(self.from_email)[1]:
            raise ProviderConfigError("SMTP: the sender address is not an email address")

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def build(self, message: OutboundMessage) -> EmailMessage:
        sender = parseaddr(self.from_email)[1]
        recipient = parseaddr(message.recipient)[1]
        if "@" not in recipient or recipient != message.recipient.strip():
            raise PermanentProviderError(f"{LABEL}: “{message.recipient[:60]}” is not an email address")
        mail = EmailMessage()
        try:
            mail["From"] = self.from_email
            mail["To"] = recipient
            mail["Subject"] = message.subject or ""
            mail["Date"] = formatdate(localtime=False, usegmt=True)
            mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
            mail["X-NotifyHub-Notification"] = str(message.notification_id)
            for name, value in (message.headers or {}).items():
                mail[name] = value
        except (ValueError, IndexError):  # a header with a line break, or an unparsable address
            raise PermanentProviderError(f"{LABEL}: the recipient or subject cannot be put in a header") from None
        mail.set_content(message.text or html_to_text(message.body))
        mail.add_alternative(message.body, subtype="html")
        return mail

    def send(self, message: OutboundMessage) -> SendResult:
        mail = self.build(message)
        recipient = str(mail["To"])
        try:
            self._deliver(mail, recipient)
        except ProviderError:
            raise
        except smtplib.SMTPAuthenticationError as error:
            raise ProviderConfigError(self._why("the server refused the username or password", error)) from None
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()), (0, b""))
            raise _by_code(code, self._why(f"recipient refused: {code} {_text(text)}")) from None
        except smtplib.SMTPSenderRefused as error:
            why = self._why("sender address refused", error)
            raise (ProviderConfigError(why) if error.smtp_code >= 500 else TransientProviderError(why)) from None
        except smtplib.SMTPNotSupportedError:
            raise PermanentProviderError(self._why("the server cannot take this message (it needs SMTPUTF8, "
                                                   "which the server does not offer)")) from None
        except smtplib.SMTPResponseException as error:
            raise _by_code(error.smtp_code, self._why("refused", error)) from None
        except smtplib.SMTPServerDisconnected:
            raise TransientProviderError(self._why("the server closed the connection")) from None
        except ssl.SSLCertVerificationError as error:
            raise ProviderConfigError(self._why(f"the server's TLS certificate failed verification "
                                                f"({error.verify_message})")) from None
        except TimeoutError:
            raise TransientProviderError(self._why("timed out")) from None
        except (OSError, smtplib.SMTPException) as error:
            raise TransientProviderError(self._why(f"connection failed ({type(error).__name__})")) from None
        return SendResult(str(mail["Message-ID"]))

    def _deliver(self, mail: EmailMessage, recipient: str) -> None:
        implicit_tls = self._tls_context() if self.security == "ssl" else None
        connection = egress.smtp_connection(self.host, self.port, ssl_context=implicit_tls,
                                            local_hostname=_local_hostname(), timeout=TIMEOUT)
        with connection:
            connection.ehlo()
            if self.security == "starttls":
                if not connection.has_extn("starttls"):
                    raise ProviderConfigError(self._why("the server does not offer STARTTLS (set security to "
                                                        "ssl or none if that is intended)"))
                connection.starttls(context=self._tls_context())
                connection.ehlo()
            if self.username:
                if not connection.has_extn("auth"):
                    raise ProviderConfigError(self._why("the server does not offer AUTH on this connection"))
                connection.login(self.username, self.password)
            connection.send_message(mail, from_addr=parseaddr(self.from_email)[1], to_addrs=[recipient])

    def _why(self, detail: str, error: smtplib.SMTPResponseException | None = None) -> str:
        if error is not None:
            detail = f"{detail}: {error.smtp_code} {_text(error.smtp_error)}"
        text = " ".join(f"{LABEL} {self.host}: {detail}".split())
        if self.password and len(self.password) >= 4:
            text = text.replace(self.password, "****")
        return text[:MAX_REASON]


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _by_code(code: int, why: str) -> ProviderError:
    return PermanentProviderError(why) if 500 <= code < 600 else TransientProviderError(why)

