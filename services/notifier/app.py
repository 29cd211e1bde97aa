"""Notifier's HTTP entrypoint: `create_app()` for gunicorn, routes beside it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify

from services.notifier import handlers
from services.notifier.bootstrap import Dependencies, build_dependencies
from services.notifier.domain import (
    CHANNELS,
    LEVELS,
    STATUSES,
    Attempt,
    Notification,
    NotificationNotDead,
    NotificationNotFound,
    NotifierError,
)
from services.notifier.pages import INBOX_ROLES, register_pages, unread_count_of
from shared import web
from shared.paging import is_key_of
from shared.settings import Settings
from shared.timerules import local_iso

ERROR_STATUS: dict[type[Exception], int] = {NotificationNotFound: 404, NotificationNotDead: 409}

bp = Blueprint("notifier", __name__)


def _deps() -> Dependencies:
    return web.deps()


def _attempt_json(a: Attempt) -> dict[str, Any]:
    return {
        "number": a.number,
        "at": local_iso(a.at),
        "channel": a.channel,
        "recipient": a.recipient,
        "outcome": a.outcome,
        "error": a.error,
    }


def _notification_json(n: Notification, attempts: list[Attempt]) -> dict[str, Any]:
    return {
        "id": n.id,
        "event_id": n.event_id,
        "event_type": n.event_type,
        "agency": n.agency,
        "period": n.period,
        "level": n.level,
        "kind": n.kind,
        "recipient": n.recipient,
        "recipient_name": n.recipient_name,
        "recipient_role": n.recipient_role,
        "channel": n.channel,
        "recipient_phone": n.recipient_phone,
        "subject": n.subject,
        "message_id": n.message_id,
        "status": n.status,
        "decided_at": local_iso(n.decided_at),
        "attempts": n.attempts,
        "next_attempt_at": local_iso(n.next_attempt_at),
        "delivered_at": local_iso(n.delivered_at),
        "last_error": n.last_error,
        "attempt_log": [_attempt_json(a) for a in attempts],
    }


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = web.query_arg(name) or None
    if value is not None and value not in allowed:
        raise web.ApiError(400, f"{name} phải là một trong: {', '.join(allowed)}.", fields={name: "Không hợp lệ."})
    return value


@bp.get("/api/v1/notifications")
@web.requires("home_affairs", "admin", "service")
@web.document(query=("agency", "period", "level", "status", "channel", *web.PAGE_QUERY))
def list_notifications() -> Response:
    """The notification ledger, filtered by unit, period, level, status and channel (email, webhook, inbox; at
    least one filter: a list is read by equality), oldest decision first, paged, each with its attempts; the
    daily digests have level `digest`.

    Every attempt says who (recipient), what (the notification's subject and Message-ID), when (local time),
    on which channel and with what outcome.
    """
    filters = {
        "agency": web.query_arg("agency") or None,
        "period": web.query_arg("period") or None,
        "level": _choice("level", LEVELS),
        "status": _choice("status", STATUSES),
        "channel": _choice("channel", CHANNELS),
    }
    chosen = {k: v for k, v in filters.items() if v}
    if not chosen:
        message = "Cần ít nhất một bộ lọc: agency, period, level, status hoặc channel."
        raise web.ApiError(400, message, fields={"period": "Bắt buộc khi không có bộ lọc khác."})
    ledger = _deps().ledger
    page = ledger.page(chosen, web.page_request(is_key_of(datetime, str)))
    attempts = ledger.attempts_of([n.id for n in page.items])
    return web.paged(page, [_notification_json(n, attempts[n.id]) for n in page.items])


@bp.post("/api/v1/notifications/<path:notification_id>/resend")
@web.requires("home_affairs")
@web.document(status=202)
def resend_notification(notification_id: str) -> tuple[Response, int]:
    """Re-send a notification whose retries are exhausted (`dead`): pending again, same Message-ID.

    The id may contain `|`, `@` and `:` (percent-encode it in the URL); 409 unless the notification is dead.
    Two requests at once (a double click) re-send it once: the second answers with the state as it is.
    """
    d = _deps()
    n = handlers.resend(notification_id, by=web.principal().sub, ledger=d.ledger, wall=d.wall)
    return jsonify(_notification_json(n, d.ledger.attempts_of([n.id])[n.id])), 202


def _inbox_json(n: Notification, read_at: Any) -> dict[str, Any]:
    return {
        "id": n.id,
        "event_type": n.event_type,
        "agency": n.agency,
        "period": n.period,
        "level": n.level,
        "kind": n.kind,
        "subject": n.subject,
        "text": n.text,
        "decided_at": local_iso(n.decided_at),
        "read": read_at is not None,
        "read_at": local_iso(read_at),
    }


@bp.get("/api/v1/inbox")
@web.requires("agency", "home_affairs", "observer", "leadership", "admin")
@web.document(query=("unread", *web.PAGE_QUERY))
def list_inbox() -> Response:
    """The caller's inbox: every alert and receipt addressed to their e-mail (a unit's people) and, for Sở Nội
    vụ and the leadership, each late unit at the levels their role follows; newest first, paged, with each
    item's `read_at`. `?unread=true` keeps only the unread items of each page."""
    unread_only = (web.query_arg("unread") or "").lower()
    if unread_only not in ("", "true", "false", "1", "0"):
        raise web.ApiError(400, "unread phải là true hoặc false.", fields={"unread": "Không hợp lệ."})
    d = _deps()
    asked = web.page_request(is_key_of(datetime, str))
    page = handlers.inbox(web.principal().sub, ledger=d.ledger, reads=d.reads, asked=asked)
    items = [(n, r) for n, r in page.items if r is None or unread_only not in ("true", "1")]
    return web.paged(page, [_inbox_json(n, r) for n, r in items])


@bp.post("/api/v1/inbox/<path:notification_id>/read")
@web.requires("agency", "home_affairs", "observer", "leadership", "admin")
@web.document()
def read_inbox_item(notification_id: str) -> Response:
    """Mark one item of the caller's inbox read (idempotent: the first read time stands). 404 for an item that
    is not in the caller's inbox (percent-encode the id, which holds `|`, `@` and `:`)."""
    d = _deps()
    n, read_at = handlers.mark_read(
        notification_id, person=web.principal().sub, ledger=d.ledger, reads=d.reads, wall=d.wall
    )
    return jsonify(_inbox_json(n, read_at))


@bp.get("/api/v1/inbox/unread")
@web.requires(*INBOX_ROLES)
@web.document()
def count_unread() -> Response:
    """How many items of the caller's inbox are unread: `{"unread": n}` (the count the header shows beside
    "Hộp thư" on every page)."""
    return jsonify({"unread": unread_count_of(web.principal())})


def create_app(settings: Settings | None = None) -> Flask:
    """Build the notifier's app; gunicorn calls this in each worker (no preload)."""
    app = web.service_app(
        "notifier", settings, build_dependencies, bp, (NotifierError, ERROR_STATUS), events=lambda d: d.ledger
    )
    register_pages(app)
    return app
