"""Years roll over by themselves, over real processes (issue 14, Done-when 3): the simulated clock stepped from
01/12/2019 to 12/03/2020 opens 2020 on 15/12/2019 (the scheduler creates and announces the 2020 obligations of
the units valid then), sends 2020-Q1's ladder to the mailbox, and the board (API and page) shows 2020-Q1 beside
2019-FY; the 2020-H1 totals compare with 2019-H1. No process is restarted.

The stack runs the Trà Vinh plan with five of its units (a test plan written from the real one, so the rules,
templates and ladder are the product's): SNV, TTR, H_CAUKE, H_TIEUCAN ceasing on 01/01/2020 and its successor
H_TIEUCAN_MOI from that day. TTR reports 2020-Q1 on time; SNV and H_CAUKE report 2019-H1 and 2020-H1.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.settings import ROOT
from tests.support import (
    OwnSmtp,
    TestStack,
    local,
    make_account,
    own_smtp,
    own_stack,
    published_events,
    wait_for,
    wait_quiet,
    wait_relayed,
)

pytestmark = pytest.mark.timeout(900)

PLAN_DIR = ROOT / "plans" / "tra-vinh-2019"
KEPT = ("SNV", "TTR", "H_CAUKE", "H_TIEUCAN")
NEW = "H_TIEUCAN_MOI"
VALID_2020 = ["H_CAUKE", NEW, "SNV", "TTR"]
CAUKE_FOCAL, CAUKE_HEAD = "daumoi.h-cauke@travinh.example", "thutruong.h-cauke@travinh.example"
Q1_2020 = "Báo cáo quý I năm 2020"
SNV_EMAIL, SNV_PASSWORD = "chuyenvien.years@snv.travinh.example", "Dân vận 2020!"
HTML = {"Accept": "text/html"}


def write_plan(where: Path) -> Path:
    """The real plan with five units: H_TIEUCAN ceases on 01/01/2020, succeeded by H_TIEUCAN_MOI."""
    raw = json.loads((PLAN_DIR / "plan.json").read_text(encoding="utf-8"))
    units = [u for u in raw["units"] if u["code"] in KEPT]
    tieucan = next(u for u in units if u["code"] == "H_TIEUCAN")
    tieucan.update(valid_until="2020-01-01", successors=[NEW])
    successor = json.loads(json.dumps(tieucan))
    successor.update(code=NEW, name="Ủy ban nhân dân huyện Tiểu Cần (mới)", order=26, valid_from="2020-01-01")
    successor.update(valid_until=None, successors=[])
    for contact in successor["contacts"]:
        contact["email"] = contact["email"].replace("h-tieucan", "h-tieucan-moi")
    raw["units"] = [*units, successor]
    where.mkdir(parents=True, exist_ok=True)
    (where / "plan.json").write_text(json.dumps(raw, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.copy(PLAN_DIR / raw["templates"]["indicators"], where / raw["templates"]["indicators"])
    return where


def content(people: int) -> dict[str, Any]:
    """A report counting `people` receptions of citizens (tcd_luot, each one person)."""
    indicators = {"tcd_luot": people, "tcd_nguoi": people}
    return {"indicators": indicators, "narratives": {f"area_{a}": "Đã triển khai theo Kế hoạch." for a in range(1, 6)}}


def step(s: TestStack, when: str) -> None:
    """Move the clock, then let the step's events be published and handled before the next."""
    s.set_clock(when)
    wait_relayed(s)
    wait_quiet(s, timeout=180)


def obligations(s: TestStack, period: str) -> dict[str, str]:
    return {ob["agency"]: ob["status"] for ob in s.items("scheduler", "/api/v1/obligations", period=period)}


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestStack, OwnSmtp, dict[str, Any]]]:
    """The stack stepped from 01/12/2019 to 12/03/2020, with what was seen on the way."""
    plan = write_plan(tmp_path_factory.mktemp("plan") / "tra-vinh-years")
    seen: dict[str, Any] = {}
    with own_smtp("y") as smtp, own_stack("y", env={"DVCQ_PLAN": str(plan), "SMTP_URL": smtp.url}) as s:
        assert s.clock()["now"] == "2019-03-14T00:00:00+07:00"
        for agency, figure in (("SNV", 40), ("H_CAUKE", 2)):
            resp = s.post_report(agency, "2019-H1", content(figure))
            assert resp.status_code == 201 and resp.json()["on_time"] is True, resp.text
        step(s, "2019-12-01T08:00:00+07:00")
        seen["before"] = {
            "q1": obligations(s, "2020-Q1"),
            "calendar": s.get("scheduler", "/api/v1/calendar?year=2020").json(),
            "early": s.post_report("H_CAUKE", "2020-Q1", content(1)),
        }
        step(s, "2019-12-16T08:00:00+07:00")
        seen["opened"] = {period: obligations(s, period) for period in ("2020-Q1", "2020-H1", "2020-Q3", "2020-FY")}
        step(s, "2020-03-03T08:00:00+07:00")
        for agency, period, figure in (("TTR", "2020-Q1", 5), ("SNV", "2020-H1", 55), ("H_CAUKE", "2020-H1", 7)):
            resp = s.post_report(agency, period, content(figure))
            assert resp.status_code == 201 and resp.json()["on_time"] is True, resp.text
        step(s, "2020-03-09T08:00:00+07:00")
        step(s, "2020-03-11T08:00:00+07:00")  # the overdue notice is decided on its own day (1 day overdue)
        step(s, "2020-03-12T09:00:00+07:00")
        yield s, smtp, seen


