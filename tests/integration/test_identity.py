"""Identity over real processes (F13): accounts written by `dvcq user create` into the real store, login by API
and by the page, the token and the session cookie on intake and the scheduler, CSRF, lockout and logout."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator

import jwt
import pytest
import requests

from shared.cli import main
from tests.support import TestStack

AGENCY = "SLDTBXH"
PERIOD = "2019-FY"
OFFICER = "DauMoi.SLDTBXH@TraVinh.gov.vn"
OFFICER_NAME = "Trần Thị Bình"
LOCKED = "khoa.thu@travinh.gov.vn"
PASSWORD = "Dân vận 2019!"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _create_user(stack: TestStack, *argv: str) -> None:
    with pytest.MonkeyPatch.context() as env:
        for name in ("MONGO_URL", "DVCQ_DB_PREFIX", "DVCQ_SECRET"):
            env.setenv(name, stack.space.env[name])
        env.setenv("DVCQ_USER_PASSWORD", PASSWORD)
        assert main(["user", "create", *argv]) == 0


@pytest.fixture(scope="module", autouse=True)
def accounts(stack: TestStack) -> Iterator[None]:
    """The unit's officer and an account the lockout test locks, written through intake's real store."""
    _create_user(stack, "--email", OFFICER, "--agency", AGENCY, "--name", OFFICER_NAME)
    _create_user(stack, "--email", LOCKED, "--role", "observer")
    yield


def _login(stack: TestStack, email: str, password: str, session: requests.Session | None = None) -> requests.Response:
    post = session.post if session else requests.post
    return post(stack.url("intake", "/api/v1/login"), json={"email": email, "password": password}, timeout=15)


def _session(stack: TestStack) -> tuple[requests.Session, dict[str, str]]:
    session = requests.Session()
    resp = _login(stack, OFFICER, PASSWORD, session)
    assert resp.status_code == 200, resp.text
    return session, resp.json()


def test_a_login_answers_a_token_that_intake_and_the_scheduler_accept(stack: TestStack) -> None:
    resp = _login(stack, OFFICER.upper(), PASSWORD)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["role"], body["agency"], body["name"]) == ("agency", AGENCY, OFFICER_NAME)
    claims = jwt.decode(body["token"], stack.secret, algorithms=["HS256"], issuer="dvcq", audience="dvcq")
    assert claims["sub"] == OFFICER.lower()
    bearer = {"Authorization": f"Bearer {body['token']}"}

    own = requests.get(stack.url("intake", f"/api/v1/templates/{AGENCY}/{PERIOD}"), headers=bearer, timeout=15)
    assert own.status_code == 200 and own.json()["agency"] == AGENCY
    other = requests.get(stack.url("intake", f"/api/v1/templates/H_CAUKE/{PERIOD}"), headers=bearer, timeout=15)
    assert other.status_code == 404
    items = requests.get(stack.url("scheduler", "/api/v1/obligations"), headers=bearer, timeout=15).json()["items"]
    assert len(items) == 4 and {i["agency"] for i in items} == {AGENCY}


def test_the_session_cookie_is_httponly_lax_and_not_secure_over_http(stack: TestStack) -> None:
    resp = _login(stack, OFFICER, PASSWORD)
    cookies = {c.split("=", 1)[0]: c for c in resp.raw.headers.getlist("Set-Cookie")}
    session = cookies["dvcq_session"]
    assert session.startswith(f"dvcq_session={resp.json()['token']};")
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Path=/" in session
    assert "Secure" not in session
    assert "HttpOnly" not in cookies["dvcq_csrf"] and f"dvcq_csrf={resp.json()['csrf_token']};" in cookies["dvcq_csrf"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_the_session_cookie_reads_on_every_service_and_a_cookie_post_needs_the_csrf_token(stack: TestStack) -> None:
    session, body = _session(stack)
    assert session.get(stack.url("intake", f"/api/v1/templates/{AGENCY}/{PERIOD}"), timeout=15).status_code == 200
    items = session.get(stack.url("scheduler", "/api/v1/obligations"), timeout=15).json()["items"]
    assert {i["agency"] for i in items} == {AGENCY}

    url = stack.url("intake", "/api/v1/reports")
    report = {"agency": AGENCY, "period": PERIOD, "indicators": {"tcd_luot": 4, "tcd_nguoi": 6}}
    refused = session.post(url, json=report, timeout=15)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "csrf"
    assert "CSRF" in refused.json()["error"]["message"]
    forged = session.post(url, json=report, headers={"X-CSRF-Token": "0" * 64}, timeout=15)
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf"
    assert stack.reports_of(AGENCY) == []

    accepted = session.post(url, json=report, headers={"X-CSRF-Token": body["csrf_token"]}, timeout=15)
    assert accepted.status_code == 201, accepted.text
    stored = stack.reports_of(AGENCY)
    assert [(r["period"], r["submitted_by"]) for r in stored] == [(PERIOD, OFFICER.lower())]


def test_six_wrong_passwords_lock_the_account_even_for_the_right_password(stack: TestStack) -> None:
    unknown = _login(stack, "khong.ai@travinh.gov.vn", PASSWORD)
    assert unknown.status_code == 401
    for attempt in range(5):
        resp = _login(stack, LOCKED, f"sai mật khẩu {attempt}")
        assert resp.status_code == 401, (attempt, resp.text)
        assert resp.json()["error"]["message"] == unknown.json()["error"]["message"]  # reveals nothing
    sixth = _login(stack, LOCKED, "sai mật khẩu 5")
    assert sixth.status_code == 429, sixth.text
    assert 840 <= int(sixth.headers["Retry-After"]) <= 900
    assert "khóa" in sixth.json()["error"]["message"]
    right = _login(stack, LOCKED, PASSWORD)
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
    page = requests.Session()
    form = page.get(stack.url("intake", "/login"), headers=HTML, timeout=15)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf
    locked_page = page.post(
        stack.url("intake", "/login"),
        data={"email": LOCKED, "password": PASSWORD, "csrf_token": csrf.group(1)},
        allow_redirects=False,
        timeout=15,
    )
    assert locked_page.status_code == 429 and "Retry-After" in locked_page.headers
    assert "tạm khóa" in locked_page.text and "dvcq_session" not in page.cookies


def test_logout_clears_the_cookies(stack: TestStack) -> None:
    session, body = _session(stack)
    url = stack.url("intake", f"/api/v1/templates/{AGENCY}/{PERIOD}")
    assert session.get(url, timeout=15).status_code == 200
    without_csrf = session.post(stack.url("intake", "/api/v1/logout"), timeout=15)
    assert without_csrf.status_code == 403 and "dvcq_session" in session.cookies
    out = session.post(stack.url("intake", "/api/v1/logout"), headers={"X-CSRF-Token": body["csrf_token"]}, timeout=15)
    assert out.status_code == 200, out.text
    assert "dvcq_session" not in session.cookies and "dvcq_csrf" not in session.cookies
    assert session.get(url, timeout=15).status_code == 401


def _alg_none(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_an_expired_token_and_an_alg_none_token_are_401_as_bearer_and_as_cookie(stack: TestStack) -> None:
    now = int(time.time())
    claims = {"sub": OFFICER.lower(), "role": "agency", "agency": AGENCY, "iss": "dvcq", "jti": "x"}
    expired = jwt.encode({**claims, "iat": now - 7200, "exp": now - 60}, stack.secret, algorithm="HS256")
    unsigned = _alg_none({**claims, "iat": now, "exp": now + 3600})
    for token in (expired, unsigned):
        for service, path in (("intake", f"/api/v1/templates/{AGENCY}/{PERIOD}"), ("scheduler", "/api/v1/obligations")):
            as_bearer = requests.get(stack.url(service, path), headers={"Authorization": f"Bearer {token}"}, timeout=15)
            as_cookie = requests.get(stack.url(service, path), cookies={"dvcq_session": token}, timeout=15)
            assert (as_bearer.status_code, as_cookie.status_code) == (401, 401), (service, token[:20])


def test_the_login_page_logs_in_greets_the_person_and_logs_out(stack: TestStack) -> None:
    browser = requests.Session()
    browser.headers.update(HTML)
    page = browser.get(stack.url("intake", "/login"), timeout=15)
    assert page.status_code == 200 and "Đăng nhập" in page.text
    assert 'name="viewport"' in page.text and '<html lang="vi">' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf

    form = {"email": OFFICER, "password": PASSWORD, "csrf_token": csrf.group(1)}
    no_token = browser.post(
        stack.url("intake", "/login"), data={**form, "csrf_token": ""}, allow_redirects=False, timeout=15
    )
    assert no_token.status_code == 403 and "hết hạn" in no_token.text and "dvcq_session" not in browser.cookies
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', no_token.text)  # the page renewed its nonce
    assert csrf
    wrong = browser.post(
        stack.url("intake", "/login"), data={**form, "password": "sai", "csrf_token": csrf.group(1)}, timeout=15
    )
    assert wrong.status_code == 401 and "không đúng" in wrong.text and OFFICER in wrong.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', wrong.text)
    assert csrf
    done = browser.post(
        stack.url("intake", "/login"), data={**form, "csrf_token": csrf.group(1)}, allow_redirects=False, timeout=15
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("/"), done.text
    assert "dvcq_session" in browser.cookies

    home = browser.get(stack.url("intake", "/"), timeout=15)
    assert home.status_code == 200 and f"Xin chào {OFFICER_NAME}" in home.text
    assert "Sở Lao động - Thương binh và Xã hội" in home.text
    assert requests.get(stack.url("intake", "/"), timeout=15).json()["service"] == "intake"  # API clients: JSON

    logout_csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert logout_csrf
    out = browser.post(stack.url("intake", "/logout"), data={"csrf_token": logout_csrf.group(1)}, timeout=15)
    assert out.url.endswith("/login") and "Đăng nhập" in out.text
    assert "dvcq_session" not in browser.cookies
    assert browser.get(stack.url("intake", "/"), allow_redirects=False, timeout=15).status_code == 303
