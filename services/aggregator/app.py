"""Aggregator's HTTP entrypoint: `create_app()` for gunicorn, routes beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from marshmallow import RAISE, Schema, fields, validate

from services.aggregator import handlers
from services.aggregator.bootstrap import Dependencies, build_dependencies
from services.aggregator.consolidation import snapshot
from services.aggregator.documents.model import Signer
from services.aggregator.handlers import (
    AggregatorError,
    DocumentNotFound,
    NothingToUrge,
    PeriodAlreadyClosed,
    PeriodUnknown,
)
from services.aggregator.pages.views import register_pages
from services.aggregator.totals.standouts import suggest_standouts
from services.aggregator.totals.sums import PeriodNotSummarisable
from shared import web
from shared.formatting import content_disposition
from shared.messaging import BROKER_ERRORS
from shared.paging import is_key_of, page_of
from shared.plan import Plan
from shared.settings import Settings
from shared.timerules import local_iso
from shared.topology import queues

ERROR_STATUS: dict[type[Exception], int] = {
    PeriodUnknown: 404,
    DocumentNotFound: 404,
    PeriodAlreadyClosed: 409,
    NothingToUrge: 409,
}
EXTENSIONS = {"docx": "report", "xlsx": "xlsx", "csv": "csv"}
MAX_TEXT = 200
TOO_LONG = f"Dài quá {MAX_TEXT} ký tự."

bp = Blueprint("aggregator", __name__)


def _deps() -> Dependencies:
    return web.deps()


def _period_arg() -> str:
    period = web.query_arg("period", "")
    if not period:
        raise web.ApiError(400, "Thiếu kỳ báo cáo (period).", fields={"period": "Bắt buộc, ví dụ 2019-H1."})
    return period


def _plan_for(period: str) -> Plan:
    """The plan a request about a period reads: the one named by `plan` (default: the plan in force today when the
    period is one of its, else the plan that has it), as in force on the period's deadline day."""
    named = web.plan_arg()
    return _deps().rt.plan_for(period, named.id if named else None)


@bp.get("/api/v1/compliance")
@web.requires("home_affairs", "observer", "leadership", "admin", "service")
@web.document(query=("period", "plan", *web.PAGE_QUERY))
def get_compliance() -> Response:
    """A period's compliance (F10): the reporting rates, whether its figures are closed, and a page of its units
    (`items`, in unit-code order, 50 by default) with each one's status and latest revision and those received
    after closing."""
    period = _period_arg()
    d = _deps()
    found = handlers.compliance_page(
        period, web.page_request(), boards=d.boards, plan=_plan_for(period), clock=d.rt.clock, closings=d.closings,
        reports=d.reports,
    )  # fmt: skip
    if found is None:
        raise web.ApiError(404, f"Không có kỳ báo cáo '{period}'.", fields={"period": "Không có trong kế hoạch."})
    head, page = found
    return web.paged(page, **head)


@bp.get("/api/v1/dead-letters")
@web.requires("home_affairs", "admin")
@web.document(query=web.PAGE_QUERY)
def get_dead_letters() -> Response:
    """How many messages each service's consumer refused (its dead-letter queue), for Sở Nội vụ and admins, by
    service, paged; `total` counts the messages of every queue. An operator inspects and replays them with
    `dvcq dlq`."""
    asked = web.page_request()
    try:
        depths = _deps().rt.broker.queue_depths([q.dead_letter_queue for q in queues()])
    except BROKER_ERRORS as exc:
        raise web.ApiError(503, headers={"Retry-After": "5"}) from exc
    items = [
        {"service": q.service, "queue": q.dead_letter_queue, "messages": depths[q.dead_letter_queue]} for q in queues()
    ]
    return web.paged(page_of(items, lambda i: i["service"], asked), total=sum(depths.values()))


@bp.get("/api/v1/overdue")
@web.requires("home_affairs", "observer", "leadership", "admin", "service")
@web.document(query=("plan", *web.PAGE_QUERY))
def get_overdue() -> Response:
    """Every unit overdue in any period of a plan (`plan`; default: every plan the stack runs), the longest
    overdue first, paged; each row names its `plan`."""
    asked = web.page_request(is_key_of(int, str, int, str, str))
    d = _deps()
    named = web.plan_arg()
    items = [
        {**row, "plan": plan.id}
        for plan in ([named] if named else d.rt.plans)
        for row in handlers.overdue(
            boards=d.boards, plan=plan, clock=d.rt.clock, plan_for=lambda period, p=plan.id: d.rt.plan_for(period, p)
        )
    ]
    return web.paged(page_of(items, _overdue_order, asked))


def _overdue_order(row: dict[str, Any]) -> tuple[int, str, int, str, str]:
    return (-(row["days_overdue"] or 0), row["due_before"] or "", row["order"] or 0, row["agency"], row["period"])


