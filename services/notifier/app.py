"""Notifier's HTTP entrypoint: `create_app()` for gunicorn, routes beside it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from services.notifier import handlers
from services.notifier.bootstrap import Dependencies, build_dependencies
from services.notifier.domain import (
    LEVELS,
    STATUSES,
    Attempt,
    Notification,
    NotificationNotDead,
    NotificationNotFound,
    NotifierError,
)
from shared.logs import configure
from shared.settings import Settings
from shared.timerules import local_iso
from shared.web import (
    ApiError,
    add_events_route,
    create_service_app,
    deps,
    document,
    principal,
    register_domain_errors,
    requires,
)

ERROR_STATUS: dict[type[Exception], int] = {NotificationNotFound: 404, NotificationNotDead: 409}

bp = Blueprint("notifier", __name__)


def _deps() -> Dependencies:
    return deps()


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
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise ApiError(400, f"{name} phải là một trong: {', '.join(allowed)}.", fields={name: "Không hợp lệ."})
    return value


@bp.get("/api/v1/notifications")
@requires("home_affairs", "admin", "service")
@document(query=("agency", "period", "level", "status"))
def list_notifications() -> Response:
    """The notification ledger, filtered by unit, period, level and status, each with its attempts.

    Every attempt says who (recipient), what (the notification's subject and Message-ID), when (local time),
    on which channel and with what outcome.
    """
    ledger = _deps().ledger
    items = ledger.find(
        agency=request.args.get("agency") or None,
        period=request.args.get("period") or None,
        level=_choice("level", LEVELS),
        status=_choice("status", STATUSES),
    )
    attempts = ledger.attempts_of([n.id for n in items])
    return jsonify({"items": [_notification_json(n, attempts.get(n.id, [])) for n in items], "total": len(items)})


@bp.post("/api/v1/notifications/<path:notification_id>/resend")
@requires("home_affairs")
@document(status=202)
def resend_notification(notification_id: str) -> tuple[Response, int]:
    """Re-send a notification whose retries are exhausted (`dead`): pending again, same Message-ID.

    The id may contain `|`, `@` and `:` (percent-encode it in the URL); 409 unless the notification is dead.
    """
    d = _deps()
    n = handlers.resend(notification_id, by=principal().sub, ledger=d.ledger, wall=d.wall)
    return jsonify(_notification_json(n, d.ledger.attempts_of([n.id])[n.id])), 202


def create_app(settings: Settings | None = None) -> Flask:
    """Build the notifier's app; gunicorn calls this in each worker (no preload)."""
    settings = settings or Settings.from_env()
    configure("notifier", settings.log_level)
    dependencies = build_dependencies(settings)
    app = create_service_app("notifier", settings, dependencies, **dependencies.rt.web_checks())
    app.register_blueprint(bp)
    add_events_route(app, lambda: _deps().ledger)
    register_domain_errors(app, NotifierError, ERROR_STATUS)
    return app
