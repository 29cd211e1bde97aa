"""Bad input to intake gets the right 4xx JSON error, in Vietnamese, naming the field, and stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from pymongo import MongoClient

from services.intake.store import LOGIN_ATTEMPTS
from tests.support import TestStack

AGENCY = "STP"  # never submits successfully in the session: whatever is stored for it is a leak
PERIOD = "2019-FY"


def _post(stack: TestStack, data: bytes | str, *, headers: dict[str, str] | None = None) -> requests.Response:
    base = {"Content-Type": "application/json", **stack.auth("agency", AGENCY)}
    return requests.post(
        stack.url("intake", "/api/v1/reports"), data=data, headers={**base, **(headers or {})}, timeout=15
    )


def _valid(**extra: object) -> dict[str, object]:
    return {"agency": AGENCY, "period": PERIOD, "indicators": {"tcd_luot": 4}, **extra}


def _assert_error(resp: requests.Response, status: int, code: str) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    error = resp.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


@pytest.fixture(autouse=True)
def nothing_stored(stack: TestStack):  # type: ignore[no-untyped-def]
    """Every test here ends with intake holding no report of AGENCY."""
    yield
    assert stack.reports_of(AGENCY) == []


def test_malformed_json_is_400(stack: TestStack) -> None:
    _assert_error(_post(stack, b'{"agency": "STP", "period": '), 400, "malformed_json")


def test_unknown_field_is_422_naming_it(stack: TestStack) -> None:
    error = _assert_error(_post(stack, json.dumps(_valid(bogus=1))), 422, "invalid")
    assert error["fields"] == {"bogus": "Trường không có trong biểu mẫu."}


def test_unknown_indicator_is_422_naming_it(stack: TestStack) -> None:
    body = _valid()
    body["indicators"] = {"khong_co": 1}
    error = _assert_error(_post(stack, json.dumps(body)), 422, "invalid")
    assert "indicators.khong_co" in error["fields"]  # type: ignore[operator]


def test_negative_count_is_422_with_the_vietnamese_label(stack: TestStack) -> None:
    body = _valid()
    body["indicators"] = {"tcd_luot": -1}
    error = _assert_error(_post(stack, json.dumps(body)), 422, "invalid")
    assert error["fields"] == {"indicators.tcd_luot": "Số lượt tiếp công dân: phải là số nguyên không âm."}


def test_body_over_the_size_limit_is_413(stack: TestStack) -> None:
    body = _valid(recommendations="x" * (300 * 1024))
    _assert_error(_post(stack, json.dumps(body)), 413, "too_large")


def test_missing_token_is_401(stack: TestStack) -> None:
    resp = requests.post(stack.url("intake", "/api/v1/reports"), json=_valid(), timeout=15)
    _assert_error(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_forged_token_is_401(stack: TestStack) -> None:
    forged = stack.token("agency", AGENCY)[:-4] + "AAAA"
    resp = _post(stack, json.dumps(_valid()), headers={"Authorization": f"Bearer {forged}"})
    _assert_error(resp, 401, "unauthorized")


def test_body_naming_another_unit_than_the_token_is_403(stack: TestStack) -> None:
    resp = requests.post(
        stack.url("intake", "/api/v1/reports"),
        json={**_valid(), "agency": "H_TRACU"},
        headers=stack.auth("agency", AGENCY),
        timeout=15,
    )
    error = _assert_error(resp, 403, "forbidden")
    assert "agency" in error["fields"]  # type: ignore[operator]
    assert stack.reports_of("H_TRACU") == []


def test_wrong_content_type_is_415(stack: TestStack) -> None:
    _assert_error(
        _post(stack, json.dumps(_valid()), headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type"
    )


def test_deep_nesting_is_400_before_parsing(stack: TestStack) -> None:
    _assert_error(_post(stack, "[" * 5000 + "]" * 5000), 400, "too_deep")


def test_operator_keys_are_refused(stack: TestStack) -> None:
    body = _valid()
    body["indicators"] = {"$where": 1}
    error = _assert_error(_post(stack, json.dumps(body)), 400, "forbidden_key")
    assert "indicators.$where" in error["fields"]  # type: ignore[operator]


def test_a_period_without_obligation_is_422(stack: TestStack) -> None:
    error = _assert_error(_post(stack, json.dumps(_valid(period="2019-Q1"))), 422, "invalid")
    assert "period" in error["fields"]  # type: ignore[operator]


def test_an_officer_cannot_read_another_units_report(stack: TestStack) -> None:
    resp = requests.get(
        stack.url("intake", "/api/v1/reports/H_CAUKE/2019-H1"), headers=stack.auth("agency", AGENCY), timeout=15
    )
    _assert_error(resp, 404, "not_found")


def test_a_lone_surrogate_is_400_not_a_crash(stack: TestStack) -> None:
    _assert_error(
        _post(stack, '{"agency": "STP", "period": "2019-FY", "recommendations": "\\ud800"}'), 400, "malformed_json"
    )
    _assert_error(_post(stack, '{"agency": "STP", "period": "2019-FY", "\\ud800": 1}'), 400, "malformed_json")


def test_an_oversized_count_is_422_with_the_label(stack: TestStack) -> None:
    body = _valid()
    body["indicators"] = {"tcd_luot": 2**70}
    error = _assert_error(_post(stack, json.dumps(body)), 422, "invalid")
    assert error["fields"] == {"indicators.tcd_luot": "Số lượt tiếp công dân: số quá lớn."}


def test_a_10_mb_body_is_413(stack: TestStack) -> None:
    _assert_error(_post(stack, b'{"agency": "STP", "x": "' + b"a" * (10 * 1024 * 1024) + b'"}'), 413, "too_large")


def test_invalid_utf8_is_400(stack: TestStack) -> None:
    _assert_error(
        _post(stack, b'{"agency": "STP", "period": "2019-FY", "next_tasks": "\xff\xfe"}'), 400, "malformed_json"
    )


def test_a_100000_element_array_is_refused_before_its_elements_are_checked(stack: TestStack) -> None:
    body = json.dumps({"agency": AGENCY, "period": "2019-STAFF", "staff": [0] * 100_000}, separators=(",", ":"))
    resp = requests.post(
        stack.url("intake", "/api/v1/reports"),
        data=body,
        headers={"Content-Type": "application/json", **stack.auth("agency", AGENCY)},
        timeout=30,
    )
    error = _assert_error(resp, 422, "invalid")
    assert error["fields"] == {"staff": "Danh sách quá dài (tối đa 500 phần tử)."}
    assert len(resp.content) < 2000


def test_another_units_period_through_the_url_is_403(stack: TestStack) -> None:
    resp = requests.put(
        stack.url("intake", "/api/v1/reports/H_TRACU/2019-FY"),
        json={"indicators": {"tcd_luot": 1}},
        headers=stack.auth("agency", AGENCY),
        timeout=15,
    )
    _assert_error(resp, 403, "forbidden")
    assert stack.reports_of("H_TRACU") == []


def test_expired_and_unsigned_tokens_are_401(stack: TestStack) -> None:
    import base64
    import time

    import jwt

    now = int(time.time())
    expired = jwt.encode(
        {"sub": "x", "role": "agency", "agency": AGENCY, "iss": "dvcq", "iat": now - 7200, "exp": now - 3600},
        stack.secret,
        algorithm="HS256",
    )

    def b64(part: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    claims = {"sub": "x", "role": "admin", "iss": "dvcq", "iat": now, "exp": now + 60}
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    for token in (expired, unsigned):
        resp = _post(stack, json.dumps(_valid()), headers={"Authorization": f"Bearer {token}"})
        _assert_error(resp, 401, "unauthorized")


@pytest.mark.parametrize(
    "body",
    [
        {"narratives": {"area.1": "x"}},
        {"assessment": {"strengths": "x", "$set": {"on_time": True}}},
        {"staff": [{"ho_ten": "A", "nested": {"deep": {"a.b": 1}}}]},
    ],
)
def test_operator_and_dotted_keys_are_refused_at_any_depth(stack: TestStack, body: dict[str, object]) -> None:
    error = _assert_error(_post(stack, json.dumps({**_valid(), **body})), 400, "forbidden_key")
    assert len(error["fields"]) == 1  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"recommendations": "Kiến nghị\u0000"}, "recommendations"),
        ({"recommendations": "dán từ Word\u000b"}, "recommendations"),
        ({"staff": [{"ho_ten": "Nguyễn Văn A\u0007"}]}, "staff[0].ho_ten"),
    ],
)
def test_a_control_character_in_a_text_is_400_naming_the_field(
    stack: TestStack, body: dict[str, object], field: str
) -> None:
    """NUL cannot be stored on PostgreSQL and no C0 control can be printed in the signed document: refused."""
    error = _assert_error(_post(stack, json.dumps({**_valid(), **body})), 400, "control_character")
    assert list(error["fields"]) == [field]  # type: ignore[call-overload]


def test_a_control_character_in_a_login_a_query_or_a_form_is_400_and_records_no_attempt(stack: TestStack) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(stack.space.mongo_url)
    attempts = client[f"{stack.space.prefix}intake"][LOGIN_ATTEMPTS]
    before = attempts.count_documents({})
    email = "ai@\u0000travinh.gov.vn"
    resp = requests.post(stack.url("intake", "/api/v1/login"), json={"email": email, "password": "x" * 12}, timeout=15)
    assert _assert_error(resp, 400, "control_character")["fields"] == {"email": resp.json()["error"]["message"]}
    resp = requests.post(stack.url("intake", "/login"), data={"email": email, "password": "x" * 12}, timeout=15)
    assert list(_assert_error(resp, 400, "control_character")["fields"]) == ["email"]
    resp = requests.get(
        stack.url("intake", "/api/v1/reports/STP/2019-FY"),
        params={"revision": "1\u0000"},
        headers=stack.auth("agency", AGENCY),
        timeout=15,
    )
    assert list(_assert_error(resp, 400, "control_character")["fields"]) == ["revision"]
    resp = requests.get(
        stack.url("intake", "/api/v1/reports/ST%00P/2019-FY"), headers=stack.auth("agency", AGENCY), timeout=15
    )
    assert list(_assert_error(resp, 400, "control_character")["fields"]) == ["path"]
    assert attempts.count_documents({}) == before
    client.close()
