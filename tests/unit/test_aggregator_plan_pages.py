"""Sở Nội vụ's plan pages (services/aggregator/pages/plan.py) on the aggregator's real app, the scheduler's API
replaced by a recording fake that answers as it does: the plan page, an upload whose errors are listed row by row,
a clean upload's preview, publishing, the difference page, and who may do what."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.aggregator.app import create_app
from shared.auth import csrf_digest, issue_token, verify_token
from shared.clients import ServiceError
from shared.settings import Settings
from shared.web import SESSION_COOKIE
from tests.unit.fakes import FakeRevocations

SECRET = "s" * 40
PLAN = {
    "plan": "vinh-long-2026", "title": "Chế độ báo cáo", "issuer": "UBND tỉnh Vĩnh Long", "issued_on": "2026-01-01",
    "on": "2026-06-20", "version": 0, "version_effective_from": None, "latest_version": 0,
    "latest_effective_from": None, "carried_over_from": "tra-vinh-2019",
    "units": [
        {"code": "VL_SNV", "name": "Sở Nội vụ tỉnh Vĩnh Long", "order": 1, "types": ["SO", "SNV"], "reports": True,
         "valid_from": "2025-07-01", "valid_until": None, "successors": [],
         "contacts": [{"alert_role": "focal", "name": "Cán bộ A", "email": "a@vinhlong.gov.vn"}]},
        {"code": "VL_SDTTG", "name": "Sở Dân tộc và Tôn giáo tỉnh Vĩnh Long", "order": 2, "types": ["SO"],
         "reports": True, "valid_from": "2025-07-01", "valid_until": "2026-07-01", "successors": ["VL_STP"]},
    ],
    "calendar": [
        {"period": "2026-Q3", "name": "Báo cáo quý III năm 2026", "rule": "ngày 10 của tháng cuối quý",
         "applicable": True, "deadline_day": "2026-09-10", "data_window": {"from": "2026-06-15", "to": "2026-09-14"},
         "not_applicable_reason": None, "expected_reports": 2},
    ],
    "ladder": [{"level": "reminder_7", "offset_days": -7, "shift": "previous", "to": ["focal"]}],
    "escalation_local_time": "08:00",
    "recipients": [{"role": "snv", "name": "Sở Nội vụ tỉnh Vĩnh Long", "title": "Chuyên viên"}],
    "days": [{"day": "2026-02-17", "kind": "off", "name": "Tết Nguyên đán", "source": "TB 1/2025", "confirmed": False}],
}  # fmt: skip
PREVIEW = {
    "effective_from": "2026-07-01",
    "counts": {"added": 2, "ended": 1, "renamed": 0, "changed": 0},
    "units": [
        {"code": "VL_STP", "name": "Sở Tư pháp", "kinds": ["added"],
         "details": ["Thêm mới: có hiệu lực từ 01/07/2026."]},
        {"code": "VL_SDTTG", "name": "Sở Dân tộc và Tôn giáo", "kinds": ["ended"],
         "details": ["Hết hiệu lực từ 01/07/2026; kế thừa: VL_STP."]},
    ],
    "obligations": [
        {"agency": "VL_STP", "unit_name": "Sở Tư pháp", "period": "2026-Q3", "effect": "created",
         "due_before": "2026-09-11T00:00:00+07:00", "note": ""},
    ],
    "calendar": [{"period": "2026-Q3", "name": "Báo cáo quý III năm 2026", "deadline_day": "2026-09-10",
                  "due_before": "2026-09-11T00:00:00+07:00", "expected_before": 2, "expected_after": 3}],
}  # fmt: skip


class FakeScheduler:
    """The scheduler's plan API as the pages call it; records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.bad = True

    def plan(self, token: str, *, on: str | None = None, plan: str | None = None) -> dict[str, Any]:
        self.calls.append(("plan", on))
        return PLAN

    def plan_versions(self, token: str, *, plan: str | None = None) -> list[dict[str, Any]]:
        return [{"number": 1, "effective_from": "2026-07-01", "published_at": "2026-06-20T09:00:00+07:00",
                 "published_by": "cv@snv.vn", "units_count": 3}] if ("publish", "d1") in self.calls else []  # fmt: skip

    def import_unit_list(
        self, token: str, data: bytes, *, effective_from: str, filename: str, plan: str | None = None
    ) -> dict[str, Any]:
        self.calls.append(("import", (data, effective_from, filename)))
        if self.bad:
            raise ServiceError(422, "Tệp có 3 lỗi; chưa áp dụng gì.", {
                "row10.C": "Dòng 10, cột C (Loại đơn vị): Loại đơn vị không có: SOT.",
                "row4.D": "Dòng 4, cột D (Hiệu lực từ ngày): “31/06/2026” không phải ngày hợp lệ.",
                "file.A": "Cột A (Mã đơn vị): Đơn vị X đang có trong kế hoạch nhưng không có trong tệp.",
            })  # fmt: skip
        return {"draft": "d1", "units_count": 3, "preview": PREVIEW}

    def publish_version(
        self, token: str, draft: str, *, effective_from: str, plan: str | None = None
    ) -> dict[str, Any]:
        self.calls.append(("publish", draft))
        return {"number": 1, "effective_from": effective_from}

    def plan_diff(self, token: str, first: int, second: int, *, plan: str | None = None) -> list[dict[str, Any]]:
        self.calls.append(("diff", (first, second)))
        return PREVIEW["units"]  # type: ignore[return-value]


