"""The inbox page (services/notifier/pages.py, issue 15 point 3) on the notifier's real app with its stores
replaced by the recording fakes, its pure helpers, the unread count (two counts by equality), and the header's
badge, which no failure of the count may cost the page (shared.web.unread_of)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.notifier import handlers
from services.notifier.app import create_app
from services.notifier.domain import DELIVERED, Notification, notification_id
from services.notifier.pages import (
    PAGE_SIZE,
    UNREAD_API,
    ObligationLink,
    inbox_href,
    obligation_link,
    page_asked,
    read_action,
)
from shared import web
from shared.auth import Principal, csrf_digest, issue_token, verify_token
from shared.clients import ServiceClient, ServiceError, unread_count
from shared.clock import FixedClock
from shared.paging import PageRequest, encode_cursor
from shared.plan import load_plan
from shared.settings import ROOT, Settings
from tests.unit.fakes import FakeInboxStore, FakeLedgerStore, FakeRevocations

SECRET = "s" * 40
ONE = "https://dvcq.example"
URLS = {"intake": ONE, "aggregator": ONE}
OFFICER = "lan.nt@tracu.travinh.example"
OTHER = "hung.tv@tracu.travinh.example"
T0 = datetime(2019, 6, 11, 1, 0, tzinfo=UTC)
PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")


# --- the pure helpers -----------------------------------------------------------------------------------------


def test_an_officers_item_links_to_its_report_and_everyone_elses_to_the_units_page_on_the_board() -> None:
    assert obligation_link("agency", "H_TRACU", "2019-H1", URLS) == ObligationLink(
        f"{ONE}/reports/2019-H1", "Mở báo cáo kỳ này"
    )
    for role in ("home_affairs", "leadership", "observer", "admin"):
        link = obligation_link(role, "H_TRACU", "2019-H1", URLS)
        assert link == ObligationLink(f"{ONE}/periods/2019-H1/units/H_TRACU", "Xem đơn vị trên bảng theo dõi")
    assert obligation_link("home_affairs", "", "", URLS) is None  # the ladder's hold: no unit, no period
    assert obligation_link("agency", "H/../X", "2019 H1", URLS) == ObligationLink(
        f"{ONE}/reports/2019%20H1", "Mở báo cáo kỳ này"
    )
    assert obligation_link("observer", "H/../X", "2019-H1", URLS).href.endswith("/units/H%2F..%2FX")  # type: ignore[union-attr]


def test_a_page_is_asked_by_the_cursor_the_list_gave_and_any_other_is_refused() -> None:
    assert page_asked("") == PageRequest(PAGE_SIZE)
    key = (T0, "n|a@b|inbox")
    assert page_asked(encode_cursor(key)) == PageRequest(PAGE_SIZE, key)
    for bad in ("x", "!!!", encode_cursor("an id"), encode_cursor(["2019", "n"]), encode_cursor((T0, 3))):
        assert page_asked(bad) is None, bad


def test_the_pages_addresses_are_local_and_percent_encode_what_they_carry() -> None:
    assert inbox_href() == "/inbox"
    assert inbox_href("abc-_") == "/inbox?cursor=abc-_"
    assert read_action("e:1|a@b.vn|inbox") == "/inbox/e%3A1%7Ca%40b.vn%7Cinbox/read"


# --- the unread count -----------------------------------------------------------------------------------------


def _item(event: str, person: str, minutes: int, **fields: Any) -> Notification:
    decided = T0 + timedelta(minutes=minutes)
    base = Notification(
        id=notification_id(event, person, "inbox"),
        event_id=event,
        event_type="obligation.overdue",
        agency="H_TRACU",
        period="2019-H1",
        level="overdue",
        recipient=person,
        recipient_role="focal",
        recipient_name="Nguyễn Thị Lan",
        channel="inbox",
        status=DELIVERED,
        decided_at=decided,
        subject=f"Báo cáo quá hạn ({event})",
        text=f"Kính gửi chị Lan,\nđơn vị chưa gửi báo cáo ({event}).\nhttps://dvcq.example/reports/2019-H1",
        delivered_at=decided,
    )
    return replace(base, **fields)


def _ledger() -> FakeLedgerStore:
    ledger = FakeLedgerStore()
    for n in (
        _item("e1", OFFICER, 0),
        _item("e2", OFFICER, 10),
        _item("e3", OFFICER, 20, agency="", period="", subject="Tạm dừng nhắc hạn"),
        _item("e1", OTHER, 0),
        replace(_item("e2", OFFICER, 10), id=notification_id("e2", OFFICER, "email"), channel="email"),
    ):
        ledger.record(n)
    return ledger


def test_the_unread_count_is_the_persons_items_less_those_they_have_read() -> None:
    ledger, reads = _ledger(), FakeInboxStore()
    assert handlers.unread_count(OFFICER, ledger=ledger, reads=reads) == 3  # the e-mail copy is no inbox item
    assert handlers.unread_count(f" {OFFICER.upper()} ", ledger=ledger, reads=reads) == 3
    wall = FixedClock(T0)
    handlers.mark_read(notification_id("e1", OTHER, "inbox"), person=OTHER, ledger=ledger, reads=reads, wall=wall)
    assert handlers.unread_count(OFFICER, ledger=ledger, reads=reads) == 3  # someone else's read is theirs
    mine = notification_id("e2", OFFICER, "inbox")
    for _ in range(2):  # again: still one read
        handlers.mark_read(mine, person=OFFICER.upper(), ledger=ledger, reads=reads, wall=wall)
    assert reads.reads[mine]["by"] == OFFICER  # as the count finds it, whatever the login's case
    assert handlers.unread_count(OFFICER, ledger=ledger, reads=reads) == 2
    assert handlers.unread_count(OTHER, ledger=ledger, reads=reads) == 0
    assert handlers.unread_count("nobody@example.vn", ledger=ledger, reads=reads) == 0


# --- the page on the notifier's app ---------------------------------------------------------------------------


@pytest.fixture
def app() -> Flask:
    conf = Settings.from_env({"DVCQ_SECRET": SECRET, "MONGO_URL": "mongodb://127.0.0.1:9/", "DVCQ_PUBLIC_URL": ONE})
    app = create_app(conf)
    rt = SimpleNamespace(
        revocations=FakeRevocations(),
        plan_of=lambda agency: PLAN,
        plan_for=lambda period, plan_id=None: PLAN,
    )  # no `limiter`: nothing is counted against the API limit
    deps = app.extensions["dvcq.deps"]
    app.extensions["dvcq.deps"] = SimpleNamespace(
        **{**vars(deps), "rt": rt, "ledger": _ledger(), "reads": FakeInboxStore(), "wall": FixedClock(T0)}
    )
    return app


def _login(client: FlaskClient, sub: str = OFFICER, role: str = "agency", agency: str | None = "H_TRACU") -> str:
    token = issue_token(SECRET, sub=sub, role=role, agency=agency)
    client.set_cookie(web.SESSION_COOKIE, token)
    return csrf_digest(SECRET, verify_token(SECRET, token).jti or "")


def _items(html: str) -> list[tuple[str, str]]:
    """(data-id, data-read) of each item, in the page's order."""
    return re.findall(r'<li class="item [^"]*" data-id="([^"]+)" data-read="(true|false)"', html)


