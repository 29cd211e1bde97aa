"""Sở Nội vụ publishes a new version of the unit list in headless Chromium (issue 14, Done-when 4): an XLSX with 3 bad
rows shows each error; the fixed file's preview shows 2 units added, 1 ended with its successor and the obligations;
publishing it with an effective date creates the new units' obligations, which the new unit's officer sees on their
home page; intake, which learns the list from `plan.published`, accepts the new unit's report, and the board gives
the new units' names and the renamed one's new name from 2019-Q3; the board of the earlier period (2019-H1) is
unchanged, old name included; past 2019-Q3's deadline the notifier chases the new department that has not reported
at the address the file gave.

The module runs on a stack of its own: publishing changes the plan's units, which the session's shared stack must
not see. The plan is Trà Vinh 2019; the clock stands at 12/06/2019 and the version takes effect on 01/07/2019.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openpyxl import Workbook, load_workbook
from playwright.sync_api import Page, expect

from tests.browser.conftest import login
from tests.support import OwnSmtp, TestStack, make_account, make_officer, own_smtp, own_stack, wait_for

PASSWORD = "Sở Nội vụ Trà Vinh 2019!"
SPECIALIST = "chuyenvien.plan@snv.travinh.example"
NEW_OFFICER = "daumoi@ngoaivu.travinh.example"
SCIENCE_FOCAL = "daumoi@khcn.travinh.example"
SCIENCE_HEAD = "thutruong.s_khcn_moi@travinh.example"  # `_new` writes the head's address
EARLIER = "2019-H1"
EFFECTIVE = "2019-07-01"
ADDED = ("S_NGOAIVU", "S_KHCN_MOI")
ENDED = "SKHCN"
RENAMED, NEW_NAME = "TTR", "Thanh tra tỉnh Trà Vinh (tên mới)"


@pytest.fixture(scope="module")
def stack() -> Iterator[TestStack]:
    """A stack of this module's own at 12/06/2019 (the H1 deadline past), with a Sở Nội vụ specialist and a mailbox."""
    with own_smtp("pv") as smtp, own_stack("pv", env={"SMTP_URL": smtp.url}) as s:
        s.smtp = smtp  # type: ignore[attr-defined]
        make_account(s, SPECIALIST, "Nguyễn Thị Thanh Tâm", PASSWORD, role="home_affairs")
        wait_for(lambda: len(s.compliance(EARLIER)["items"]) == 29, timeout=90, what="29 obligations of H1")
        s.set_clock("2019-06-12T09:00:00+07:00")
        wait_for(
            lambda: sum(u["status"] == "overdue" for u in s.compliance(EARLIER)["items"]) == 29,
            timeout=90,
            what="29 units overdue on the H1 board",
        )
        yield s


def _template(stack: TestStack) -> list[list[Any]]:
    resp = requests.get(stack.url("scheduler", "/api/v1/plan/units.xlsx"), headers=stack.auth("home_affairs"),
                        timeout=15)  # fmt: skip
    assert resp.status_code == 200, resp.text
    return [list(row) for row in load_workbook(io.BytesIO(resp.content)).active.iter_rows(values_only=True)]


def _new(code: str, name: str, email: str, *, types: str = "SO", valid_from: str = "01/07/2019") -> list[Any]:
    return [code, name, types, valid_from, None, None, "Lê Văn Cường", email, "0912 345 678",
            "Phạm Thị Dung", f"thutruong.{code.lower()}@travinh.example", None]  # fmt: skip


def _file(rows: list[list[Any]], path: str) -> str:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def _lists(stack: TestStack, tmp: str) -> tuple[str, str]:
    """The unit list with 3 bad rows, and the same list fixed: 2 units added, Sở Khoa học và Công nghệ ended on
    01/07/2019 with the new department as its successor."""
    rows = _template(stack)
    for row in rows[1:]:
        if row[0] == ENDED:
            row[4], row[5] = "01/07/2019", "S_KHCN_MOI"
        if row[0] == RENAMED:
            row[1] = NEW_NAME
    good = _new("S_NGOAIVU", "Sở Ngoại vụ", NEW_OFFICER)
    science = _new("S_KHCN_MOI", "Sở Khoa học và Công nghệ (mới)", SCIENCE_FOCAL)
    fixed = [*rows[:21], good, science, *rows[21:]]
    broken = [
        *rows[:21],
        [*good[:2], "SO, PHONG", *good[3:]],  # row 22: an unknown type
        [*science[:3], "31/06/2019", *science[4:]],  # row 23: no such day
        *rows[21:],
        _new("S_DULICH", "Sở Du lịch", "khong co a cong"),  # row 37 (after the 33 units and 2 added): a bad e-mail
    ]
    return _file(broken, os.path.join(tmp, "donvi-loi.xlsx")), _file(fixed, os.path.join(tmp, "donvi.xlsx"))


def _board_rows(stack: TestStack, period: str) -> list[tuple[str, str, str, str]]:
    return sorted((u["agency"], u["name"], u["status"], u["due_before"]) for u in stack.compliance(period)["items"])


