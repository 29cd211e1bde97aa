"""The inbox as a page (issue 15 point 3) over real processes, at the stack's one address: after the stepped
2019-H1 (tests.support.step_through_h1) H_TRACU's focal officer, and Sở Nội vụ's specialist, find their alerts
and receipts on `/inbox`, newest first and page by page as the notifier's API lists them, linked to the
obligation; the header of every service's pages shows the unread count the API gives; marking an item read by
its form lowers it and the page shows the item read; someone else's item is not found; a form without the
session's CSRF token is refused."""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support import (
    TRACU_STAFF,
    TestStack,
    make_account,
    make_officer,
    own_smtp,
    own_stack,
    step_through_h1,
    wait_quiet,
)

# The module's stack steps through 2019-H1 in its fixture: over 4 minutes on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(900)

PASSWORD = "Hộp thư 2019!"
FOCAL, HEAD = TRACU_STAFF[0]["email"], TRACU_STAFF[1]["email"]
SNV = "dvcq.snv@travinh.example"  # the plan's recipient "snv": the ladder's late units reach this inbox
HTML = {"Accept": "text/html"}
ITEM = re.compile(r'<li class="item [^"]*" data-id="([^"]+)" data-read="(true|false)"')


@pytest.fixture(scope="module")
def stack() -> Iterator[TestStack]:
    """A stack stepped through 2019-H1 with the focal officer of H_TRACU (in its staff list) and Sở Nội vụ's
    specialist (the plan's recipient) as accounts."""
    with own_smtp("ib") as smtp, own_stack("ib", env={"SMTP_URL": smtp.url}) as s:
        make_officer(s, FOCAL, "H_TRACU", TRACU_STAFF[0]["ho_ten"], PASSWORD)
        make_account(s, SNV, "Chuyên viên Sở Nội vụ", PASSWORD, role="home_affairs")
        step_through_h1(s)
        wait_quiet(s)
        yield s


def _login(stack: TestStack, email: str) -> requests.Session:
    """A browser's cookie session at the one address, logged in through the login page."""
    session, done = stack.public_login(email, PASSWORD, follow=False)
    assert done.status_code == 303, done.text[:300]
    return session


def _api(stack: TestStack, role: str, email: str, agency: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token(role, agency, sub=email)}"}


def _inbox(stack: TestStack, auth: dict[str, str]) -> list[dict[str, Any]]:
    """The person's inbox as the API lists it, every page."""
    return stack.items("notifier", "/api/v1/inbox", auth=auth)


def _unread(stack: TestStack, auth: dict[str, str]) -> int:
    resp = requests.get(stack.url("notifier", "/api/v1/inbox/unread"), headers=auth, timeout=15)
    assert resp.status_code == 200, resp.text[:300]
    count: int = resp.json()["unread"]
    return count


def _page(session: requests.Session, url: str) -> str:
    resp = session.get(url, headers=HTML, timeout=30)
    assert resp.status_code == 200, resp.text[:300]
    return resp.text


def _badge(text: str) -> int | None:
    """The unread count the header shows beside "Hộp thư" (None: no badge)."""
    found = re.search(r'<span class="unread" data-unread="(\d+)">\((\d+)\)</span>', text)
    if found is None:
        return None
    assert found.group(1) == found.group(2)
    assert f'<span id="nav-inbox-unread" hidden>{found.group(1)} thông báo chưa đọc</span>' in text
    return int(found.group(1))


def _all_pages(stack: TestStack, session: requests.Session) -> list[tuple[str, str, str]]:
    """Every item of the inbox page, following "Trang sau" to the end: (id, data-read, the page's HTML)."""
    out: list[tuple[str, str, str]] = []
    url: str | None = stack.public("/inbox")
    while url is not None:
        text = _page(session, url)
        out += [(html.unescape(i), read, text) for i, read in ITEM.findall(text)]
        found = re.search(r'<a href="([^"]+)" id="next-page"', text)
        url = stack.public(html.unescape(found.group(1))) if found else None
    return out


def _csrf(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]


