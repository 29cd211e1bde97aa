"""Vietnamese figures (shared.formatting): one convention, and the same figure printed the same way on the board,
in a mail and in the DOCX."""

from __future__ import annotations

import io
from datetime import date

import docx
import pytest

from services.aggregator.documents.consolidated import consolidated_report_docx
from services.aggregator.documents.model import ComplianceFigures, ConsolidatedData
from services.aggregator.pages import present
from services.notifier.messages import DigestRow, digest_message
from shared.formatting import NO_DATA, vn_change, vn_count, vn_figure, vn_rate, vn_weekday

H1 = "Báo cáo 6 tháng đầu năm 2019"


def test_vietnamese_figures():
    assert vn_figure(1234) == "1.234"
    assert vn_figure(12.5) == "12,5"
    assert vn_figure(50000 / 612, "%") == "81,7%"
    assert vn_figure(100.0, "%") == "100,0%"
    assert vn_rate(95.5, sign=False) == "95,5"
    assert vn_figure(None) == NO_DATA == "—"
    assert vn_rate(None) == vn_count(None) == "—"
    assert vn_change(160) == "+160"
    assert vn_change(-1234) == "-1.234"
    assert vn_change(-3.5, "%") == "-3,5 điểm %"
    assert vn_change(0) == "0"
    assert vn_change(None) == "—"


def test_days_of_the_week_in_words():
    assert [vn_weekday(date(2019, 4, 29 + i)) for i in range(2)] == ["thứ Hai", "thứ Ba"]
    assert (vn_weekday(date(2019, 5, 4)), vn_weekday(date(2019, 5, 5))) == ("thứ Bảy", "Chủ nhật")


def _board(expected: int, actual: int, rate: float) -> dict[str, str]:
    """The compliance figures as the board page shows them."""
    view = {
        "EXPECTED_REPORTS": expected,
        "ACTUAL_REPORTS": actual,
        "ACTUAL_REPORTS_ON_TIME": actual,
        "REPORTING_RATE": rate,
        "REPORTING_RATE_ON_TIME": rate,
    }
    return {f["key"]: f["value"] for f in present.figures(view)}


def _mail(expected: int, late: int) -> str:
    """The daily digest's text with `late` units late of `expected`."""
    rows = [DigestRow(f"Đơn vị {i}", H1, date(2019, 6, 10), 7, "overdue") for i in range(late)]
    return digest_message(recipient_name="B", day=date(2019, 6, 17), rows=rows, expected={H1: expected}).text


def _docx(expected: int, actual: int) -> str:
    """The consolidated report's text (its paragraphs) for these compliance figures."""
    data = ConsolidatedData(
        plan_title="Kế hoạch",
        plan_issuer="UBND tỉnh",
        plan_issued_on=date(2019, 3, 14),
        period_key="2019-H1",
        period_name="6 tháng đầu năm 2019",
        year=2019,
        compliance=ComplianceFigures(expected=expected, actual=actual, on_time=actual),
    )
    document = docx.Document(io.BytesIO(consolidated_report_docx(data)))
    return "\n".join(p.text for p in document.paragraphs)


@pytest.mark.parametrize(
    ("expected", "count", "count_text", "rate_text"),
    [(1292, 1234, "1.234", "95,5%"), (29, 29, "29", "100,0%")],
)
def test_a_percentage_and_a_count_print_identically_on_the_board_in_a_mail_and_in_the_docx(
    expected: int, count: int, count_text: str, rate_text: str
) -> None:
    rate = ComplianceFigures(expected=expected, actual=count, on_time=count).reporting_rate
    assert rate is not None

    board = _board(expected, count, rate)
    assert (board["ACTUAL_REPORTS"], board["REPORTING_RATE"]) == (count_text, rate_text)

    mail = _mail(expected, count)
    assert f"{H1}: {count_text}/{vn_count(expected)} đơn vị chậm báo cáo ({rate_text})." in mail
    assert f"Tổng số: {count_text} đơn vị chậm báo cáo." in mail

    report = _docx(expected, count)
    assert f"nhận được {count_text}/{vn_count(expected)} báo cáo" in report
    assert f"(đạt {rate_text})" in report
