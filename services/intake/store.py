"""Intake's store: the report port and its MongoDB adapter (the only pymongo use of the service)."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from pymongo import ASCENDING, DESCENDING

from services.intake.accounts.domain import HISTORY_SECONDS, AccountExists, LoginAttempt, User
from services.intake.domain import (
    Draft,
    Extension,
    Pdf,
    PdfAlreadyAttached,
    Report,
    ReportAlreadySubmitted,
    RevisionConflict,
)
from shared.events import Event
from shared.outbox import ensure_indexes, pending_document, read_events
from shared.paging import Page, PageRequest
from shared.ratelimit import PRUNE_SECONDS, ExpiryPruner, Throttle, expiry_bucket
from shared.store import DuplicateKeyError, insert_once, read_page
from shared.timerules import Deadline

REPORTS = "reports"
HEADS = "report_heads"
PDFS = "pdfs"
DRAFTS = "drafts"
USERS = "users"
LOGIN_ATTEMPTS = "login_attempts"
EXTENSIONS = "extensions"
USER_FIELDS = tuple(f.name for f in fields(User))
REPORT_FIELDS = tuple(f.name for f in fields(Report))


def _doc_id(agency: str, period: str, revision: int) -> str:
    return f"{agency}:{period}:{revision}"


def _to_report(doc: dict[str, Any]) -> Report:
    values = {name: doc[name] for name in REPORT_FIELDS if name in doc}
    values["warnings"] = {w["field"]: w["message"] for w in doc.get("warnings", ())}
    return Report(**values)


def _to_doc(report: Report) -> dict[str, Any]:
    # warnings are keyed by dotted field paths, which are not safe as document keys: store them as a list
    doc = asdict(report)
    doc["warnings"] = [{"field": k, "message": v} for k, v in report.warnings.items()]
    return doc


class MongoReportStore:
    """Each revision is one document `<agency>:<period>:<revision>` carrying its events until relayed.

    Revisions are never updated (only the relay clears `pending`): a correction is a new document, and
    its deterministic `_id` makes two concurrent corrections collide instead of overwriting each other.

    The latest revision is found in two reads whatever their number: the head `<agency>:<period>` in
    `report_heads`, a copy of the latest revision written after it, then an `_id` probe of the revision after the
    head's. The head is only a hint, so it needs no isolation: a crash between a revision's insert and its head,
    or two writers racing, leave it behind, and the probe walks past it (never skipping an accepted revision);
    the next correction writes it forward. Reports stored before heads existed are walked from revision 1.
    """

    def __init__(self, db: Any) -> None:
        self.db = db

    def ensure_indexes(self) -> None:
        """Indexes for listing reports by period and agency, and for the relay."""
        self.db[REPORTS].create_index([("period", ASCENDING), ("agency", ASCENDING), ("revision", DESCENDING)])
        self.db[REPORTS].create_index([("agency", ASCENDING), ("revision", ASCENDING)])
        ensure_indexes(self.db, [REPORTS])

    def add(self, report: Report, event: Event, *more: Event) -> None:
        """Insert one revision with its pending events: one atomic single-document write."""
        doc = {
            "_id": _doc_id(report.agency, report.period, report.revision),
            "report_id": report.report_id,
            **_to_doc(report),
            **pending_document(event, *more),
        }
        try:
            self.db[REPORTS].insert_one(doc)
        except DuplicateKeyError:
            if report.revision == 1:
                raise ReportAlreadySubmitted(
                    f"Đơn vị đã gửi báo cáo kỳ {report.period}; để sửa, gửi bản điều chỉnh (PUT).", field="period"
                ) from None
            raise RevisionConflict(
                f"Bản điều chỉnh số {report.revision} vừa được ghi bởi một yêu cầu khác; vui lòng tải lại và thử lại."
            ) from None
        self._advance_head(report)

    def _advance_head(self, report: Report) -> None:
        """Make the head the copy of `report` unless it already holds a later revision (a hint: see the class)."""
        key = f"{report.agency}:{report.period}"
        head = {"_id": key, "report_id": report.report_id, **_to_doc(report)}
        try:
            self.db[HEADS].replace_one({"_id": key, "revision": {"$lt": report.revision}}, head, upsert=True)
        except DuplicateKeyError:
            pass  # the head holds this revision or a later one already (or a concurrent first write won)

    def revision(self, agency: str, period: str, revision: int) -> Report | None:
        """One revision by its `_id`."""
        doc = self.db[REPORTS].find_one({"_id": _doc_id(agency, period, revision)}, {"event": 0, "more_events": 0})
        return _to_report(doc) if doc else None

    def revisions(self, agency: str, period: str) -> list[Report]:
        """Every revision, oldest first (`_id` lookups from 1 upwards; a report has few)."""
        out = []
        while (found := self.revision(agency, period, len(out) + 1)) is not None:
            out.append(found)
        return out

    def latest(self, agency: str, period: str) -> Report | None:
        """The highest revision: the head (one `_id` read), then `_id` probes from the revision after it."""
        head = self.db[HEADS].find_one({"_id": f"{agency}:{period}"})
        found = _to_report(head) if head else None
        while (newer := self.revision(agency, period, (found.revision if found else 0) + 1)) is not None:
            found = newer
        return found

    def by_idempotency_key(self, agency: str, period: str, key: str, submitted_by: str) -> Report | None:
        """The first revision `submitted_by` stored with the Idempotency-Key `key` (one read by equality)."""
        query = {"agency": agency, "period": period, "idempotency_key": key, "submitted_by": submitted_by}
        found = self.db[REPORTS].find(query, {"event": 0, "more_events": 0}).sort("revision", ASCENDING).limit(1)
        doc = next(iter(found), None)
        return _to_report(doc) if doc else None

    def page(self, *, period: str | None, agency: str | None, asked: PageRequest) -> Page[Report]:
        """A page of reports (their latest revisions) of a period or a unit, in `_id` order (unit then period).

        Read by the equality `{period or agency, revision: 1}`: a report's first revision is its one stable
        entry, so a correction between two pages neither repeats nor hides it; each shown report then costs
        the read of its latest revision."""
        query: dict[str, Any] = {"revision": 1}
        query.update({k: v for k, v in (("period", period), ("agency", agency)) if v})
        firsts = read_page(self.db[REPORTS], query, asked, projection={"agency": 1, "period": 1})
        found = (self.latest(d["agency"], d["period"]) for d in firsts.items)
        return Page([r for r in found if r is not None], firsts.next)

    def events(self, *, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Events intake has published."""
        return read_events(self.db, after=after, limit=limit)

    def add_pdf(self, pdf: Pdf) -> None:
        """Store a revision's signed PDF once (`_id` `<agency>:<period>:<revision>`)."""
        try:
            self.db[PDFS].insert_one({"_id": _doc_id(pdf.agency, pdf.period, pdf.revision), **asdict(pdf)})
        except DuplicateKeyError:
            raise PdfAlreadyAttached(
                f"Bản số {pdf.revision} đã có tệp PDF; gửi bản điều chỉnh để đính kèm tệp mới.", field="file"
            ) from None

    def pdf(self, agency: str, period: str, revision: int) -> Pdf | None:
        """A revision's signed PDF, or None."""
        doc = self.db[PDFS].find_one({"_id": _doc_id(agency, period, revision)})
        return Pdf(**{k: (bytes(v) if k == "data" else v) for k, v in doc.items() if k != "_id"}) if doc else None