def test_nothing_of_2020_exists_before_its_year_opens(rolled) -> None:
    _, _, seen = rolled
    before = seen["before"]
    assert before["q1"] == {}
    assert before["calendar"]["periods"] == [] and before["calendar"]["opens_at"] == "2019-12-15T00:00:00+07:00"
    early = before["early"]
    assert early.status_code == 422, early.text
    assert early.json()["error"]["fields"]["period"] == "Kỳ 2020-Q1 chưa mở: nhận báo cáo từ ngày 15/12/2019."


def test_opening_2020_creates_its_obligations_for_the_units_valid_then_announced_that_day(rolled) -> None:
    s, _, seen = rolled
    opened = seen["opened"]
    # H_TIEUCAN owes the periods whose window opened (15/12/2019) before it ceased, not 2020-Q3 (window 15/6).
    for period in ("2020-Q1", "2020-H1", "2020-FY"):
        assert sorted(opened[period]) == sorted([*VALID_2020, "H_TIEUCAN"]), period
        assert set(opened[period].values()) == {"pending"}, period
    assert sorted(opened["2020-Q3"]) == sorted(VALID_2020)
    created = {e["subject"]: e for e in published_events(s, "scheduler", "obligation.created")}
    q1 = created["obligation:H_CAUKE:2020-Q1"]
    assert local(q1["occurred_at"]) == local("2019-12-16T08:00:00+07:00")  # the pass that opened the year
    assert q1["data"]["deadline_day"] == "2020-03-10"
    assert not [k for k in created if k.endswith(("2021-Q1", "2021-H1"))]
    assert f"obligation:{NEW}:2019-FY" not in created  # the successor did not exist in 2019
    assert s.items("scheduler", "/api/v1/obligations", period="2021-Q1") == []


def test_the_2020_q1_ladder_reaches_the_mailbox(rolled) -> None:
    s, smtp, _ = rolled
    assert obligations(s, "2020-Q1") == {
        "H_CAUKE": "overdue",
        NEW: "overdue",
        "SNV": "overdue",
        "TTR": "submitted_on_time",
        "H_TIEUCAN": "closed_by_reorganisation",
    }

    def mailed() -> dict[str, list[str]] | None:
        subjects = {
            who: sorted(m.subject for m in smtp.to(who) if Q1_2020 in m.subject) for who in (CAUKE_FOCAL, CAUKE_HEAD)
        }
        return subjects if len(subjects[CAUKE_FOCAL]) == 2 and len(subjects[CAUKE_HEAD]) == 2 else None

    subjects = wait_for(mailed, timeout=120, what="the 2020-Q1 reminders and overdue notice")
    prefix = f"{Q1_2020} - Ủy ban nhân dân huyện Cầu Kè: hạn 10/03/2020"
    assert subjects[CAUKE_FOCAL] == [f"[Nhắc hạn] {prefix}", f"[Sắp đến hạn] {prefix}"]
    assert subjects[CAUKE_HEAD] == [f"[Quá hạn 1 ngày] {prefix}", f"[Sắp đến hạn] {prefix}"]
    ttr = sorted(m.subject for m in smtp.to("daumoi.ttr@travinh.example") if Q1_2020 in m.subject)
    assert [t.split("]")[0] for t in ttr] == ["[Nhắc hạn", "[Đã nhận báo cáo"]  # it reported on 03/03: no more
    tieucan = [m for m in smtp.to("daumoi.h-tieucan@travinh.example") if Q1_2020 in m.subject]
    assert tieucan == []  # its obligation was closed on 01/01/2020: never reminded