@bp.get("/api/v1/summary")
@web.requires("home_affairs", "observer", "leadership", "admin", "service")
@web.document(query=("period", "plan"))
def get_summary() -> Response:
    """A period's indicator totals (F11): per content area, by unit type and by unit, nulls left out and
    counted, derived rates recomputed from summed parts, the same period a year earlier where it exists; and
    the units that stand out by ratio, as suggestions."""
    period = _period_arg()
    d = _deps()
    try:
        totals = handlers.summary(period, boards=d.boards, reports=d.reports, plan=_plan_for(period), clock=d.rt.clock)
    except PeriodNotSummarisable as exc:
        raise web.ApiError(422, str(exc), fields={"period": str(exc)}) from exc
    body = snapshot(asdict(totals))
    body["standouts"] = snapshot([asdict(s) for s in suggest_standouts(totals)])
    return jsonify(body)


@bp.post("/api/v1/periods/<period>/close")
@web.requires("home_affairs")
@web.document(status=201, query=("plan",))
def close_period(period: str) -> tuple[Response, int]:
    """Close a period's figures (chốt số liệu), once (409 after). Revisions received later are kept and shown
    as arriving after closing; documents issued afterwards say the figures are closed."""
    d = _deps()
    closing = handlers.close_period(
        period, by=web.principal().sub, closings=d.closings, plan=_plan_for(period), clock=d.rt.clock
    )
    return jsonify({"period": period, **closing}), 201


class ExportRequestSchema(Schema):
    """What an issued document carries, all optional: number, date and signer stay blank for the văn thư."""

    class Meta:
        unknown = RAISE

    number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_TEXT, error=TOO_LONG))
    date = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "Ngày ban hành, YYYY-MM-DD"},
        error_messages={"invalid": "Ngày ban hành phải có dạng YYYY-MM-DD."},
    )
    signer = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_TEXT, error=TOO_LONG))
    signer_title = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=MAX_TEXT, error=TOO_LONG)
    )
    standouts = fields.Raw(
        load_default=None,
        allow_none=True,
        metadata={"description": "Mã các đơn vị tiêu biểu Sở Nội vụ chọn (danh sách, hoặc cách nhau bởi dấu phẩy)"},
    )


def _export_body() -> dict[str, Any]:
    """The export request: the board's form fields (its CSRF token aside), a JSON object, or nothing."""
    if request.mimetype in web.FORM_MIMETYPES:
        return {k: v for k, v in web.nfc_deep(request.form.to_dict()).items() if k != web.CSRF_FIELD}
    if not request.get_data(cache=True):
        return {}  # a bare POST issues the document with the defaults
    return web.json_body()


def _export_fields() -> dict[str, Any]:
    """The export request's fields, a blank form field counting as absent."""
    return {k: (v if v != "" else None) for k, v in _export_body().items()}


