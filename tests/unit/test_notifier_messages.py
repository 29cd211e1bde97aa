"""The notifier's texts: exact subjects, dd/mm/yyyy dates, NFC diacritics, escaped HTML, RFC 2047 mailboxes."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parseaddr
from html.parser import HTMLParser

import pytest

from services.notifier.messages import DigestRow, Message, alert_message, digest_message, mailbox, receipt_message
from shared.timerules import LOCAL_TZ

CAUKE = "Ủy ban nhân dân huyện Cầu Kè"
TRACU = "Ủy ban nhân dân huyện Trà Cú"
H1 = "Báo cáo 6 tháng đầu năm 2019"
D = date(2019, 6, 10)
URL = "https://dvcq.travinh.example/bao-cao/2019-H1?unit=H_CAUKE"


def alert(level: str, **overrides: object) -> Message:
    args: dict[str, object] = {
        "level": level,
        "unit_name": CAUKE,
        "period_name": H1,
        "deadline": D,
        "days_overdue": 0,
        "form_url": URL,
        "recipient_name": "Nguyễn Văn A",
    }
    args.update(overrides)
    return alert_message(**args)  # type: ignore[arg-type]


def all_messages() -> list[Message]:
    alerts = [alert(lv, days_overdue=7) for lv in ("reminder_7", "reminder_1", "overdue", "escalation_1")]
    receipts = [
        receipt_message(kind="submitted", unit_name=CAUKE, period_name=H1, recipient_name="A", form_url=URL),
        receipt_message(
            kind="extended", unit_name=CAUKE, period_name=H1, recipient_name="A", form_url=URL, new_deadline=D
        ),
        receipt_message(kind="refused", unit_name=CAUKE, period_name=H1, recipient_name="A", form_url=URL, reason="x"),
        receipt_message(kind="waived", unit_name=CAUKE, period_name=H1, recipient_name="A", form_url=URL, reason="y"),
    ]
    digest = [digest_message(recipient_name="B", day=D, rows=[DigestRow(CAUKE, H1, D, 7, "overdue")])]
    return alerts + receipts + digest


class _Checker(HTMLParser):
    """Records the text and whether every opened element is closed in order (void elements aside)."""

    VOID = {"meta", "br", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(html: str) -> _Checker:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    return checker


def test_reminder_subject_names_the_level_the_report_the_unit_and_the_deadline() -> None:
    assert alert("reminder_7").subject == f"[Nhắc hạn] {H1} - {CAUKE}: hạn 10/06/2019"
    assert alert("reminder_1").subject == f"[Sắp đến hạn] {H1} - {CAUKE}: hạn 10/06/2019"


def test_overdue_and_escalation_subjects() -> None:
    assert alert("overdue", days_overdue=1).subject == f"[Quá hạn 1 ngày] {H1} - {CAUKE}: hạn 10/06/2019"
    assert (
        alert("escalation_1", days_overdue=7, escalated_to="Giám đốc Sở Nội vụ").subject
        == f"[Báo cáo chậm - đã báo cáo Giám đốc Sở Nội vụ] {H1} - {CAUKE}: hạn 10/06/2019, quá hạn 7 ngày"
    )
    vice_chairman = "Phó Chủ tịch UBND tỉnh phụ trách"
    assert (
        alert("escalation_2", days_overdue=12, escalated_to=vice_chairman).subject
        == f"[Báo cáo chậm - đã báo cáo {vice_chairman}] {H1} - {CAUKE}: hạn 10/06/2019, quá hạn 12 ngày"
    )


def test_reminder_bodies_give_the_deadline_and_the_form() -> None:
    for level in ("reminder_7", "reminder_1"):
        message = alert(level)
        for body in (message.text, message.html):
            assert "10/06/2019" in body
            assert CAUKE in body
            assert H1 in body
        assert URL in message.text
        assert 'href="https://dvcq.travinh.example/bao-cao/2019-H1?unit=H_CAUKE"' in message.html
    assert "sắp đến hạn" in alert("reminder_1").text
    assert "ngày làm việc kế tiếp" in alert("reminder_1").text


def test_overdue_body_counts_the_days_and_asks_for_the_report_at_once() -> None:
    message = alert("overdue", days_overdue=7)
    assert "đã quá hạn 7 ngày" in message.text
    assert "đã quá hạn 7 ngày" in message.html
    assert "hạn nộp ngày 10/06/2019" in message.text
    assert "gửi báo cáo ngay" in message.text
    assert URL in message.text


def test_escalation_body_says_who_it_was_reported_to() -> None:
    message = alert("escalation_1", days_overdue=7, escalated_to="Giám đốc Sở Nội vụ")
    assert "quá hạn 7 ngày" in message.text
    assert "Sở Nội vụ đã báo cáo Giám đốc Sở về việc đơn vị chậm báo cáo." in message.text
    assert "Sở Nội vụ đã báo cáo Giám đốc Sở về việc đơn vị chậm báo cáo." in message.html
    assert "Sở Nội vụ đã báo cáo Giám đốc Sở Nội vụ" not in message.text + message.html
    assert "đã báo cáo Giám đốc Sở Nội vụ]" in message.subject  # read alone, the subject keeps the full title
    second = alert("escalation_2", days_overdue=12, escalated_to="Phó Chủ tịch UBND tỉnh phụ trách")
    assert "đã báo cáo Phó Chủ tịch UBND tỉnh phụ trách" in second.text
    assert "quá hạn 12 ngày" in second.text


def test_escalation_without_a_name_or_with_the_plan_role_code_names_the_leader() -> None:
    assert "đã báo cáo Giám đốc Sở về" in alert("escalation_1", days_overdue=5).text
    assert "Phó Chủ tịch UBND tỉnh phụ trách" in alert("escalation_2", days_overdue=10).subject
    assert "đã báo cáo Giám đốc Sở về" in alert("escalation_1", days_overdue=5, escalated_to="snv_director").text


def test_every_message_is_signed_and_marked_automatic() -> None:
    for message in all_messages():
        for body in (message.text, message.html):
            assert "Sở Nội vụ tỉnh Trà Vinh – Hệ thống theo dõi báo cáo dân vận chính quyền" in body
            assert "tự động" in body


def test_diacritics_survive_as_nfc_even_from_decomposed_input() -> None:
    decomposed = unicodedata.normalize("NFD", CAUKE)
    assert decomposed != CAUKE
    message = alert("overdue", days_overdue=7, unit_name=decomposed, period_name=unicodedata.normalize("NFD", H1))
    for part in (message.subject, message.text, message.html):
        assert unicodedata.is_normalized("NFC", part)
        assert "Cầu Kè" in part
        assert CAUKE in part
    for message in all_messages():
        for part in (message.subject, message.text, message.html):
            assert unicodedata.is_normalized("NFC", part)


def test_html_escapes_user_supplied_strings() -> None:
    hostile = 'Đơn vị <b>&</b> "x" <script>alert(1)</script>'
    message = alert("escalation_1", days_overdue=7, unit_name=hostile, recipient_name="<i>A</i>", escalated_to="<u>")
    assert "<b>" not in message.html
    assert "<script>" not in message.html
    assert "<i>" not in message.html
    assert "<u>" not in message.html
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in message.html
    assert set(parse_html(message.html).tags) <= {
        "html",
        "head",
        "meta",
        "title",
        "body",
        "p",
        "a",
        "hr",
        "br",
        "small",
    }
    # the plain-text body keeps the name as written
    assert "<b>&</b>" in message.text


def test_digest_escapes_unit_names_and_only_http_links_become_anchors() -> None:
    digest = digest_message(recipient_name="B", day=D, rows=[DigestRow("<b>&", H1, D, 7, "overdue")])
    assert "<td>&lt;b&gt;&amp;</td>" in digest.html
    inert = alert("overdue", days_overdue=7, form_url='javascript:alert(1)" onclick="x')
    assert "<a " not in inert.html
    assert 'onclick="' not in inert.html


def test_html_is_a_well_formed_document() -> None:
    for message in all_messages():
        assert message.html.startswith('<html lang="vi">')
        assert message.html.endswith("</body></html>")
        checker = parse_html(message.html)
        assert checker.errors == []
        assert checker.stack == []


def test_subject_stays_on_one_line_whatever_the_names() -> None:
    message = alert(
        "overdue", days_overdue=2, unit_name="Sở Y tế\r\nBcc: x@y.example", period_name=" Báo cáo\nquý III "
    )
    assert message.subject == "[Quá hạn 2 ngày] Báo cáo quý III - Sở Y tế Bcc: x@y.example: hạn 10/06/2019"
    assert "\n" not in message.subject and "\r" not in message.subject


def test_submitted_receipt_gives_the_time_received_and_the_verdict() -> None:
    received = datetime(2019, 6, 10, 14, 30, tzinfo=LOCAL_TZ)
    on_time = receipt_message(
        kind="submitted",
        unit_name=CAUKE,
        period_name=H1,
        recipient_name="Nguyễn Văn A",
        form_url=URL,
        received_at=received,
        on_time=True,
    )
    assert on_time.subject == f"[Đã nhận báo cáo] {H1} - {CAUKE}: đúng hạn"
    assert "14:30 10/06/2019" in on_time.text
    assert "Đã nộp đúng hạn" in on_time.text
    assert URL in on_time.text
    late = receipt_message(
        kind="submitted",
        unit_name=CAUKE,
        period_name=H1,
        recipient_name="Nguyễn Văn A",
        form_url=URL,
        received_at=datetime(2019, 6, 11, 2, 5, tzinfo=LOCAL_TZ),
        on_time=False,
    )
    assert late.subject == f"[Đã nhận báo cáo] {H1} - {CAUKE}: trễ hạn"
    assert "02:05 11/06/2019" in late.text
    assert "Đã nộp trễ hạn" in late.text


def test_received_at_is_shown_in_local_time() -> None:
    message = receipt_message(
        kind="submitted",
        unit_name=CAUKE,
        period_name=H1,
        recipient_name="A",
        form_url=URL,
        received_at=datetime(2019, 6, 10, 16, 59, tzinfo=UTC),
        on_time=False,
    )
    assert "23:59 10/06/2019" in message.text


def test_extension_refusal_and_waiver_receipts() -> None:
    extended = receipt_message(
        kind="extended",
        unit_name=CAUKE,
        period_name=H1,
        recipient_name="A",
        form_url=URL,
        new_deadline=date(2019, 6, 17),
    )
    assert extended.subject == f"[Gia hạn] {H1} - {CAUKE}: hạn mới 17/06/2019"
    assert "Hạn nộp mới: ngày 17/06/2019." in extended.text
    refused = receipt_message(
        kind="refused",
        unit_name=CAUKE,
        period_name=H1,
        recipient_name="A",
        form_url=URL,
        reason="Không có lý do chính đáng",
    )
    assert refused.subject == f"[Không chấp thuận gia hạn] {H1} - {CAUKE}"
    assert "Lý do: Không có lý do chính đáng." in refused.text
    assert URL in refused.text
    waived = receipt_message(
        kind="waived",
        unit_name=CAUKE,
        period_name=H1,
        recipient_name="A",
        form_url=URL,
        reason="Đơn vị đã sáp nhập.",
    )
    assert waived.subject == f"[Miễn báo cáo] {H1} - {CAUKE}"
    assert "Lý do: Đơn vị đã sáp nhập." in waived.text
    assert "Được miễn" in waived.text


def test_unknown_level_or_kind_and_missing_facts_are_refused() -> None:
    with pytest.raises(ValueError):
        alert("reminder_3")
    with pytest.raises(ValueError):
        receipt_message(kind="lost", unit_name=CAUKE, period_name=H1, recipient_name="A", form_url=URL)
    with pytest.raises(ValueError):
        receipt_message(kind="extended", unit_name=CAUKE, period_name=H1, recipient_name="A", form_url=URL)
    with pytest.raises(ValueError):
        receipt_message(
            kind="submitted",
            unit_name=CAUKE,
            period_name=H1,
            recipient_name="A",
            form_url=URL,
            received_at=datetime(2019, 6, 10, 14, 30),  # noqa: DTZ001 - a naive time is what is refused
        )
    with pytest.raises(ValueError):
        digest_message(recipient_name="B", day=D, rows=[DigestRow(CAUKE, H1, D, 1, "reminder_1")])


def test_digest_lists_rows_in_the_order_given_with_the_count() -> None:
    rows = [
        DigestRow(TRACU, H1, D, 12, "escalation_2"),
        DigestRow(CAUKE, H1, D, 7, "escalation_1"),
        DigestRow("Sở Y tế", "Báo cáo quý III năm 2019", date(2019, 9, 10), 1, "overdue"),
    ]
    digest = digest_message(recipient_name="Giám đốc Sở Nội vụ", day=date(2019, 6, 22), rows=rows)
    assert digest.subject == "Tổng hợp đơn vị chậm báo cáo ngày 22/06/2019"
    lines = [line for line in digest.text.splitlines() if line[:1].isdigit()]
    assert lines == [
        f"1. {TRACU} – {H1} – hạn 10/06/2019 – quá hạn 12 ngày – Đã báo cáo lãnh đạo UBND tỉnh",
        f"2. {CAUKE} – {H1} – hạn 10/06/2019 – quá hạn 7 ngày – Đã báo cáo Giám đốc Sở Nội vụ",
        "3. Sở Y tế – Báo cáo quý III năm 2019 – hạn 10/09/2019 – quá hạn 1 ngày – Quá hạn",
    ]
    assert "Tổng số: 3 đơn vị" in digest.text
    assert "Tổng số: 3 đơn vị" in digest.html
    assert digest.html.count("<tr>") == 4  # the header and three rows
    assert digest.html.index(TRACU) < digest.html.index(CAUKE) < digest.html.index("Sở Y tế")
    assert "<th>" in digest.html and "<td>10/09/2019</td>" in digest.html


def test_empty_digest_still_reads_well() -> None:
    digest = digest_message(recipient_name="B", day=D, rows=[])
    assert "Tổng số: 0 đơn vị" in digest.text
    assert "<table" not in digest.html


def test_mailbox_round_trips_through_parseaddr_and_decode_header() -> None:
    encoded = mailbox("Nguyễn Văn A", "a@x.example")
    assert encoded.isascii()
    name, address = parseaddr(encoded)
    assert address == "a@x.example"
    assert str(make_header(decode_header(name))) == "Nguyễn Văn A"
    assert name.startswith("=?utf-8?")


def test_mailbox_of_a_long_name_round_trips_through_both_parsers() -> None:
    long_name = "Phòng Công chức, viên chức - Sở Nội vụ tỉnh Trà Vinh (Chuyên viên theo dõi dân vận chính quyền)"
    encoded = mailbox(long_name, "dvcq.snv@travinh.example")
    assert encoded.isascii()
    assert "\n" not in encoded
    name, address = parseaddr(encoded)
    assert address == "dvcq.snv@travinh.example"
    assert str(make_header(decode_header(name))) == long_name
    msg = EmailMessage(policy=default_policy)
    msg["From"] = encoded
    assert msg["From"].addresses == (Address(long_name, addr_spec="dvcq.snv@travinh.example"),)


def test_mailbox_of_ascii_names_and_bad_addresses() -> None:
    assert mailbox("Van Thu", "vt@x.example") == "Van Thu <vt@x.example>"
    assert mailbox("", "vt@x.example") == "vt@x.example"
    with pytest.raises(ValueError):
        mailbox("A", "a@x.example\r\nBcc: b@y.example")
    with pytest.raises(ValueError):
        mailbox("A", "nguyễn@x.example")