@pytest.fixture
def app() -> Flask:
    conf = Settings.from_env({"DVCQ_SECRET": SECRET, "MONGO_URL": "mongodb://127.0.0.1:9/"})
    app = create_app(conf)
    deps = app.extensions["dvcq.deps"]
    deps.rt.revocations = FakeRevocations()  # the logouts, in memory
    app.extensions["dvcq.deps"] = SimpleNamespace(**{**vars(deps), "scheduler": FakeScheduler()})
    return app


def _login(client: FlaskClient, role: str, **claims: Any) -> str:
    token = issue_token(SECRET, sub="cv@snv.vn", role=role, **claims)
    client.set_cookie(SESSION_COOKIE, token)
    return csrf_digest(SECRET, verify_token(SECRET, token).jti or "")


def test_the_plan_page_shows_units_calendar_ladder_days_and_the_upload_form_for_home_affairs(app: Flask) -> None:
    client = app.test_client()
    _login(client, "home_affairs")
    html = client.get("/plan").get_data(as_text=True)
    assert "Sở Nội vụ tỉnh Vĩnh Long" in html and "01/07/2026" in html and "VL_STP" in html
    assert "Báo cáo quý III năm 2026" in html and "15/06/2026 - 14/09/2026" in html
    assert "Nhắc hạn trước 7 ngày" in html and "(chưa xác nhận)" in html
    assert 'id="import-form"' in html and "Cán bộ A" in html
    observer = app.test_client()
    _login(observer, "observer")
    seen = observer.get("/plan").get_data(as_text=True)
    assert "Sở Nội vụ tỉnh Vĩnh Long" in seen and 'id="import-form"' not in seen
    assert observer.post("/plan/import", data={}).status_code == 403


def test_an_upload_with_errors_lists_each_by_row(app: Flask) -> None:
    client = app.test_client()
    csrf = _login(client, "home_affairs")
    resp = client.post(
        "/plan/import",
        data={"csrf_token": csrf, "effective_from": "2026-07-01", "file": (io.BytesIO(b"PK-xlsx"), "donvi.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    listed = html.split('id="import-errors"')[1].split("</ul>")[0]
    assert listed.index("Cột A") < listed.index("Dòng 4") < listed.index("Dòng 10")  # file first, then by row
    assert "Tệp có 3 lỗi" in html
    assert app.extensions["dvcq.deps"].scheduler.calls[-1] == ("import", (b"PK-xlsx", "2026-07-01", "donvi.xlsx"))


def test_a_clean_upload_is_previewed_then_published(app: Flask) -> None:
    client = app.test_client()
    csrf = _login(client, "home_affairs")
    app.extensions["dvcq.deps"].scheduler.bad = False
    resp = client.post(
        "/plan/import",
        data={"csrf_token": csrf, "effective_from": "2026-07-01", "file": (io.BytesIO(b"PK-xlsx"), "donvi.xlsx")},
        content_type="multipart/form-data",
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-count="added">2<' in html and 'data-count="ended">1<' in html
    assert 'data-effect="created"' in html and "11/09/2026" in html and 'name="draft" value="d1"' in html
    done = client.post("/plan/publish", data={"csrf_token": csrf, "draft": "d1", "effective_from": "2026-07-01"})
    assert done.status_code == 303 and done.headers["Location"].startswith("/plan?published=1")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Đã công bố phiên bản 1" in page and 'data-version="1"' in page
    assert client.post("/plan/publish", data={"draft": "d1", "effective_from": "2026-07-01"}).status_code == 403
    diff = client.get("/plan/diff?from=0&to=1").get_data(as_text=True)
    assert "Hết hiệu lực từ 01/07/2026; kế thừa: VL_STP." in diff


def test_a_unit_officer_is_refused_the_plan_pages(app: Flask) -> None:
    client = app.test_client()
    _login(client, "agency", agency="VL_SNV")
    assert client.get("/plan").status_code == 403