def test_home_affairs_imports_previews_and_publishes_a_unit_list(page: Page, stack: TestStack, tmp_path: Any) -> None:
    h1_before = _board_rows(stack, EARLIER)
    broken, fixed = _lists(stack, str(tmp_path))
    login(page, stack, SPECIALIST, PASSWORD)
    page.goto(stack.public("/plan"))
    expect(page.locator("#units tbody tr")).to_have_count(33)
    expect(page.locator("#no-versions")).to_be_visible()

    # 1. three bad rows: each listed with its row and column, nothing kept
    page.set_input_files("#file", broken)
    page.fill("#effective_from", EFFECTIVE)
    page.click("#import-submit")
    errors = page.locator("#import-errors li")
    expect(errors).to_have_count(3)
    texts = errors.all_inner_texts()
    assert texts[0].startswith("Dòng 22, cột C (Loại đơn vị)") and "PHONG" in texts[0]
    assert texts[1].startswith("Dòng 23, cột D (Hiệu lực từ ngày)") and "31/06/2019" in texts[1]
    assert texts[2].startswith("Dòng 37, cột H (Đầu mối: thư điện tử)")
    expect(page.locator("#problem")).to_contain_text("Tệp có 3 lỗi")

    # 2. the fixed file: the preview
    page.goto(stack.public("/plan"))
    page.set_input_files("#file", fixed)
    page.fill("#effective_from", EFFECTIVE)
    page.click("#import-submit")
    expect(page.locator("[data-count=added]")).to_have_text("2")
    expect(page.locator("[data-count=ended]")).to_have_text("1")
    ended = page.locator(f"#unit-changes tr[data-unit={ENDED}]")
    expect(ended).to_contain_text("Hết hiệu lực từ 01/07/2019; kế thừa: S_KHCN_MOI.")
    for code in ADDED:
        expect(page.locator(f"#unit-changes tr[data-unit={code}]")).to_contain_text("Thêm mới")
        for period in ("2019-Q3", "2019-FY"):
            effect = page.locator(f"#obligation-effects tr[data-agency={code}][data-period='{period}']")
            expect(effect).to_have_attribute("data-effect", "created")
    expect(page.locator(f"#obligation-effects tr[data-agency={ENDED}][data-period='2019-Q3']")).to_have_attribute(
        "data-effect", "closed"
    )
    expect(page.locator("#preview-calendar tr[data-period='2019-Q3'] td").nth(4)).to_have_text("30")

    # 3. publish with the effective date
    expect(page.locator("#publish-day")).to_have_value(EFFECTIVE)
    page.click("#publish")
    expect(page.locator("#notice")).to_contain_text("Đã công bố phiên bản 1")
    expect(page.locator("#versions tr[data-version='1']")).to_contain_text("01/07/2019")
    page.goto(stack.public("/plan/diff?from=0&to=1"))
    expect(page.locator("#unit-changes tr[data-kinds~=added]")).to_have_count(2)

    # 4. intake learnt the new list (plan.published): the new unit reports, and the board names it
    def reported() -> requests.Response | None:
        resp = stack.post_report("S_NGOAIVU", "2019-Q3", {"indicators": {"tcd_luot": 5, "tcd_nguoi": 5}})
        assert resp.status_code in (201, 422), resp.text  # 422: intake has not learnt the unit yet
        return resp if resp.status_code == 201 else None

    wait_for(reported, timeout=60, interval=0.5, what="intake accepting the new unit's report")

    def new_unit_named() -> dict[str, Any] | None:
        # the row comes with the report's events, the name with the aggregator's copy of the version (its own
        # plan follower: the event or its refresh), which may come a few seconds later
        rows = {u["agency"]: u for u in stack.compliance("2019-Q3")["items"]}
        row = rows.get("S_NGOAIVU")
        ok = row is not None and row["status"] == "submitted_on_time" and row["name"] == "Sở Ngoại vụ"
        return rows if ok else None

    q3 = wait_for(new_unit_named, timeout=60, what="the new unit's report, named, on the 2019-Q3 board")
    assert q3["S_KHCN_MOI"]["name"] == "Sở Khoa học và Công nghệ (mới)"
    assert q3[RENAMED]["name"] == NEW_NAME  # the list in force on 2019-Q3's deadline day

    # 5. the new unit's officer (an account intake can open now that it knows the unit) sees its obligations
    make_officer(stack, NEW_OFFICER, "S_NGOAIVU", "Lê Văn Cường", PASSWORD)
    page.context.clear_cookies()
    login(page, stack, NEW_OFFICER, PASSWORD)
    rows = page.locator("#obligations tbody tr")
    expect(rows).to_have_count(2)
    assert [r.get_attribute("data-period") for r in rows.all()] == ["2019-Q3", "2019-FY"]

    # 6. the earlier period is unchanged: the same units, names (TTR's old one), statuses and deadlines
    assert _board_rows(stack, EARLIER) == h1_before
    assert (RENAMED, "Thanh tra tỉnh") in {row[:2] for row in h1_before}

    # 7. the notifier learnt the new list too: past 2019-Q3's deadline, the new department that has not reported
    # is chased at the addresses the file gave (the overdue notice goes to its head)
    stack.set_clock("2019-09-12T09:00:00+07:00")
    smtp: OwnSmtp = stack.smtp  # type: ignore[attr-defined]
    chased = wait_for(
        lambda: [m for m in smtp.to(SCIENCE_FOCAL, SCIENCE_HEAD) if "quý III năm 2019" in m.subject],
        timeout=120,
        what="the 2019-Q3 ladder at the new department's focal officer",
    )
    assert all("Sở Khoa học và Công nghệ (mới)" in m.text for m in chased), [m.text[:300] for m in chased]
    # the department that reported got its receipt, and no ladder
    receipts = wait_for(
        lambda: [m.subject for m in smtp.to(NEW_OFFICER) if "quý III năm 2019" in m.subject],
        timeout=60,
        what="the new department's receipt",
    )
    assert receipts == ["[Đã nhận báo cáo] Báo cáo quý III năm 2019 - Sở Ngoại vụ: đúng hạn"], receipts
