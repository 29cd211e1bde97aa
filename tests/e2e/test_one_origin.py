"""One public address over real processes (issue 15 point 1): the test stack runs behind its reverse proxy (Caddy,
`shared.edge`) like the local stack. Plain HTTP redirects to HTTPS; the certificate is the proxy's local CA's; every
page and API answers at the one address exactly as on its service's own port; operators' paths are not there; the
session cookie set through the proxy is `Secure`, `HttpOnly`, `SameSite=Lax`, and a page that needs a login sends
the browser to the login at the public address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from tests.support import TestStack, make_account, own_stack, wait_for

pytestmark = pytest.mark.timeout(600)

EMAIL, PASSWORD = "chuyenvien.origin@snv.travinh.example", "Một địa chỉ 2019!"
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def stack() -> Iterator[TestStack]:
    with own_stack("origin") as s:
        make_account(s, EMAIL, "Chuyên viên Sở Nội vụ", PASSWORD, role="home_affairs")
        s.set_clock("2019-06-12T09:00:00+07:00")
        yield s


def test_plain_http_redirects_to_the_same_page_over_https(stack: TestStack) -> None:
    plain = f"http://127.0.0.1:{stack.edge.http_port}/board?period=2019-H1"
    resp = requests.get(plain, allow_redirects=False, timeout=15)
    assert resp.status_code == 308
    assert resp.headers["Location"] == stack.public("/board?period=2019-H1")


def test_the_certificate_is_the_local_cas_and_every_answer_carries_hsts(stack: TestStack) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(stack.public("/login"), timeout=15)  # not a publicly trusted certificate
    resp = requests.get(stack.public("/login"), verify=stack.ca, timeout=15)
    assert resp.status_code == 200 and "Đăng nhập" in resp.text
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize(
    ("service", "path", "role", "agency"),
    [
        ("scheduler", "/api/v1/obligations?period=2019-H1&limit=5", "admin", None),
        ("scheduler", "/api/v1/plan", "observer", None),
        ("scheduler", "/api/v1/calendar", "observer", None),
        ("notifier", "/api/v1/inbox", "agency", "H_CAUKE"),
        ("notifier", "/api/v1/inbox/unread", "observer", None),
        ("notifier", "/api/v1/notifications?period=2019-H1&limit=3", "admin", None),
        ("aggregator", "/api/v1/compliance?period=2019-H1&limit=5", "home_affairs", None),
        ("aggregator", "/api/v1/overdue", "home_affairs", None),
        ("intake", "/api/v1/templates/H_CAUKE/2019-H1", "agency", "H_CAUKE"),
    ],
)
def test_every_api_answers_at_the_one_address_as_on_its_own_port(stack, service, path, role, agency) -> None:
    headers = stack.auth(role, agency)
    direct = requests.get(stack.url(service, path), headers=headers, timeout=30)
    public = requests.get(stack.public(path), headers=headers, verify=stack.ca, timeout=30)
    assert direct.status_code == 200, direct.text[:300]
    assert public.status_code == 200 and public.json() == direct.json(), public.text[:300]


@pytest.mark.parametrize("path", ["/metrics", "/readyz", "/openapi.json", "/api/v1/events"])
def test_operators_paths_are_not_at_the_public_address(stack: TestStack, path: str) -> None:
    resp = requests.get(stack.public(path), headers=stack.auth("admin"), verify=stack.ca, timeout=15)
    assert resp.status_code == 404
    assert requests.get(stack.url("intake", path), headers=stack.auth("service"), timeout=15).status_code == 200


def test_style_sheets_of_every_page_service_are_served(stack: TestStack) -> None:
    for path in ("/assets/intake.css", "/board/assets/board.css", "/inbox/assets/inbox.css"):
        resp = requests.get(stack.public(path), verify=stack.ca, timeout=15)
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/css"), path


def test_a_login_through_the_proxy_sets_a_secure_cookie_and_the_board_opens_with_it(stack: TestStack) -> None:
    session = stack.public_session()
    try:
        anonymous = session.get(stack.public("/board"), headers=HTML, allow_redirects=False, timeout=15)
        assert anonymous.status_code == 303
        assert anonymous.headers["Location"].startswith(stack.public("/login"))
        form = session.get(stack.public("/login"), timeout=15).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        login = session.post(stack.public("/login"), data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
                             headers=HTML, allow_redirects=False, timeout=15)  # fmt: skip
        assert login.status_code == 303, login.text[:300]
        cookies = login.raw.headers.getlist("Set-Cookie")
        session_cookie = next(c for c in cookies if c.startswith("dvcq_session="))
        assert {"Secure", "HttpOnly", "SameSite=Lax"} <= {part.strip() for part in session_cookie.split(";")}
        board = session.get(stack.public("/board?period=2019-H1"), headers=HTML, timeout=30)
        assert board.status_code == 200 and 'data-period="2019-H1"' in board.text
        assert f'href="{stack.public("/board")}"' in board.text  # its links stay on the one address
    finally:
        session.close()


SERVICE_READS = {
    "intake": "/api/v1/reports?period=2019-H1",
    "scheduler": "/api/v1/obligations?period=2019-H1&limit=1",
    "notifier": "/api/v1/inbox",
    "aggregator": "/api/v1/compliance?period=2019-H1&limit=1",
}


def _answers(stack: TestStack, token: str) -> dict[str, tuple[int, int]]:
    """Each service's status for the token as a bearer header and as the session cookie."""
    out = {}
    for service, path in SERVICE_READS.items():
        bearer = requests.get(stack.url(service, path), headers={"Authorization": f"Bearer {token}"}, timeout=15)
        cookie = requests.get(stack.url(service, path), cookies={"dvcq_session": token}, timeout=15)
        out[service] = (bearer.status_code, cookie.status_code)
    return out


def test_a_logout_ends_the_session_at_every_service_for_the_token_and_the_cookie(stack: TestStack) -> None:
    session = stack.public_session()
    try:
        form = session.get(stack.public("/login"), timeout=15).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        session.post(stack.public("/login"), data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
                     headers=HTML, timeout=15)  # fmt: skip
        old = session.cookies["dvcq_session"]
        assert _answers(stack, old) == dict.fromkeys(SERVICE_READS, (200, 200))
        home = session.get(stack.public("/"), headers=HTML, timeout=15).text
        logout = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)  # type: ignore[union-attr]
        out = session.post(stack.public("/logout"), data={"csrf_token": logout}, headers=HTML, timeout=15)
        assert out.url == stack.public("/login") and "dvcq_session" not in session.cookies
    finally:
        session.close()
    refused = dict.fromkeys(SERVICE_READS, (401, 401))
    wait_for(lambda: _answers(stack, old) == refused, timeout=30, what="the logged-out token refused everywhere")

    api = requests.post(stack.url("intake", "/api/v1/login"), json={"email": EMAIL, "password": PASSWORD}, timeout=15)
    bearer = api.json()["token"]
    assert _answers(stack, bearer)["scheduler"] == (200, 200)
    gone = requests.post(stack.url("intake", "/api/v1/logout"), headers={"Authorization": f"Bearer {bearer}"},
                         timeout=15)  # fmt: skip
    assert gone.status_code == 200
    wait_for(lambda: _answers(stack, bearer) == refused, timeout=30, what="the API logout refused everywhere")