def accepts_export(before: Callable[..., object] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The export request body, declared once for both documents (`before` checks the address first)."""
    return web.accepts(
        ExportRequestSchema,
        message="Yêu cầu phát hành văn bản không hợp lệ.",
        read=_export_fields,
        unknown="Trường không có trong yêu cầu phát hành văn bản.",
        before=before,
    )


def _export_args(data: dict[str, Any], plan: Plan) -> dict[str, Any]:
    text = {k: " ".join(data[k].split()) or None if data[k] else None for k in ("number", "signer", "signer_title")}
    name, title = text["signer"], text["signer_title"]
    signer = Signer(name=name or "", **({"title": title} if title else {})) if name or title else None
    given = data["standouts"]
    if given is None:
        codes: list[Any] = []
    elif isinstance(given, str):
        codes = given.split(",")
    elif isinstance(given, list):
        codes = given
    else:
        raise web.ApiError(422, "Đơn vị tiêu biểu không hợp lệ.", fields={"standouts": "Danh sách mã đơn vị."})
    chosen = []
    for code in codes:
        if not isinstance(code, str):
            raise web.ApiError(422, "Đơn vị tiêu biểu không hợp lệ.", fields={"standouts": "Danh sách mã đơn vị."})
        if code.strip():
            if plan.unit(code.strip()) is None:
                raise web.ApiError(
                    422, f"Không có đơn vị '{code.strip()}'.", fields={"standouts": "Mã đơn vị không có."}
                )
            chosen.append((code.strip(), None))
    return {"number": text["number"], "issued_on": data["date"], "signer": signer, "chosen": chosen}


def _issue(period: str, kind: str, body: dict[str, Any]) -> tuple[Response, int]:
    d, plan = _deps(), _plan_for(period)
    record = handlers.export(
        period,
        kind,
        by=web.principal().sub,
        boards=d.boards,
        reports=d.reports,
        closings=d.closings,
        archive=d.archive,
        plan=plan,
        clock=d.rt.clock,
        **_export_args(body, plan),
    )
    resp = _download(record)
    resp.headers["Location"] = f"/api/v1/documents/{record['_id']}"
    return resp, 201


def _issued(period: str, kind: str) -> Response:
    d = _deps()
    return _download(handlers.latest_document(period, kind, archive=d.archive, plan=_plan_for(period)))


def _download(record: dict[str, Any]) -> Response:
    resp = Response(bytes(record["content"]), mimetype=record["media_type"])
    resp.headers["Content-Disposition"] = content_disposition(record["filename"])
    resp.headers["X-Dvcq-Document"] = record["_id"]
    return resp


def _kind(ext: str) -> str:
    if ext not in EXTENSIONS:
        raise web.ApiError(404, f"Không có định dạng '{ext}'.", fields={"ext": "docx, xlsx hoặc csv."})
    return EXTENSIONS[ext]


@bp.post("/api/v1/exports/<period>.<ext>")
@web.requires("home_affairs", "admin")
@web.document(status=201, query=("plan",))
@accepts_export(before=lambda period, ext: _kind(ext))
def export_period(period: str, ext: str, body: dict[str, Any]) -> tuple[Response, int]:
    """Issue the consolidated report (`.docx`, Nghị định 30/2020 layout) or the tables (`.xlsx`, `.csv`) of a
    period: made now, archived with the data they were made from, answered 201 with the file
    (`X-Dvcq-Document` and `Location` name the archive record).

    A POST, because it archives: a cookie session sends its CSRF token. The optional body (JSON or the board's
    form) gives `number`, `date` (YYYY-MM-DD), `signer` and `signer_title`, blank by default for the văn thư,
    and `standouts`, the codes of the units Sở Nội vụ chose as standing out.
    """
    return _issue(period, _kind(ext), body)


@bp.get("/api/v1/exports/<period>.<ext>")
@web.requires("home_affairs", "observer", "leadership", "admin")
@web.document(query=("plan",))
def issued_export(period: str, ext: str) -> Response:
    """The consolidated report or tables last issued for a period, byte for byte from the archive; 404 until
    one is issued (a GET never issues or archives anything)."""
    return _issued(period, _kind(ext))


@bp.post("/api/v1/exports/<period>/urging-letter.docx")
@web.requires("home_affairs", "admin")
@web.document(status=201, query=("plan",))
@accepts_export()
def export_urging_letter(period: str, body: dict[str, Any]) -> tuple[Response, int]:
    """Issue the urging letter (công văn đôn đốc) to the units still overdue for a period, archived like every
    document (201 with the file); 409 when no unit is overdue. Body as for the consolidated report."""
    return _issue(period, "urging_letter", body)


@bp.get("/api/v1/exports/<period>/urging-letter.docx")
@web.requires("home_affairs", "observer", "leadership", "admin")
@web.document(query=("plan",))
def issued_urging_letter(period: str) -> Response:
    """The urging letter last issued for a period, from the archive; 404 until one is issued."""
    return _issued(period, "urging_letter")


@bp.get("/api/v1/documents")
@web.requires("home_affairs", "observer", "leadership", "admin")
@web.document(query=("period", "plan", *web.PAGE_QUERY))
def list_documents() -> Response:
    """The archive of a period's issued documents (`period` required, `plan` as for the compliance: read by
    equality), newest first, paged: who issued what, when, whether the figures were closed."""
    period = _period_arg()
    page = _deps().archive.page(_plan_for(period).id, period, web.page_request(is_key_of(datetime, str)))
    return web.paged(
        page,
        [
            {
                "id": r["_id"],
                **{k: r.get(k) for k in ("kind", "period", "filename", "issued_by", "closed", "sha256", "size")},
                "issued_at": local_iso(r["issued_at"]),
                "request": r.get("request"),
            }
            for r in page.items
        ],
    )


@bp.get("/api/v1/documents/<record_id>")
@web.requires("home_affairs", "observer", "leadership", "admin")
@web.document()
def get_document(record_id: str) -> Response:
    """An archived document, byte for byte as it was issued."""
    record = _deps().archive.get(record_id)
    if record is None:
        raise DocumentNotFound("Không tìm thấy văn bản đã phát hành.", field="id")
    return _download(record)


@bp.get("/api/v1/documents/<record_id>/data")
@web.requires("home_affairs", "observer", "leadership", "admin")
@web.document()
def get_document_data(record_id: str) -> Response:
    """The data an archived document was made from, and the request that issued it."""
    record = _deps().archive.get(record_id)
    if record is None:
        raise DocumentNotFound("Không tìm thấy văn bản đã phát hành.", field="id")
    return jsonify({"id": record["_id"], "request": record.get("request"), "data": record.get("data")})


def create_app(settings: Settings | None = None) -> Flask:
    """Build the aggregator's app; gunicorn calls this in each worker (no preload)."""
    app = web.service_app("aggregator", settings, build_dependencies, bp, (AggregatorError, ERROR_STATUS))
    register_pages(app)
    return app