def test_the_board_shows_2020_q1_beside_2019_fy(rolled) -> None:
    s, _, _ = rolled
    q1, fy = s.compliance("2020-Q1"), s.compliance("2019-FY")
    assert (q1["EXPECTED_REPORTS"], q1["ACTUAL_REPORTS"], q1["ACTUAL_REPORTS_ON_TIME"]) == (4, 1, 1)
    assert q1["period_name"] == Q1_2020 and fy["period_name"] == "Báo cáo năm 2019"
    assert fy["EXPECTED_REPORTS"] == 4 and {u["agency"] for u in fy["items"]} == {*KEPT}
    overdue = s.items("aggregator", "/api/v1/overdue")
    assert {(r["period"], r["agency"]) for r in overdue} >= {("2019-FY", "H_CAUKE"), ("2020-Q1", "H_CAUKE")}
    calendar = s.get("scheduler", "/api/v1/calendar").json()
    assert calendar["years"] == [2019, 2020]
    expected = {p["period"]: p["expected_reports"] for p in calendar["periods"] if p["applicable"]}
    assert (expected["2019-FY"], expected["2020-Q1"], expected["2020-H1"]) == (4, 4, 4)

    make_account(s, SNV_EMAIL, "Chuyên viên Sở Nội vụ", SNV_PASSWORD, role="home_affairs")
    session = requests.Session()
    login = session.get(s.url("intake", "/login"), timeout=15).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
    form = {"email": SNV_EMAIL, "password": SNV_PASSWORD, "csrf_token": token}
    session.post(s.url("intake", "/login"), data=form, headers=HTML, allow_redirects=False, timeout=15)
    home = session.get(s.url("aggregator", "/"), headers=HTML, timeout=15)
    assert home.status_code == 200, home.text[:300]
    assert 'data-period="2020-Q1"' in home.text  # the latest period past its deadline
    assert '<optgroup label="Năm 2019">' in home.text and '<optgroup label="Năm 2020">' in home.text
    assert '<option value="2019-FY">' in home.text and '<option value="2020-Q1" selected>' in home.text
    assert '<option value="2021-Q1"' not in home.text
    fy_page = session.get(s.url("aggregator", "/periods/2019-FY"), headers=HTML, timeout=15)
    assert fy_page.status_code == 200 and 'data-period="2019-FY"' in fy_page.text
    unit = session.get(s.url("aggregator", "/periods/2020-Q1/units/H_CAUKE"), headers=HTML, timeout=15)
    assert unit.status_code == 200
    history = re.findall(r'<tr data-period="([^"]+)"', unit.text)  # the unit's periods, every year, in order
    assert history == ["2019-STAFF", "2019-H1", "2019-Q3", "2019-FY", "2020-Q1", "2020-H1", "2020-Q3", "2020-FY"]
    session.close()


def test_the_2020_h1_summary_compares_with_2019_h1(rolled) -> None:
    s, _, _ = rolled
    resp = s.get("aggregator", "/api/v1/summary?period=2020-H1", role="home_affairs")
    assert resp.status_code == 200, resp.text
    summary = resp.json()
    assert summary["previous_period"] == "2019-H1"
    line = next(li for area in summary["areas"] for li in area["indicators"] if li["key"] == "tcd_luot")
    assert (line["total"], line["previous"], line["change"]) == (62, 42, 20)


def test_the_replay_runs_across_the_opening_of_a_year(tmp_path: Path) -> None:
    """`dvcq replay` over 12/12/2019 - 02/01/2020 on a stack of its own: the year opens on the way (no restart),
    late 2019-FY reports still arrive, and its closing table counts 2019-FY."""
    plan = write_plan(tmp_path / "tra-vinh-years")
    with own_stack("r", env={"DVCQ_PLAN": str(plan)}) as s:
        done = s.dvcq("replay", "--start", "2019-12-12", "--end", "2020-01-02", "--seed", "7", timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "dvcq replay: 2019-12-12 → 2020-01-02" in done.stdout
        assert re.search(r"^2019-FY: \d+/4 đã nộp", done.stdout, re.MULTILINE), done.stdout
        assert sorted(obligations(s, "2020-Q1")) == sorted([*VALID_2020, "H_TIEUCAN"])
        assert s.clock()["now"] == "2020-01-02T08:00:00+07:00"
        assert obligations(s, "2020-Q1")["H_TIEUCAN"] == "closed_by_reorganisation"  # ceased on 01/01/2020


def test_the_documents_of_2020_are_issued_like_2019s(rolled) -> None:
    s, _, _ = rolled
    hq = s.auth("home_affairs")
    report = requests.post(s.url("aggregator", "/api/v1/exports/2020-H1.docx"), json={}, headers=hq, timeout=60)
    assert report.status_code == 201, report.text
    text = docx_text(report.content)
    assert "6 tháng đầu năm 2020" in text and "tháng    năm 2020" in text  # dated in the year it is issued
    letter = requests.post(s.url("aggregator", "/api/v1/exports/2020-Q1/urging-letter.docx"), headers=hq, timeout=60)
    assert letter.status_code == 201, letter.text
    urged = docx_text(letter.content)
    assert "Ủy ban nhân dân huyện Cầu Kè" in urged and "Thanh tra tỉnh" not in urged and "10/03/2020" in urged


def docx_text(content: bytes) -> str:
    from docx import Document

    doc = Document(io.BytesIO(content))
    return "\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells])