def _badge(html: str) -> str | None:
    found = re.search(r'<span class="unread" data-unread="(\d+)">', html)
    return found.group(1) if found else None


def test_the_inbox_lists_the_persons_items_newest_first_with_the_unread_count_in_the_header(app: Flask) -> None:
    client = app.test_client()
    _login(client)
    resp = client.get("/inbox")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert [i for i, _ in _items(html)] == [notification_id(e, OFFICER, "inbox") for e in ("e3", "e2", "e1")]
    assert [r for _, r in _items(html)] == ["false"] * 3 and html.count(">Chưa đọc<") == 3
    assert _badge(html) == "3" and 'aria-describedby="nav-inbox-unread"' in html
    assert '<span id="nav-inbox-unread" hidden>3 thông báo chưa đọc</span>' in html
    assert 'id="nav-inbox" aria-current="page"' in html
    assert "Ủy ban nhân dân huyện Trà Cú" in html and "Báo cáo 6 tháng đầu năm 2019" in html  # names, not codes
    assert f'href="{ONE}/reports/2019-H1"' in html and html.count("Mở báo cáo kỳ này") == 2  # e3 has no unit
    assert "đơn vị chưa gửi báo cáo (e1)." in html  # each item's text, which the ledger's page leaves out
    assert "08:20 11/06/2019" in html and 'datetime="2019-06-11T08:20:00+07:00"' in html  # e3, local time
    assert html.count(">Đánh dấu đã đọc</button>") == 3 and 'id="next-page"' not in html


def test_marking_an_item_read_by_the_form_shows_it_read_and_lowers_the_count(app: Flask) -> None:
    client = app.test_client()
    csrf = _login(client)
    item = notification_id("e2", OFFICER, "inbox")
    resp = client.post(read_action(item), data={"csrf_token": csrf, "cursor": ""})
    assert (resp.status_code, resp.headers["Location"]) == (303, "/inbox")
    html = client.get("/inbox").get_data(as_text=True)
    assert dict(_items(html))[item] == "true" and "Đã đọc lúc 08:00 11/06/2019" in html
    assert _badge(html) == "2" and 'data-unread="2"' in html
    assert html.count(">Đánh dấu đã đọc</button>") == 2


def test_someone_elses_item_is_not_found_and_a_form_without_its_token_is_refused(app: Flask) -> None:
    client = app.test_client()
    csrf = _login(client)
    theirs = notification_id("e1", OTHER, "inbox")
    resp = client.post(read_action(theirs), data={"csrf_token": csrf})
    assert resp.status_code == 404 and "Không tìm thấy thông báo" in resp.get_data(as_text=True)
    mine = notification_id("e1", OFFICER, "inbox")
    refused = client.post(read_action(mine), data={"csrf_token": "sai"})
    assert refused.status_code == 403 and "Phiên làm việc đã hết hạn" in refused.get_data(as_text=True)
    assert app.extensions["dvcq.deps"].reads.reads == {}


