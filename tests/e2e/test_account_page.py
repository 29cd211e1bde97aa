"""The account page at the one address (issue 15 point 2's "account"), over real processes: a person sees who
they are, their role and unit; a password change checks the current password and the new one twice, names the
field at fault and changes nothing when refused; after it only the new password logs in."""

from __future__ import annotations

import re

import pytest
import requests

from tests.support import TestStack, make_officer

pytestmark = pytest.mark.timeout(300)

EMAIL, OLD, NEW = "taikhoan.cauke@travinh.gov.vn", "Mật khẩu cũ 2019!", "Mật khẩu mới 2020!"
HTML = {"Accept": "text/html"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _login(s: TestStack, password: str) -> tuple[requests.Session, requests.Response]:
    return s.public_login(EMAIL, password)


def _change(session: requests.Session, s: TestStack, current: str, new: str, confirm: str) -> requests.Response:
    page = session.get(s.public("/account"), headers=HTML, timeout=15).text
    data = {"csrf_token": TOKEN.search(page).group(1), "current_password": current}  # type: ignore[union-attr]
    data |= {"new_password": new, "confirm_password": confirm}
    return session.post(s.public("/account/password"), data=data, headers=HTML, allow_redirects=False, timeout=30)


def test_the_account_page_says_who_the_person_is_and_changes_the_password(stack: TestStack) -> None:
    make_officer(stack, EMAIL, "H_CAUKE", "Cán bộ tài khoản", OLD)
    session, landed = _login(stack, OLD)
    with session:
        assert landed.status_code == 200
        page = session.get(stack.public("/account"), headers=HTML, timeout=15)
        assert page.status_code == 200
        assert 'id="account-name">Cán bộ tài khoản<' in page.text and f'id="account-email">{EMAIL}<' in page.text
        assert 'id="account-unit">Ủy ban nhân dân huyện Cầu Kè<' in page.text
        assert 'id="account-expires">' in page.text

        wrong = _change(session, stack, "không phải mật khẩu", NEW, NEW)
        assert wrong.status_code == 422 and 'id="current_password-error"' in wrong.text
        mismatch = _change(session, stack, OLD, NEW, NEW + "x")
        assert mismatch.status_code == 422 and 'id="confirm_password-error"' in mismatch.text
        short = _change(session, stack, OLD, "ngắn", "ngắn")
        assert short.status_code == 422 and 'id="new_password-error"' in short.text
        again, still = _login(stack, OLD)
        again.close()
        assert still.url == stack.public("/")  # every refusal changed nothing

        done = _change(session, stack, OLD, NEW, NEW)
        assert done.status_code == 303 and done.headers["Location"] == "/account?done=password"
        after = session.get(stack.public(done.headers["Location"]), headers=HTML, timeout=15)
        assert 'id="notice"' in after.text and "Đã đổi mật khẩu" in after.text

    old_session, refused = _login(stack, OLD)
    old_session.close()
    assert refused.status_code == 401
    session, accepted = _login(stack, NEW)
    with session:
        assert accepted.status_code == 200 and accepted.url == stack.public("/")


def test_the_account_page_needs_a_login(stack: TestStack) -> None:
    with stack.public_session() as session:
        resp = session.get(stack.public("/account"), headers=HTML, allow_redirects=False, timeout=15)
    assert resp.status_code == 303 and resp.headers["Location"] == "/login?next=%2Faccount"  # and back after it
