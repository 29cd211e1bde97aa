"""The notifier's SMTP transport with credentials, against real aiosmtpd servers on 127.0.0.1: STARTTLS before
AUTH (certificate checked), no password to a server without it, and the password in no error and no log."""

from __future__ import annotations

import logging
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from services.notifier.domain import DeliveryFailed, Notification
from services.notifier.mailer import SmtpTransport, redact_url
from tests.support import free_ports

PASSWORD = "S3cret/pass:w0rd!"  # noqa: S105 - a test's own
URL_PASSWORD = "S3cret%2Fpass%3Aw0rd%21"
NOTE = Notification(
    id="obligation:H_CAUKE:2019-H1:g1:overdue|thutruong.h-cauke@travinh.example|email",
    event_id="obligation:H_CAUKE:2019-H1:g1:overdue",
    event_type="obligation.overdue",
    agency="H_CAUKE",
    period="2019-H1",
    level="overdue",
    recipient="thutruong.h-cauke@travinh.example",
    recipient_role="head",
    recipient_name="Thủ trưởng đơn vị",
    channel="email",
    status="pending",
    decided_at=datetime(2019, 6, 11, 1, 0, tzinfo=UTC),
    subject="[Quá hạn 1 ngày] Báo cáo 6 tháng đầu năm 2019",
    text="Kính gửi: Thủ trưởng đơn vị.",
    html="<p>Kính gửi: Thủ trưởng đơn vị.</p>",
    message_id="<0123456789abcdef0123456789abcdef@travinh.example>",
)


class Recording:
    """Keeps what the server saw: the logins (with whether the session was encrypted) and the messages."""

    def __init__(self) -> None:
        self.logins: list[tuple[str, str, bool]] = []
        self.received: list[Envelope] = []

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login.decode(), data.password.decode(), session.ssl is not None))
        return AuthResult(success=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 OK"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl, as Debian ships it)."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def server(request: pytest.FixtureRequest, certificate: tuple[Path, Path]) -> Iterator[tuple[Recording, int]]:
    """An SMTP server offering AUTH (and accepting any login), with STARTTLS when parametrized True."""
    recording, tls = Recording(), request.param
    context = None
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
    (port,) = free_ports(1)
    controller = Controller(
        recording,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        authenticator=recording,
        auth_require_tls=False,  # the server would take a password in clear: the client must not send one
    )
    controller.start()
    try:
        yield recording, port
    finally:
        controller.stop()


def _send(port: int, caplog: pytest.LogCaptureFixture) -> DeliveryFailed | None:
    transport = SmtpTransport(f"smtp://snv:{URL_PASSWORD}@127.0.0.1:{port}", "dvcq@travinh.example")
    assert transport.password == PASSWORD
    with caplog.at_level(logging.DEBUG):
        try:
            transport.send(NOTE)
        except DeliveryFailed as exc:
            return exc
    return None


@pytest.mark.parametrize("server", [False], indirect=True)
def test_no_password_goes_to_a_server_without_starttls(server, caplog) -> None:
    recording, port = server
    failed = _send(port, caplog)
    assert failed is not None and not failed.permanent and "STARTTLS" in str(failed)
    assert "không hỗ trợ STARTTLS" in str(failed) and PASSWORD not in str(failed)
    assert recording.logins == [] and recording.received == []


@pytest.mark.parametrize("server", [True], indirect=True)
def test_credentials_go_only_inside_starttls_with_the_certificate_checked(server, certificate, caplog, monkeypatch):
    recording, port = server
    failed = _send(port, caplog)  # the self-signed certificate is not trusted
    assert failed is not None and "CERTIFICATE_VERIFY_FAILED" in str(failed) and PASSWORD not in str(failed)
    assert recording.logins == []

    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # now it is (OpenSSL reads it per context)
    assert _send(port, caplog) is None
    assert recording.logins == [("snv", PASSWORD, True)]
    (envelope,) = recording.received
    assert envelope.rcpt_tos == [NOTE.recipient]
    assert PASSWORD not in caplog.text and URL_PASSWORD not in caplog.text


@pytest.mark.parametrize("server", [True], indirect=True)
def test_a_password_smtplib_cannot_send_is_a_delivery_failure_that_does_not_show_it(server, certificate, monkeypatch):
    _, port = server
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    transport = SmtpTransport(f"smtp://snv:M%E1%BA%ADt-kh%E1%BA%A9u@127.0.0.1:{port}", "dvcq@travinh.example")
    with pytest.raises(DeliveryFailed) as failed:
        transport.send(NOTE)
    assert "ASCII" in str(failed.value) and "Mật-khẩu" not in str(failed.value)


def test_a_malformed_smtp_url_is_refused_without_its_password() -> None:
    with pytest.raises(ValueError) as refused:
        SmtpTransport(f"smtpx://snv:{URL_PASSWORD}@mail.example", "dvcq@travinh.example")
    assert URL_PASSWORD not in str(refused.value) and "snv:***@mail.example" in str(refused.value)
    assert redact_url("smtp://127.0.0.1:8025") == "smtp://127.0.0.1:8025"


def test_a_recipient_that_is_no_address_is_refused_before_any_connection() -> None:
    (port,) = free_ports(1)  # nothing listens there: a connection attempt would be a temporary failure
    transport = SmtpTransport(f"smtp://127.0.0.1:{port}", "dvcq@travinh.example")
    with pytest.raises(DeliveryFailed) as refused:
        transport.send(replace(NOTE, recipient="nguyễn văn@x"))
    assert refused.value.permanent and "không hợp lệ (không được có dấu cách)" in str(refused.value)