class MongoDraftStore:
    """One document per (unit, period), `_id` `<agency>:<period>`; only that unit writes it."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def put(self, draft: Draft) -> None:
        """Replace the draft (two first saves at once: FerretDB lets the loser's upsert collide; it retries)."""
        doc = {"_id": f"{draft.agency}:{draft.period}", **asdict(draft)}
        try:
            self.db[DRAFTS].replace_one({"_id": doc["_id"]}, doc, upsert=True)
        except DuplicateKeyError:
            self.db[DRAFTS].replace_one({"_id": doc["_id"]}, doc, upsert=True)

    def delete(self, agency: str, period: str) -> None:
        """Forget the draft (it has been submitted)."""
        self.db[DRAFTS].delete_one({"_id": f"{agency}:{period}"})

    def get(self, agency: str, period: str) -> Draft | None:
        """The draft, or None."""
        doc = self.db[DRAFTS].find_one({"_id": f"{agency}:{period}"})
        return Draft(**{k: v for k, v in doc.items() if k != "_id"}) if doc else None


class MongoUserStore:
    """Accounts, `_id` = the e-mail (inserted once); login attempts appended as `<email>:<time in ns>`.

    The lockout is derived from the attempts, so every worker and every replica sees the same count and no
    shared counter is ever updated (FerretDB v1 updates have no isolation). Attempts older than the lockout
    ever reads (HISTORY_SECONDS) are deleted when one is recorded, at most once a minute per process, by the
    minute they stop counting in (`expires_bucket`, `shared.ratelimit.ExpiryPruner`), so attempts on unknown
    e-mails never pile up. Real-clock time (SPEC F14).
    """

    def __init__(self, db: Any) -> None:
        self.db = db
        self.prune_throttle = Throttle(PRUNE_SECONDS)
        self.pruner = ExpiryPruner(db[LOGIN_ATTEMPTS])

    def ensure_indexes(self) -> None:
        """The attempts are read by e-mail and time, and pruned by the minute they expire in."""
        self.db[LOGIN_ATTEMPTS].create_index([("email", ASCENDING), ("at", ASCENDING)])
        self.db[LOGIN_ATTEMPTS].create_index([("expires_bucket", ASCENDING)])

    def add(self, user: User) -> None:
        """Insert the account; AccountExists if the e-mail is taken."""
        if not insert_once(self.db[USERS], {"_id": user.email, **asdict(user)}):
            raise AccountExists(f"Đã có tài khoản '{user.email}'.", field="email")

    def get(self, email: str) -> User | None:
        """The account by its `_id`."""
        doc = self.db[USERS].find_one({"_id": email})
        return User(**{name: doc[name] for name in USER_FIELDS}) if doc else None

    def set_password(self, email: str, password_hash: str) -> None:
        """Replace the account's hash (one field of one document, by `_id`: a lost race keeps one of two hashes the
        person chose)."""
        self.db[USERS].update_one({"_id": email}, {"$set": {"password_hash": password_hash}})

    def record_attempt(self, attempt: LoginAttempt) -> None:
        """Append one attempt (two at the same nanosecond count once)."""
        doc = {
            "_id": f"{attempt.email}:{int(attempt.at * 1e9)}",
            **asdict(attempt),
            "expires_bucket": expiry_bucket(attempt.at + HISTORY_SECONDS),
        }
        insert_once(self.db[LOGIN_ATTEMPTS], doc)
        if self.prune_throttle.due(attempt.at):
            self.pruner.prune(attempt.at)

    def attempts(self, email: str, *, since: float) -> list[LoginAttempt]:
        """The attempts on `email` since `since`, oldest first."""
        found = self.db[LOGIN_ATTEMPTS].find({"email": email, "at": {"$gte": since}}).sort("at", ASCENDING)
        return [LoginAttempt(email=d["email"], at=d["at"], ok=d["ok"]) for d in found]


class MongoExtensionStore:
    """Granted extensions, one document `<agency>:<period>:g<generation>` each, inserted once and never updated.

    Written only by intake's consumer (from `obligation.extended`), read at each first submission. A unit's
    period has a handful of generations at most, so the lookup by (agency, period) is indexed for MongoDB and
    a scan of a tiny collection on FerretDB; an `_id` walk g2, g3, ... would miss a generation stored before
    the one below it.
    """

    def __init__(self, db: Any) -> None:
        self.db = db

    def ensure_indexes(self) -> None:
        """The generations are read by unit and period."""
        self.db[EXTENSIONS].create_index([("agency", ASCENDING), ("period", ASCENDING)])

    def add(self, extension: Extension) -> bool:
        """Insert the generation once; False when it is already stored (the same event again)."""
        doc_id = f"{extension.agency}:{extension.period}:g{extension.generation}"
        return insert_once(self.db[EXTENSIONS], {"_id": doc_id, **asdict(extension)})

    def deadlines(self, agency: str, period: str) -> list[Deadline]:
        """The granted generations of one unit's period, in generation order."""
        docs = self.db[EXTENSIONS].find({"agency": agency, "period": period})
        found = [Extension(**{k: v for k, v in d.items() if k != "_id"}) for d in docs]
        return [e.deadline for e in sorted(found, key=lambda e: e.generation)]