def test_an_officers_inbox_page_lists_what_the_api_lists_and_the_header_counts_the_unread(stack: TestStack) -> None:
    auth = _api(stack, "agency", FOCAL, "H_TRACU")
    items = _inbox(stack, auth)
    assert len(items) >= 2 and "2019-H1" in {i["period"] for i in items}  # the H1 ladder reached her inbox
    assert all(i["text"].startswith("Kính gửi: ") for i in items)  # the API gives each item's text, as the page
    unread = sum(not i["read"] for i in items)
    assert unread > 0 and _unread(stack, auth) == unread
    session = _login(stack, FOCAL)
    shown = _all_pages(stack, session)
    assert [(i, r) for i, r, _ in shown] == [(i["id"], str(i["read"]).lower()) for i in items]  # as the API
    first = shown[0][2]
    assert _badge(first) == unread and f'id="unread-summary" data-unread="{unread}"' in first
    assert 'id="nav-inbox" aria-current="page"' in first
    assert f'href="{stack.public("/reports/2019-H1")}"' in first  # her report of the period, at the one address
    assert "Ủy ban nhân dân huyện Trà Cú" in first and "Báo cáo 6 tháng đầu năm 2019" in first
    assert first.count('<div class="text">Kính gửi: ') == first.count('<li class="item ')  # each item's text
    home = _page(session, stack.public("/"))  # intake's page asks the notifier for the count
    assert _badge(home) == unread


def test_marking_an_item_read_by_its_form_lowers_the_count_and_shows_it_read(stack: TestStack) -> None:
    auth = _api(stack, "agency", FOCAL, "H_TRACU")
    before = _unread(stack, auth)
    session = _login(stack, FOCAL)
    text = _page(session, stack.public("/inbox"))
    item = next(i for i, read in ITEM.findall(text) if read == "false")
    action = f"/inbox/{urllib.parse.quote(html.unescape(item), safe='')}/read"
    assert f'action="{action}"' in text
    done = session.post(stack.public(action), data={"csrf_token": _csrf(text), "cursor": ""}, headers=HTML,
                        allow_redirects=False, timeout=15)  # fmt: skip
    assert (done.status_code, done.headers["Location"]) == (303, "/inbox")
    assert _unread(stack, auth) == before - 1
    assert next(i for i in _inbox(stack, auth) if i["id"] == html.unescape(item))["read"] is True
    after = _page(session, stack.public("/inbox"))
    assert dict(ITEM.findall(after))[item] == "true" and "Đã đọc lúc " in after
    assert _badge(after) == before - 1 and _badge(_page(session, stack.public("/reports"))) == before - 1


def test_someone_elses_item_is_not_found_and_a_form_without_the_csrf_token_is_refused(stack: TestStack) -> None:
    head = _api(stack, "agency", HEAD, "H_TRACU")
    theirs = next(i for i in _inbox(stack, head) if not i["read"])
    auth = _api(stack, "agency", FOCAL, "H_TRACU")
    mine = next(i for i in _inbox(stack, auth) if not i["read"])
    before = (_unread(stack, head), _unread(stack, auth))
    session = _login(stack, FOCAL)
    token = _csrf(_page(session, stack.public("/inbox")))
    other = session.post(stack.public(f"/inbox/{urllib.parse.quote(theirs['id'], safe='')}/read"),
                         data={"csrf_token": token}, headers=HTML, allow_redirects=False, timeout=15)  # fmt: skip
    assert other.status_code == 404 and "Không tìm thấy thông báo" in other.text
    assert theirs["id"] not in other.text  # nothing of it shows
    forged = session.post(stack.public(f"/inbox/{urllib.parse.quote(mine['id'], safe='')}/read"),
                          data={"cursor": ""}, headers=HTML, allow_redirects=False, timeout=15)  # fmt: skip
    assert forged.status_code == 403 and "Phiên làm việc đã hết hạn" in forged.text
    assert (_unread(stack, head), _unread(stack, auth)) == before


def test_so_noi_vus_inbox_links_each_late_unit_to_its_page_on_the_board(stack: TestStack) -> None:
    auth = _api(stack, "home_affairs", SNV)
    items = _inbox(stack, auth)
    late = [i for i in items if i["agency"] and i["period"]]
    assert late, items[:3]
    unread = _unread(stack, auth)
    session = _login(stack, SNV)
    shown = _all_pages(stack, session)
    assert [i for i, _, _ in shown] == [i["id"] for i in items]
    page = next(text for i, _, text in shown if i == late[0]["id"])
    unit = stack.public(f"/periods/{late[0]['period']}/units/{late[0]['agency']}")
    assert f'href="{unit}"' in page and "Xem đơn vị trên bảng theo dõi" in page
    assert _badge(page) == unread == sum(not i["read"] for i in items)
    board = _page(session, stack.public("/board"))  # the aggregator's page asks the notifier too
    assert _badge(board) == unread
