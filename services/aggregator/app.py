"""Aggregator's HTTP entrypoint: `create_app()` for gunicorn, routes beside it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from services.aggregator import documents, handlers
from services.aggregator.bootstrap import Dependencies, build_dependencies
from services.aggregator.consolidation import snapshot
from services.aggregator.handlers import (
    AggregatorError,
    DocumentNotFound,
    NothingToUrge,
    PeriodAlreadyClosed,
    PeriodUnknown,
)
from services.aggregator.pages import register_pages
from services.aggregator.totals import PeriodNotSummarisable, suggest_standouts
from shared.formatting import content_disposition
from shared.logs import configure
from shared.messaging import BROKER_ERRORS
from shared.settings import Settings
from shared.timerules import local_iso
from shared.topology import QUEUES
from shared.web import (
    ApiError,
    create_service_app,
    deps,
    document,
    principal,
    register_domain_errors,
    requires,
)

ERROR_STATUS: dict[type[Exception], int] = {
    PeriodUnknown: 404,
    DocumentNotFound: 404,
    PeriodAlreadyClosed: 409,
    NothingToUrge: 409,
}
EXTENSIONS = {"docx": "report", "xlsx": "xlsx", "csv": "csv"}
MAX_TEXT = 200

bp = Blueprint("aggregator", __name__)


def _deps() -> Dependencies:
    return deps()


def _period_arg() -> str:
    period = request.args.get("period", "")
    if not period:
        raise ApiError(400, "Thiếu kỳ báo cáo (period).", fields={"period": "Bắt buộc, ví dụ 2019-H1."})
    return period


@bp.get("/api/v1/compliance")
@requires("home_affairs", "observer", "admin", "service")
@document(query=("period",))
def get_compliance() -> Response:
    """A period's compliance board: every expected unit's status and the reporting rates (F10), whether its
    figures are closed, and each unit's latest revision with those received after closing."""
    period = _period_arg()
    d = _deps()
    view = handlers.get_compliance(
        period, boards=d.boards, plan=d.rt.plan, clock=d.rt.clock, closings=d.closings, reports=d.reports
    )
    if view is None:
        raise ApiError(404, f"Không có kỳ báo cáo '{period}'.", fields={"period": "Không có trong kế hoạch."})
    return jsonify(view)


@bp.get("/api/v1/dead-letters")
@requires("home_affairs", "admin")
@document()
def get_dead_letters() -> Response:
    """How many messages each service's consumer refused (its dead-letter queue), for Sở Nội vụ and admins; an
    operator inspects and replays them with `dvcq dlq`."""
    try:
        depths = _deps().rt.broker.queue_depths([q.dead_letter_queue for q in QUEUES])
    except BROKER_ERRORS as exc:
        raise ApiError(503, headers={"Retry-After": "5"}) from exc
    items = [
        {"service": q.service, "queue": q.dead_letter_queue, "messages": depths[q.dead_letter_queue]} for q in QUEUES
    ]
    return jsonify({"items": items, "total": sum(depths.values())})


@bp.get("/api/v1/overdue")
@requires("home_affairs", "observer", "admin", "service")
@document()
def get_overdue() -> Response:
    """Every unit overdue in any period of the plan, the longest overdue first."""
    d = _deps()
    items = handlers.overdue(boards=d.boards, plan=d.rt.plan, clock=d.rt.clock)
    return jsonify({"items": items, "total": len(items)})


@bp.get("/api/v1/summary")
@requires("home_affairs", "observer", "admin", "service")
@document(query=("period",))
def get_summary() -> Response:
    """A period's indicator totals (F11): per content area, by unit type and by unit, nulls left out and
    counted, derived rates recomputed from summed parts, the same period a year earlier where it exists; and
    the units that stand out by ratio, as suggestions."""
    period = _period_arg()
    d = _deps()
    try:
        totals = handlers.summary(period, boards=d.boards, reports=d.reports, plan=d.rt.plan, clock=d.rt.clock)
    except PeriodNotSummarisable as exc:
        raise ApiError(422, str(exc), fields={"period": str(exc)}) from exc
    body = snapshot(asdict(totals))
    body["standouts"] = snapshot([asdict(s) for s in suggest_standouts(totals)])
    return jsonify(body)


@bp.post("/api/v1/periods/<period>/close")
@requires("home_affairs")
@document(status=201)
def close_period(period: str) -> tuple[Response, int]:
    """Close a period's figures (chốt số liệu), once (409 after). Revisions received later are kept and shown
    as arriving after closing; documents issued afterwards say the figures are closed."""
    d = _deps()
    closing = handlers.close_period(period, by=principal().sub, closings=d.closings, plan=d.rt.plan, clock=d.rt.clock)
    return jsonify({"period": period, **closing}), 201


def _text_arg(name: str) -> str | None:
    value = " ".join((request.args.get(name) or "").split())
    if len(value) > MAX_TEXT:
        raise ApiError(422, f"{name} dài quá {MAX_TEXT} ký tự.", fields={name: "Quá dài."})
    return value or None


