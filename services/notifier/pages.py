"""The inbox page (issue 15 point 3): a person's alerts and receipts, newest first, a page at a time, each marked
read by a form and linked to the obligation it is about; and the unread count the header shows on every page."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, g, make_response, redirect, render_template, request

from services.notifier import handlers
from services.notifier.bootstrap import Dependencies
from services.notifier.domain import Notification, NotificationNotFound
from shared import web
from shared.auth import Principal
from shared.formatting import vn_datetime
from shared.navigation import landing
from shared.paging import BadCursor, PageRequest, decode_cursor, encode_cursor, is_key_of
from shared.timerules import local_iso

# the page's style sheet is a static file, since the CSP (shared.web.security_headers) allows no inline style
bp = Blueprint(
    "inbox",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/inbox/assets",  # the one origin (shared.edge) sends /inbox to this service
)

INBOX_ROLES = ("agency", "home_affairs", "observer", "leadership", "admin")
UNREAD_API = "/api/v1/inbox/unread"  # the path the header's badge asks (the notifier's NavPage.unread_api)
PAGE_SIZE = 20
is_inbox_key = is_key_of(datetime, str)  # the ledger's newest-first order: (decided_at, id)
NO_RIGHT = "Hộp thư dành cho cán bộ các đơn vị, Sở Nội vụ, lãnh đạo, quan sát viên và quản trị hệ thống."
BAD_CURSOR = "Liên kết tới trang này của hộp thư không đúng hoặc đã cũ; hãy mở lại hộp thư từ trang đầu."


def _deps() -> Dependencies:
    return web.deps()


# --- what the page shows (pure) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxItem:
    """One item as the page shows it: when, what, about which unit's report of which period, whether it was read
    (and when), and where the obligation it is about is."""

    id: str
    when: str
    when_iso: str
    subject: str
    text: str
    unit: str
    period: str
    read_at: str | None
    obligation: ObligationLink | None

    @property
    def read(self) -> bool:
        """True once the person has marked it read."""
        return self.read_at is not None


@dataclass(frozen=True)
class ObligationLink:
    """The link from an item to the obligation it is about."""

    href: str
    label: str


def obligation_link(role: str, agency: str, period: str, public_urls: Mapping[str, str]) -> ObligationLink | None:
    """Where an item's obligation is for a person of `role`, at the one address: a unit's officer, its report of
    that period (intake's form); everyone else, the unit's page of that period on the board (the aggregator).
    None for an item of no unit or no period (the ladder's hold, for Sở Nội vụ)."""
    if not agency or not period:
        return None
    if role == "agency":
        return ObligationLink(f"{public_urls.get('intake', '')}/reports/{_q(period)}", "Mở báo cáo kỳ này")
    href = f"{public_urls.get('aggregator', '')}/periods/{_q(period)}/units/{_q(agency)}"
    return ObligationLink(href, "Xem đơn vị trên bảng theo dõi")


def page_asked(cursor: str) -> PageRequest | None:
    """The page of the inbox a `cursor` asks for ("": the first), None for a cursor this list did not give."""
    if not cursor:
        return PageRequest(PAGE_SIZE)
    try:
        after = decode_cursor(cursor)
    except BadCursor:
        return None
    return PageRequest(PAGE_SIZE, after) if is_inbox_key(after) else None


def inbox_href(cursor: str = "") -> str:
    """The inbox page (of a cursor) at the address the person is on."""
    return f"/inbox?cursor={_q(cursor)}" if cursor else "/inbox"


def read_action(notification_id: str) -> str:
    """Where an item's "mark as read" form posts (the id holds `|`, `@` and `:`: percent-encoded)."""
    return f"/inbox/{_q(notification_id)}/read"


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


# --- the views ------------------------------------------------------------------------------------------------


def unread_count_of(who: Principal) -> int:
    """The person's unread count, counted once per request (the header and the page both show it)."""
    if "dvcq_unread" not in g:
        d = _deps()
        g.dvcq_unread = handlers.unread_count(who.sub, ledger=d.ledger, reads=d.reads)
    count: int = g.dvcq_unread
    return count


def _item(n: Notification, read_at: datetime | None, who: Principal) -> InboxItem:
    """One item as the page shows it."""
    rt = _deps().rt
    unit = rt.plan_of(n.agency).unit(n.agency) if n.agency else None
    period = rt.plan_for(n.period).period(n.period) if n.period else None
    return InboxItem(
        id=n.id,
        when=vn_datetime(n.decided_at),
        when_iso=local_iso(n.decided_at) or "",
        subject=n.subject,
        text=n.text,
        unit=unit.name if unit else n.agency,
        period=period.name if period else n.period,
        read_at=vn_datetime(read_at) if read_at is not None else None,
        obligation=obligation_link(who.role, n.agency, n.period, web.settings().public_urls),
    )


def _render(name: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("back", ("/inbox", "Về hộp thư"))
    resp = make_response(render_template(name, csrf_token=web.page_csrf_token(), **context), status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _refusal_page(reason: str, who: Principal | None) -> Response:
    """The page for someone `login_required` turned away: the login page (back here after it, when both are at
    the one address), or a 403 page saying why."""
    if who is None:
        urls = web.settings().public_urls
        back = request.full_path.rstrip("?") if request.method == "GET" else "/inbox"
        asked = f"?next={_q(back)}" if urls["intake"] == urls["notifier"] else ""
        return redirect(f"{urls['intake']}/login{asked}", 303)
    if reason == "csrf":
        return _render("dvcq_message.html", 403, title="Phiên làm việc đã hết hạn", message=web.CSRF_MESSAGE)
    home = (landing(who.role, web.settings().public_urls), "Về trang chính")
    return _render("dvcq_message.html", 403, title="Không có quyền truy cập", message=NO_RIGHT, back=home)


@bp.get("/inbox")
@web.login_required(roles=INBOX_ROLES)
def inbox_page() -> Response:
    """The person's inbox: their alerts and receipts, newest first, PAGE_SIZE a page (`?cursor=`: the next)."""
    who = web.principal()
    cursor = request.args.get("cursor", "")
    asked = page_asked(cursor)
    if asked is None:
        return _render("dvcq_message.html", 400, title="Liên kết không hợp lệ", message=BAD_CURSOR)
    d = _deps()
    found = handlers.inbox(who.sub, ledger=d.ledger, reads=d.reads, asked=asked)
    return _render(
        "inbox.html",
        items=[_item(n, read_at, who) for n, read_at in found.items],
        unread=unread_count_of(who),
        cursor=cursor,
        next_href=inbox_href(encode_cursor(found.next)) if found.next is not None else None,
        read_action=read_action,
    )


@bp.post("/inbox/<path:notification_id>/read")
@web.login_required(roles=INBOX_ROLES)
def mark_read_page(notification_id: str) -> Response:
    """Mark one item of the person's inbox read (the form's button), then back to the page it was on."""
    who = web.principal()
    d = _deps()
    try:
        handlers.mark_read(notification_id, person=who.sub, ledger=d.ledger, reads=d.reads, wall=d.wall)
    except NotificationNotFound as exc:
        return _render("dvcq_message.html", 404, title="Không tìm thấy thông báo", message=exc.message)
    cursor = request.form.get("cursor", "")
    return redirect(inbox_href(cursor if page_asked(cursor) is not None else ""), 303)


def register_pages(app: Flask) -> None:
    """Add the inbox page, and count the header's unread items here rather than over HTTP (shared.web)."""
    app.register_blueprint(bp)
    web.shared_assets(app, "/inbox/assets")
    app.extensions["dvcq.page_refusal"] = _refusal_page
    app.extensions["dvcq.unread_counts"] = {UNREAD_API: unread_count_of}
