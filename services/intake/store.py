"""Intake's store: the report port and its MongoDB adapter (the only pymongo use of the service)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from services.intake.domain import Report, ReportAlreadySubmitted
from shared.events import Event
from shared.outbox import ensure_indexes, pending_document, read_events
from shared.store import DuplicateKeyError

REPORTS = "reports"


def _doc_id(agency: str, period: str, revision: int) -> str:
    return f"{agency}:{period}:{revision}"


def _to_report(doc: dict[str, Any]) -> Report:
    return Report(
        agency=doc["agency"],
        period=doc["period"],
        revision=doc["revision"],
        received_at=doc["received_at"],
        on_time=doc["on_time"],
        completeness=doc["completeness"],
        content=doc["content"],
        submitted_by=doc["submitted_by"],
        source=doc["source"],
    )


class MongoReportStore:
    """Each revision is one document `<agency>:<period>:<revision>` carrying its event until relayed."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def ensure_indexes(self) -> None:
        """Indexes for listing reports by period and agency, and for the relay."""
        self.db[REPORTS].create_index([("period", ASCENDING), ("agency", ASCENDING), ("revision", DESCENDING)])
        ensure_indexes(self.db, [REPORTS])

    def add_first(self, report: Report, event: Event) -> None:
        """Insert revision 1 with its pending event: one atomic single-document write."""
        doc = {
            "_id": _doc_id(report.agency, report.period, 1),
            "report_id": report.report_id,
            "agency": report.agency,
            "period": report.period,
            "revision": 1,
            "received_at": report.received_at,
            "on_time": report.on_time,
            "completeness": report.completeness,
            "content": report.content,
            "submitted_by": report.submitted_by,
            "source": report.source,
            **pending_document(event),
        }
        try:
            self.db[REPORTS].insert_one(doc)
        except DuplicateKeyError:
            raise ReportAlreadySubmitted(
                f"Đơn vị đã gửi báo cáo kỳ {report.period}; để sửa, gửi bản điều chỉnh (PUT).", field="period"
            ) from None

    def latest(self, agency: str, period: str) -> Report | None:
        """The highest revision (revisions are `_id` lookups from 1 upwards; few per report)."""
        found = None
        revision = 1
        while True:
            doc = self.db[REPORTS].find_one({"_id": _doc_id(agency, period, revision)})
            if doc is None:
                return _to_report(found) if found else None
            found, revision = doc, revision + 1

    def list(self, *, period: str | None, agency: str | None, skip: int, limit: int) -> tuple[list[Report], int]:
        """Latest revisions matching the filters, in (period, agency) order, and the total count."""
        query: dict[str, Any] = {}
        if period:
            query["period"] = period
        if agency:
            query["agency"] = agency
        latest: dict[str, dict[str, Any]] = {}
        for doc in self.db[REPORTS].find(query, {"event": 0}):
            held = latest.get(doc["report_id"])
            if held is None or doc["revision"] > held["revision"]:
                latest[doc["report_id"]] = doc
        ordered = sorted(latest.values(), key=lambda d: (d["period"], d["agency"]))
        return [_to_report(d) for d in ordered[skip : skip + limit]], len(ordered)

    def events(self, *, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Events intake has published."""
        return read_events(self.db, after=after, limit=limit)
