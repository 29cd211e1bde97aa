"""The e-mail channel: a notification as a MIME message (text and HTML, RFC 2047 headers) sent over SMTP."""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from urllib.parse import quote, unquote, urlsplit

from services.notifier.domain import DeliveryFailed, Notification
from services.notifier.messages import mailbox
from shared.addresses import InvalidAddress, normalise_email
from shared.timerules import LOCAL_TZ

SENDER_NAME = "Sở Nội vụ tỉnh Trà Vinh"
TIMEOUT_SECONDS = 20.0


def build_message(notification: Notification, *, mail_from: str, now: datetime, to: str | None = None) -> Message:
    """The MIME message of a notification: its stored subject, text and HTML bodies and Message-ID; display
    names and the subject RFC 2047-encoded; Date in local time; `to` is the recipient's checked address.

    Built with the `compat32` API on purpose: Python 3.11's `EmailMessage` policies fold a long non-ASCII
    subject into encoded-words with the space between two words left outside them, and RFC 2047 decoders drop
    such whitespace ("Ủy ban nhân dânhuyện"). `email.header.Header` keeps every space inside an encoded-word.
    """
    msg = MIMEMultipart("alternative")
    msg["From"] = mailbox(SENDER_NAME, mail_from)
    msg["To"] = mailbox(notification.recipient_name, to or notification.recipient)
    msg["Subject"] = notification.subject if notification.subject.isascii() else Header(notification.subject, "utf-8")
    msg["Date"] = format_datetime(now.astimezone(LOCAL_TZ))
    msg["Message-ID"] = notification.message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.attach(MIMEText(notification.text, "plain", "utf-8"))
    msg.attach(MIMEText(notification.html, "html", "utf-8"))
    return msg


def redact_url(url: str) -> str:
    """`SMTP_URL` as it may be shown: the password replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


class SmtpTransport:
    """Sends each message on a fresh SMTP connection to `SMTP_URL` (`smtp://[user:pass@]host[:port]`, or
    `smtps://` for implicit TLS); any refusal or network error is a DeliveryFailed (in Vietnamese: it is stored
    in the ledger that Sở Nội vụ reads), permanent for 5xx and for an address no server could take.

    With credentials over `smtp://` the connection is upgraded with STARTTLS (certificate checked) before
    AUTH, and a server that does not offer STARTTLS gets no password: the attempt fails. The password never
    appears in an error, and so never in the ledger or a log.
    """

    def __init__(self, smtp_url: str, mail_from: str) -> None:
        url = urlsplit(smtp_url)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ValueError(f"SMTP_URL must look like smtp://host:port, not {redact_url(smtp_url)!r}")
        self.tls = url.scheme == "smtps"
        self.host = url.hostname
        self.port = url.port or (465 if self.tls else 25)
        self.username = unquote(url.username) if url.username else None
        self.password = unquote(url.password) if url.password else None
        self.mail_from = mail_from

    def send(self, notification: Notification) -> None:
        """Deliver one message; return once the server accepted it (250 after DATA)."""
        try:
            recipient = normalise_email(notification.recipient)
        except InvalidAddress as exc:
            raise DeliveryFailed(
                f"Địa chỉ thư điện tử của người nhận {notification.recipient!r} {exc} Hãy sửa địa chỉ trong danh "
                "sách cán bộ của đơn vị rồi gửi lại thông báo.",
                permanent=True,
            ) from None
        try:
            self._send(notification, recipient)
        except DeliveryFailed as exc:
            raise DeliveryFailed(self._redacted(str(exc)), permanent=exc.permanent) from None

    def _redacted(self, text: str) -> str:
        """Defence in depth: whatever a server or a library put in an error, the password is not kept."""
        for secret in {self.password, quote(self.password or "")} - {None, ""}:
            text = text.replace(str(secret), "***")
        return text

    def _send(self, notification: Notification, recipient: str) -> None:
        msg = build_message(notification, mail_from=self.mail_from, now=datetime.now(UTC), to=recipient)
        where = f"{self.host}:{self.port}"
        try:
            client: smtplib.SMTP
            if self.tls:
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"Không kết nối được máy chủ thư SMTP {where}: {exc!r}") from exc
        try:
            if self.username is not None:
                if not self.tls:
                    client.ehlo()
                    if not client.has_extn("starttls"):
                        raise DeliveryFailed(
                            f"Máy chủ thư SMTP {where} không hỗ trợ STARTTLS: mật khẩu SMTP không được gửi qua kết "
                            "nối không mã hóa (dùng máy chủ có STARTTLS hoặc smtps://)."
                        )
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                client.login(self.username, self.password or "")
            refused = client.send_message(msg, from_addr=self.mail_from, to_addrs=[recipient])
            if refused:
                raise DeliveryFailed(f"Máy chủ thư từ chối người nhận: {refused!r}", permanent=True)
        except smtplib.SMTPRecipientsRefused as exc:
            permanent = all(code >= 500 for code, _ in exc.recipients.values())
            raise DeliveryFailed(f"Máy chủ thư từ chối người nhận: {exc.recipients!r}", permanent=permanent) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"Máy chủ thư SMTP trả lời lỗi {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"Lỗi SMTP với máy chủ {where}: {exc!r}") from exc
        except UnicodeError as exc:  # smtplib sends AUTH in ASCII only
            raise DeliveryFailed(
                f"Lỗi SMTP với máy chủ {where}: tên đăng nhập và mật khẩu SMTP phải là chữ không dấu (ASCII)."
            ) from exc
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
