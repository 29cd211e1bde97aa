"""Extensions and waivers through the scheduler's API over real processes (F8): roles, clear 4xx, effects."""

from __future__ import annotations

from typing import Any

import requests

from tests.support import TestStack, local


def _post(stack: TestStack, path: str, body: dict[str, Any], role: str, agency: str | None = None) -> requests.Response:
    return requests.post(stack.url("scheduler", path), json=body, headers=stack.auth(role, agency), timeout=15)


def test_a_unit_asks_for_an_extension_and_so_noi_vu_grants_it(stack: TestStack) -> None:
    path = "/api/v1/obligations/TX_DUYENHAI/2019-Q3/extension-requests"
    body = {"reason": "Chờ số liệu các xã", "proposed_date": "2019-09-20"}
    assert _post(stack, path, body, "agency", "H_TRACU").status_code == 403  # another unit's obligation
    missing = _post(stack, path, {"proposed_date": "2019-09-20"}, "agency", "TX_DUYENHAI")
    assert missing.status_code == 422 and "reason" in missing.json()["error"]["fields"]
    asked = _post(stack, path, body, "agency", "TX_DUYENHAI")
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    pending = stack.items("scheduler", "/api/v1/extension-requests", role="home_affairs", status="pending")
    assert request_id in {r["id"] for r in pending}

    decide = f"/api/v1/extension-requests/{request_id}/decision"
    assert _post(stack, decide, {"decision": "grant"}, "observer").status_code == 403
    assert _post(stack, decide, {"decision": "refuse"}, "home_affairs").status_code == 422  # a refusal needs a reason
    granted = _post(stack, decide, {"decision": "grant", "due_date": "2019-09-18"}, "home_affairs")
    assert granted.status_code == 200, granted.text
    assert granted.json()["status"] == "granted" and granted.json()["granted_date"] == "2019-09-18"
    assert _post(stack, decide, {"decision": "refuse", "reason": "Muộn"}, "home_affairs").status_code == 409

    (ob,) = stack.get("scheduler", "/api/v1/obligations?agency=TX_DUYENHAI&period=2019-Q3").json()["items"]
    assert ob["generation"] == 2 and local(ob["due_before"]) == local("2019-09-19T00:00:00+07:00")


def test_so_noi_vu_waives_an_obligation_once(stack: TestStack) -> None:
    path = "/api/v1/obligations/STTTT/2019-FY/waive"
    assert _post(stack, path, {"reason": "Đơn vị tổ chức lại"}, "agency", "STTTT").status_code == 403
    assert _post(stack, path, {"reason": ""}, "home_affairs").status_code == 422
    waived = _post(stack, path, {"reason": "Đơn vị tổ chức lại"}, "home_affairs")
    assert waived.status_code == 200 and waived.json()["status"] == "waived"
    assert _post(stack, path, {"reason": "Lần nữa"}, "home_affairs").status_code == 409
    stack.wait_status("2019-FY", "STTTT", "waived")
