"""The scheduler's plan routes (services/scheduler/plan_api.py) on its real app with recording fakes in place of the
stores: the plan in force, the template, an upload with bad rows (422, one message per place, nothing kept), a clean
upload, its preview, publishing, the versions and their difference, and who may do what."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook

from services.scheduler.app import create_app
from shared.auth import issue_token
from shared.clock import FixedClock
from shared.plan import load_plan
from shared.settings import ROOT, Settings
from shared.timerules import at_local
from shared.unit_list import HEADERS, unit_list_rows
from tests.unit.fakes import FakeObligationStore, FakePlanVersionStore

SECRET = "s" * 40
BASE = load_plan(ROOT / "plans" / "vinh-long-2026")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def app() -> Flask:
    conf = Settings.from_env(
        {
            "DVCQ_SECRET": SECRET,
            "MONGO_URL": "mongodb://127.0.0.1:9/",
            "DVCQ_API_LIMIT_PER_SUBJECT": "0",
            "DVCQ_PLAN": str(ROOT / "plans" / "vinh-long-2026"),
        }
    )
    app = create_app(conf)
    app.extensions["dvcq.deps"] = SimpleNamespace(
        rt=SimpleNamespace(
            plan=BASE,
            plans=(BASE,),
            plan_named=lambda name: BASE if name == BASE.id else None,
            clock=FixedClock(at_local(date(2026, 6, 20), 9, 0)),
        ),
        versions=FakePlanVersionStore(),
        obligations=FakeObligationStore(),
    )
    return app


def _auth(role: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, sub='cv@snv.vn', role=role, **claims)}"}


SNV = _auth("home_affairs")


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_new_unit(bad_email: bool = False) -> bytes:
    rows = unit_list_rows(BASE.units)
    email = "khong-hop-le" if bad_email else "c.stp@vinhlong.gov.vn"
    rows.insert(3, ["VL_STP", "Sở Tư pháp tỉnh Vĩnh Long", "SO", "01/07/2026", None, None, "Lê Văn C", email, None,
                    "Phạm Thị D", "d.stp@vinhlong.gov.vn", None])  # fmt: skip
    return _xlsx(rows)


def _upload(client: FlaskClient, data: bytes, **query: str) -> Any:
    return client.post("/api/v1/plan/imports", data=data, headers={**SNV, "Content-Type": XLSX}, query_string=query)


def test_the_plan_in_force_lists_units_in_official_order_calendar_ladder_recipients_and_days(app: Flask) -> None:
    body = app.test_client().get("/api/v1/plan", headers=_auth("observer")).json
    assert body["plan"] == "vinh-long-2026" and body["version"] == 0 and body["on"] == "2026-06-20"
    assert [u["code"] for u in body["units"][:2]] == ["VL_SNV", "VL_SDTTG"] and len(body["units"]) == len(BASE.units)
    assert "contacts" not in body["units"][0] and "email" not in body["recipients"][0]
    assert [p["period"] for p in body["calendar"]][:2] == ["2026-Q1", "2026-H1"]
    assert [lv["level"] for lv in body["ladder"]][0] == "reminder_7"
    assert any(d["day"] == "2026-02-17" and d["kind"] == "off" for d in body["days"])  # Tết 2026
    snv = app.test_client().get("/api/v1/plan", headers=SNV).json
    assert snv["units"][0]["contacts"] and snv["recipients"][0]["email"]


def test_the_template_is_the_unit_list_in_the_import_layout(app: Flask) -> None:
    resp = app.test_client().get("/api/v1/plan/units.xlsx", headers=SNV)
    assert resp.status_code == 200 and resp.mimetype == XLSX
    sheet = load_workbook(io.BytesIO(resp.data)).active
    assert [c.value for c in sheet[1]] == [label for _, label in HEADERS]
    assert sheet.max_row == 1 + len(BASE.units)
    assert app.test_client().get("/api/v1/plan/units.xlsx", headers=_auth("observer")).status_code == 403


def test_an_upload_with_a_bad_row_is_422_naming_row_and_column_and_keeps_nothing(app: Flask) -> None:
    resp = _upload(app.test_client(), _with_new_unit(bad_email=True), effective_from="2026-07-01")
    assert resp.status_code == 422
    error = resp.json["error"]
    assert error["message"].startswith("Tệp có 1 lỗi")
    assert list(error["fields"]) == ["row4.H"] and "Dòng 4, cột H (Đầu mối: thư điện tử)" in error["fields"]["row4.H"]
    assert app.extensions["dvcq.deps"].versions.drafts == {}


def test_an_upload_that_is_not_xlsx_is_415_and_junk_bytes_are_422(app: Flask) -> None:
    client = app.test_client()
    assert (
        client.post("/api/v1/plan/imports", data=b"x", headers={**SNV, "Content-Type": "text/csv"}).status_code == 415
    )
    resp = _upload(client, b"not a workbook")
    assert resp.status_code == 422 and list(resp.json["error"]["fields"]) == ["file"]


def test_upload_preview_publish_then_versions_and_their_difference(app: Flask) -> None:
    client = app.test_client()
    uploaded = _upload(client, _with_new_unit(), effective_from="2026-07-01", filename="donvi.xlsx")
    assert uploaded.status_code == 201, uploaded.json
    draft = uploaded.json["draft"]
    assert uploaded.json["preview"]["counts"]["added"] == 1
    assert {(o["agency"], o["period"]) for o in uploaded.json["preview"]["obligations"]} == {
        ("VL_STP", "2026-Q3"),
        ("VL_STP", "2026-FY"),
    }
    shown = client.get(f"/api/v1/plan/imports/{draft}/preview?effective_from=2026-09-11", headers=SNV).json
    assert [c["period"] for c in shown["preview"]["calendar"]] == ["2026-FY"]
    assert client.post("/api/v1/plan/versions", json={"draft": draft, "effective_from": "2026-06-19"},
                       headers=SNV).status_code == 422  # fmt: skip
    observer = client.post("/api/v1/plan/versions", json={"draft": draft, "effective_from": "2026-07-01"},
                           headers=_auth("observer"))  # fmt: skip
    assert observer.status_code == 403
    published = client.post("/api/v1/plan/versions", json={"draft": draft, "effective_from": "2026-07-01"}, headers=SNV)
    assert published.status_code == 201 and published.json["number"] == 1
    assert client.get("/api/v1/plan/versions", headers=SNV).json["items"][0]["number"] == 1
    assert len(client.get("/api/v1/plan/versions/1", headers=SNV).json["units"]) == len(BASE.units) + 1
    assert client.get("/api/v1/plan/versions/2", headers=SNV).status_code == 404
    diff = client.get("/api/v1/plan/diff?from=0&to=1", headers=SNV).json
    assert [(u["code"], u["kinds"]) for u in diff["units"]] == [("VL_STP", ["added"])]
    july = client.get("/api/v1/plan?on=2026-07-01", headers=SNV).json
    assert july["version"] == 1 and "VL_STP" in [u["code"] for u in july["units"]]
    june = client.get("/api/v1/plan", headers=SNV).json
    assert june["version"] == 0 and june["latest_version"] == 1
    assert client.get("/api/v1/plan?on=2026-13-01", headers=SNV).status_code == 400
    assert client.get("/api/v1/plan/diff?from=x&to=1", headers=SNV).status_code == 400
    missing = client.post("/api/v1/plan/versions", json={"draft": "nope", "effective_from": "2026-07-01"}, headers=SNV)
    assert missing.status_code == 404


def test_a_unit_officer_may_read_the_plan_but_not_import(app: Flask) -> None:
    officer = _auth("agency", agency="VL_SNV")
    assert app.test_client().get("/api/v1/plan", headers=officer).status_code == 200
    resp = app.test_client().post("/api/v1/plan/imports", data=b"x", headers={**officer, "Content-Type": XLSX})
    assert resp.status_code == 403


def test_a_row_may_not_take_a_code_of_another_plan_the_stack_runs(app: Flask) -> None:
    """One code, one unit of one plan: with the Trà Vinh plan beside it, a Vĩnh Long list adding H_CAUKE is 422
    naming the row and the other plan; publishing a draft whose code another plan took since is 409."""
    tra_vinh = load_plan(ROOT / "plans" / "tra-vinh-2019")
    rt = app.extensions["dvcq.deps"].rt
    client = app.test_client()
    clean = _upload(client, _with_new_unit(), effective_from="2026-07-01")
    assert clean.status_code == 201, clean.json
    rows = unit_list_rows(BASE.units)
    rows.insert(3, ["H_CAUKE", "UBND huyện Cầu Kè", "XA", "01/07/2026", None, None, "Lê Văn C",
                    "c@vinhlong.gov.vn", None, "Phạm Thị D", "d@vinhlong.gov.vn", None])  # fmt: skip
    rt.plans = (BASE, tra_vinh)
    refused = _upload(client, _xlsx(rows), effective_from="2026-07-01")
    assert refused.status_code == 422
    assert refused.json["error"]["fields"] == {
        "row4.A": "Dòng 4, cột A (Mã đơn vị): Mã H_CAUKE là đơn vị của kế hoạch tra-vinh-2019: mỗi mã chỉ thuộc một "
        "kế hoạch."
    }
    rt.plans = (BASE, replace(tra_vinh, units=(*tra_vinh.units, replace(tra_vinh.units[0], code="VL_STP"))))
    late = client.post("/api/v1/plan/versions", json={"draft": clean.json["draft"], "effective_from": "2026-07-01"},
                       headers=SNV)  # fmt: skip
    assert late.status_code == 409 and "VL_STP (tra-vinh-2019)" in late.json["error"]["message"], late.json