def test_pages_of_the_inbox_follow_the_cursor_and_a_mark_returns_to_its_page(app: Flask) -> None:
    ledger = app.extensions["dvcq.deps"].ledger
    for k in range(PAGE_SIZE):
        ledger.record(_item(f"f{k:02d}", OFFICER, 100 + k))
    client = app.test_client()
    csrf = _login(client)
    first = client.get("/inbox").get_data(as_text=True)
    assert len(_items(first)) == PAGE_SIZE
    found = re.search(r'<a href="([^"]+)" id="next-page" rel="next">Trang sau</a>', first)
    assert found is not None
    href = found.group(1)
    second = client.get(href).get_data(as_text=True)
    assert [i for i, _ in _items(second)] == [notification_id(e, OFFICER, "inbox") for e in ("e3", "e2", "e1")]
    assert 'id="first-page"' in second
    cursor = href.split("cursor=", 1)[1]
    e1, e2 = (read_action(notification_id(e, OFFICER, "inbox")) for e in ("e1", "e2"))
    assert client.post(e1, data={"csrf_token": csrf, "cursor": cursor}).headers["Location"] == href
    odd = client.post(e2, data={"csrf_token": csrf, "cursor": "x"})
    assert odd.headers["Location"] == "/inbox"
    assert client.get("/inbox?cursor=x").status_code == 400


def test_without_a_session_the_inbox_sends_to_the_login_and_back() -> None:
    conf = Settings.from_env({"DVCQ_SECRET": SECRET, "MONGO_URL": "mongodb://127.0.0.1:9/", "DVCQ_PUBLIC_URL": ONE})
    client = create_app(conf).test_client()
    resp = client.get("/inbox?cursor=abc")
    assert (resp.status_code, resp.headers["Location"]) == (303, f"{ONE}/login?next=%2Finbox%3Fcursor%3Dabc")
    posted = client.post(read_action("e1|a@b|inbox"), data={})
    assert posted.headers["Location"] == f"{ONE}/login?next=%2Finbox"


def test_a_service_account_has_no_inbox_page(app: Flask) -> None:
    client = app.test_client()
    _login(client, "rebuild@dvcq", "service", None)
    resp = client.get("/inbox")
    assert resp.status_code == 403 and "Không có quyền truy cập" in resp.get_data(as_text=True)


# --- the header's count elsewhere: asked over HTTP, left out on any failure -------------------------------------


class FakeClient:
    def __init__(self, body: Any) -> None:
        self.body = body

    def json(self, method: str, path: str, token: str, **kwargs: Any) -> Any:
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


def test_the_unread_answer_must_be_a_count() -> None:
    assert unread_count(FakeClient({"unread": 4}), UNREAD_API, "t") == 4  # type: ignore[arg-type]
    for body in ({"unread": -1}, {"unread": True}, {"unread": "4"}, {}, [4], ServiceError(401)):
        with pytest.raises(ServiceError):
            unread_count(FakeClient(body), UNREAD_API, "t")  # type: ignore[arg-type]


def test_another_service_asks_the_notifier_and_a_failure_costs_only_the_badge(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = Settings.from_env({"DVCQ_SECRET": SECRET, "MONGO_URL": "mongodb://127.0.0.1:9/"})
    who = Principal(OFFICER, "agency", "H_TRACU")
    asked: list[tuple[str, str, float]] = []

    def answer(client: ServiceClient, method: str, path: str, token: str, **kwargs: Any) -> Any:
        asked.append((client.base_url, path, client.timeout))
        return {"unread": 5}

    monkeypatch.setattr(ServiceClient, "json", answer)
    with app.test_request_context("/"):
        assert web.unread_of(UNREAD_API, who, "intake", conf) == 5
        assert asked == [(conf.service_urls["notifier"], UNREAD_API, web.UNREAD_TIMEOUT)]
        assert web.unread_of("/api/v1/notifications/x", who, "notifier", conf) is None  # no local count
    monkeypatch.setattr(ServiceClient, "json", lambda *a, **k: (_ for _ in ()).throw(ServiceError(503)))
    with app.test_request_context("/"):
        assert web.unread_of(UNREAD_API, who, "aggregator", conf) is None


def test_a_local_count_that_fails_leaves_the_badge_out_and_the_page_whole(app: Flask) -> None:
    def broken(who: Principal) -> int:
        raise ConnectionError("store down")

    app.extensions["dvcq.unread_counts"] = {UNREAD_API: broken}
    client = app.test_client()
    _login(client)
    resp = client.get("/inbox?cursor=x")  # a page that does not count itself: only the header's count fails
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'id="nav-inbox"' in html and _badge(html) is None
