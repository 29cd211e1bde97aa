"""Notifier's HTTP entrypoint: `create_app()` for gunicorn, routes beside it."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, request

from services.notifier.bootstrap import Dependencies, build_dependencies
from shared.logs import configure
from shared.settings import Settings
from shared.timerules import local_iso
from shared.web import create_service_app, deps, document, requires

bp = Blueprint("notifier", __name__)


def _deps() -> Dependencies:
    return deps()


@bp.get("/api/v1/notifications")
@requires("home_affairs", "admin", "service")
@document(query=("agency", "period", "level", "status"))
def list_notifications() -> Response:
    """The notification ledger, filtered by unit, period, level and status."""
    items = _deps().ledger.find(
        agency=request.args.get("agency"),
        period=request.args.get("period"),
        level=request.args.get("level"),
        status=request.args.get("status"),
    )
    return jsonify(
        {
            "items": [
                {
                    "id": n.id,
                    "event_id": n.event_id,
                    "event_type": n.event_type,
                    "agency": n.agency,
                    "period": n.period,
                    "level": n.level,
                    "recipient": n.recipient,
                    "recipient_role": n.recipient_role,
                    "channel": n.channel,
                    "status": n.status,
                    "decided_at": local_iso(n.decided_at),
                }
                for n in items
            ],
            "total": len(items),
        }
    )


def create_app(settings: Settings | None = None) -> Flask:
    """Build the notifier's app; gunicorn calls this in each worker (no preload)."""
    settings = settings or Settings.from_env()
    configure("notifier", settings.log_level)
    dependencies = build_dependencies(settings)
    app = create_service_app("notifier", settings, dependencies, **dependencies.rt.web_checks())
    app.register_blueprint(bp)
    return app
