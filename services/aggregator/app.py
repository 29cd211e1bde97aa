"""Aggregator's HTTP entrypoint: `create_app()` for gunicorn, routes beside it."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, request

from services.aggregator import handlers
from services.aggregator.bootstrap import Dependencies, build_dependencies
from shared.logs import configure
from shared.settings import Settings
from shared.web import ApiError, create_service_app, deps, document, requires

bp = Blueprint("aggregator", __name__)


def _deps() -> Dependencies:
    return deps()


@bp.get("/api/v1/compliance")
@requires("home_affairs", "observer", "admin", "service")
@document(query=("period",))
def get_compliance() -> Response:
    """A period's compliance board: every expected unit's status and the reporting rates (F10)."""
    period = request.args.get("period", "")
    if not period:
        raise ApiError(400, "Thiếu kỳ báo cáo (period).", fields={"period": "Bắt buộc, ví dụ 2019-H1."})
    d = _deps()
    view = handlers.get_compliance(period, boards=d.boards, plan=d.rt.plan, clock=d.rt.clock)
    if view is None:
        raise ApiError(404, f"Không có kỳ báo cáo '{period}'.", fields={"period": "Không có trong kế hoạch."})
    return jsonify(view)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the aggregator's app; gunicorn calls this in each worker (no preload)."""
    settings = settings or Settings.from_env()
    configure("aggregator", settings.log_level)
    dependencies = build_dependencies(settings)
    app = create_service_app("aggregator", settings, dependencies, **dependencies.rt.web_checks())
    app.register_blueprint(bp)
    return app