def _export_args() -> dict[str, Any]:
    issued = request.args.get("date") or None
    try:
        issued_on = date.fromisoformat(issued) if issued else None
    except ValueError as exc:
        raise ApiError(422, "Ngày ban hành phải có dạng YYYY-MM-DD.", fields={"date": "Không hợp lệ."}) from exc
    name, title = _text_arg("signer"), _text_arg("signer_title")
    signer = documents.Signer(name=name or "", **({"title": title} if title else {})) if name or title else None
    chosen = []
    for code in (request.args.get("standouts") or "").split(","):
        if code.strip():
            if _deps().rt.plan.unit(code.strip()) is None:
                raise ApiError(422, f"Không có đơn vị '{code.strip()}'.", fields={"standouts": "Mã đơn vị không có."})
            chosen.append((code.strip(), None))
    return {"number": _text_arg("number"), "issued_on": issued_on, "signer": signer, "chosen": chosen}


def _issue(period: str, kind: str) -> Response:
    d = _deps()
    record = handlers.export(
        period,
        kind,
        by=principal().sub,
        boards=d.boards,
        reports=d.reports,
        closings=d.closings,
        archive=d.archive,
        plan=d.rt.plan,
        clock=d.rt.clock,
        **_export_args(),
    )
    return _download(record)


def _download(record: dict[str, Any]) -> Response:
    resp = Response(bytes(record["content"]), mimetype=record["media_type"])
    resp.headers["Content-Disposition"] = content_disposition(record["filename"])
    resp.headers["X-Dvcq-Document"] = record["_id"]
    return resp


@bp.get("/api/v1/exports/<period>.<ext>")
@requires("home_affairs", "admin")
@document(query=("number", "date", "signer", "signer_title", "standouts"))
def export_period(period: str, ext: str) -> Response:
    """The consolidated report (`.docx`, Nghị định 30/2020 layout) or the tables (`.xlsx`, `.csv`) of a period,
    made now and archived with the data they were made from (`X-Dvcq-Document` names the archive record).

    `number`, `date` (YYYY-MM-DD), `signer` and `signer_title` fill the header and signature, blank by default
    for the văn thư; `standouts` lists the codes of the units Sở Nội vụ chose as standing out.
    """
    if ext not in EXTENSIONS:
        raise ApiError(404, f"Không có định dạng '{ext}'.", fields={"ext": "docx, xlsx hoặc csv."})
    return _issue(period, EXTENSIONS[ext])


@bp.get("/api/v1/exports/<period>/urging-letter.docx")
@requires("home_affairs", "admin")
@document(query=("number", "date", "signer", "signer_title"))
def export_urging_letter(period: str) -> Response:
    """The urging letter (công văn đôn đốc) to the units still overdue for a period; 409 when none is."""
    return _issue(period, "urging_letter")


@bp.get("/api/v1/documents")
@requires("home_affairs", "observer", "admin")
@document(query=("period",))
def list_documents() -> Response:
    """The archive of issued documents, newest first: who issued what, when, whether the figures were closed."""
    items = _deps().archive.list(request.args.get("period") or None)
    return jsonify(
        {
            "items": [
                {
                    "id": r["_id"],
                    **{k: r.get(k) for k in ("kind", "period", "filename", "issued_by", "closed", "sha256", "size")},
                    "issued_at": local_iso(r["issued_at"]),
                    "request": r.get("request"),
                }
                for r in items
            ],
            "total": len(items),
        }
    )


@bp.get("/api/v1/documents/<record_id>")
@requires("home_affairs", "observer", "admin")
@document()
def get_document(record_id: str) -> Response:
    """An archived document, byte for byte as it was issued."""
    record = _deps().archive.get(record_id)
    if record is None:
        raise DocumentNotFound("Không tìm thấy văn bản đã phát hành.", field="id")
    return _download(record)


@bp.get("/api/v1/documents/<record_id>/data")
@requires("home_affairs", "observer", "admin")
@document()
def get_document_data(record_id: str) -> Response:
    """The data an archived document was made from, and the request that issued it."""
    record = _deps().archive.get(record_id)
    if record is None:
        raise DocumentNotFound("Không tìm thấy văn bản đã phát hành.", field="id")
    return jsonify({"id": record["_id"], "request": record.get("request"), "data": record.get("data")})


def create_app(settings: Settings | None = None) -> Flask:
    """Build the aggregator's app; gunicorn calls this in each worker (no preload)."""
    settings = settings or Settings.from_env()
    configure("aggregator", settings.log_level)
    dependencies = build_dependencies(settings)
    app = create_service_app("aggregator", settings, dependencies, **dependencies.rt.web_checks())
    app.register_blueprint(bp)
    register_pages(app)
    register_domain_errors(app, AggregatorError, ERROR_STATUS)
    return app
