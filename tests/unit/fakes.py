"""In-memory recording fakes of the services' store ports, with the uniqueness their MongoDB adapters enforce.

Each fake mirrors its adapter in services/<name>/store.py: what the adapter inserts once by `_id` the fake
inserts once by the same key, and events a producer stores go through the catalogue check that
`shared.outbox.pending_document` applies. Reads hand out copies, so a test cannot pass by aliasing the
fake's own state. `report_event` builds the report events intake publishes, for the aggregator's tests.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook

from services.aggregator.domain import board_key, row_id
from services.intake.accounts.domain import AccountExists, LoginAttempt, User
from services.intake.domain import Extension, Report, ReportAlreadySubmitted, RevisionConflict
from services.notifier.domain import DEAD, PENDING, SENDABLE, Attempt, Claim, Fact, Notification, Outcome, takeover_id
from services.scheduler.domain import Obligation, Transition
from shared.catalogue import check_event
from shared.events import Event, report_subject
from shared.paging import Page, PageRequest, page_of
from shared.plan import Contact
from shared.plan_versions import PlanVersion, UnitListDraft, version_id
from shared.timerules import Deadline, parse_instant


class FakeReportStore:
    """Reports by `<agency>:<period>:<revision>`, each revision carrying the events stored with it; `reads` counts
    the store reads as the adapter makes them (a walk of the revisions costs one per revision and one more)."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple[Report, list[Event]]] = {}
        self.add_calls: list[tuple[Report, list[Event]]] = []
        self.reads = 0

    def add(self, report: Report, event: Event, *more: Event) -> None:
        """Insert a revision with its pending events; a taken revision raises as the adapter does."""
        self.add_calls.append((copy.deepcopy(report), copy.deepcopy([event, *more])))
        for each in (event, *more):
            check_event(each)  # the adapter's pending_document validates the events before the insert
        key = f"{report.agency}:{report.period}:{report.revision}"
        if key in self.docs:
            if report.revision == 1:
                raise ReportAlreadySubmitted(
                    f"Đơn vị đã gửi báo cáo kỳ {report.period}; để sửa, gửi bản điều chỉnh (PUT).", field="period"
                )
            raise RevisionConflict("taken")
        self.docs[key] = (copy.deepcopy(report), copy.deepcopy([event, *more]))

    def revision(self, agency: str, period: str, revision: int) -> Report | None:
        """One revision, or None."""
        self.reads += 1
        found = self.docs.get(f"{agency}:{period}:{revision}")
        return copy.deepcopy(found[0]) if found else None

    def revisions(self, agency: str, period: str) -> list[Report]:
        """Every revision, oldest first."""
        out = []
        while (found := self.revision(agency, period, len(out) + 1)) is not None:
            out.append(found)
        return out

    def latest(self, agency: str, period: str) -> Report | None:
        """The highest revision, counted as the adapter's two reads (the head and the probe after it)."""
        self.reads += 2
        mine = [r for r, _ in self.docs.values() if (r.agency, r.period) == (agency, period)]
        return copy.deepcopy(max(mine, key=lambda r: r.revision)) if mine else None

    def by_idempotency_key(self, agency: str, period: str, key: str, submitted_by: str) -> Report | None:
        """The first revision `submitted_by` stored with `key` (one read)."""
        self.reads += 1
        mine = [
            r
            for r, _ in self.docs.values()
            if (r.agency, r.period, r.idempotency_key, r.submitted_by) == (agency, period, key, submitted_by)
        ]
        return copy.deepcopy(min(mine, key=lambda r: r.revision)) if mine else None

    @property
    def add_first_calls(self) -> list[tuple[Report, Event]]:
        """The first-submission writes (revision 1) with their primary event."""
        return [(report, events[0]) for report, events in self.add_calls if report.revision == 1]

    @property
    def pending_events(self) -> list[Event]:
        """The events stored with the reports, in insertion order (what the relay would publish)."""
        return [copy.deepcopy(e) for _, events in self.docs.values() for e in events]


class FakeObligationStore:
    """Obligations inserted once by key; transition events appended once by event id (the outbox)."""

    def __init__(self) -> None:
        self.obligations: dict[str, Obligation] = {}
        self.outbox: dict[str, dict[str, Any]] = {}
        self.agenda: set[tuple[str, datetime]] = set()
        self.record_calls = 0

    def create(self, ob: Obligation, event: Event) -> bool:
        """Insert the obligation, its agenda entry and its created event, each once; True when it is new."""
        created = ob.key not in self.obligations
        if created:
            self.obligations[ob.key] = copy.deepcopy(ob)
        self.agenda.add((ob.key, event.occurred_at))
        self.record(event)
        return created

    def get_many(self, keys: list[str]) -> dict[str, Obligation]:
        """Obligations by key."""
        return {k: copy.deepcopy(self.obligations[k]) for k in keys if k in self.obligations}

    def transitions_of(self, keys: list[str]) -> dict[str, list[Transition]]:
        """The transitions of the given obligations, by key."""
        return {k: self.transitions(self.obligations[k]) if k in self.obligations else [] for k in keys}

    def due(self, after: datetime | None, now: datetime) -> list[str]:
        """Keys with an agenda entry in (after, now]."""
        return sorted({k for k, at in self.agenda if at <= now and (after is None or at > after)})

    def appoint(self, appointments: list[tuple[str, datetime]]) -> None:
        """Add agenda entries, each once."""
        self.agenda.update(appointments)

    def next_action(self, key: str, after: datetime) -> datetime | None:
        """The earliest agenda entry of `key` after `after` (for assertions)."""
        return min((at for k, at in self.agenda if k == key and at > after), default=None)

    def create_many(self, items: list[tuple[Obligation, Event]]) -> int:
        """Create each obligation once; return how many are new."""
        return sum(1 for ob, event in items if self.create(ob, event))

    def record_many(self, events: list[Event]) -> int:
        """Append each event once; return how many were new."""
        return sum(1 for event in events if self.record(event))

    def record(self, event: Event) -> bool:
        """Append a transition event; False when its id was already recorded."""
        self.record_calls += 1
        check_event(event)
        if event.id in self.outbox:
            return False
        self.outbox[event.id] = event.to_dict()
        return True

    def get(self, agency: str, period: str) -> Obligation | None:
        """One obligation by key."""
        return copy.deepcopy(self.obligations.get(f"{agency}:{period}"))

    def all(self) -> list[Obligation]:
        """Every obligation."""
        return [copy.deepcopy(ob) for ob in self.obligations.values()]

    def obligation_of_request(self, request_id: str) -> Obligation | None:
        """The obligation whose `obligation.extension_requested` event carries `request_id`."""
        for ev in self.outbox.values():
            if ev["type"] == "obligation.extension_requested" and ev["data"].get("request_id") == request_id:
                return self.get(ev["data"]["agency"], ev["data"]["period"])
        return None

    def page(self, *, period: str | None, agency: str | None, asked: PageRequest) -> Page[Obligation]:
        """A page of the obligations of a period or a unit, in key order."""
        assert period or agency, "a page is read by an equality filter"
        chosen = [ob for ob in self.all() if period in (None, ob.period) and agency in (None, ob.agency)]
        return page_of(chosen, lambda ob: ob.key, asked)

    def requests_page(self, *, agency: str | None, asked: PageRequest) -> Page[Transition]:
        """A page of the extension-request transitions (of one unit's obligations), in event id order."""
        chosen = [
            _transition(ev)
            for ev in self.outbox.values()
            if ev["type"] == "obligation.extension_requested" and agency in (None, ev["data"]["agency"])
        ]
        return page_of(chosen, lambda t: t.id, asked)

    def transitions(self, ob: Obligation) -> list[Transition]:
        """The transitions of one obligation (events whose subject is the obligation's)."""
        return [_transition(ev) for ev in self.outbox.values() if ev["subject"] == ob.subject]

    def all_transitions(self) -> dict[str, list[Transition]]:
        """Every obligation's transitions, by obligation key (`<agency>:<period>`)."""
        out: dict[str, list[Transition]] = {}
        for ev in self.outbox.values():
            if ev["subject"].startswith("obligation:"):
                out.setdefault(ev["subject"].split(":", 1)[1], []).append(_transition(ev))
        return out

    def events(self, event_type: str | None = None) -> list[Event]:
        """Recorded events in insertion order, optionally of one type (as a consumer would receive them)."""
        return [Event.from_dict(copy.deepcopy(ev)) for ev in self.outbox.values() if event_type in (None, ev["type"])]


def _transition(ev: dict[str, Any]) -> Transition:
    return Transition(
        id=ev["id"],
        type=ev["type"],
        subject_version=int(ev["subject_version"]),
        occurred_at=parse_instant(ev["occurred_at"]),
        data=copy.deepcopy(ev["data"]),
    )


OPEN_WATERMARK = datetime(9999, 1, 1, tzinfo=UTC)


class FakePassStore:
    """The pass state: one instant and every value it was set to, the applied watermark (open by default: the
    ladder's own tests run ungated; F17's tests pass `watermark=None` or an instant) and the hold events."""

    def __init__(self, watermark: datetime | None = OPEN_WATERMARK) -> None:
        self.history: list[datetime] = []
        self.mark = watermark
        self.holds: dict[str, Event] = {}

    def processed_up_to(self) -> datetime | None:
        """The business instant of the last finished pass."""
        return self.history[-1] if self.history else None

    def set_processed_up_to(self, instant: datetime) -> None:
        """Record a finished pass."""
        self.history.append(instant)

    def watermark(self) -> datetime | None:
        """The applied intake watermark."""
        return self.mark

    def apply_watermark(self, received_before: datetime) -> bool:
        """Move the watermark forward only."""
        if self.mark is not None and received_before <= self.mark:
            return False
        self.mark = received_before
        return True

    def hold(self, start: int = 1) -> tuple[int, dict[str, Any] | None]:
        """The first hold from `start` not resumed, with its held event data."""
        number = start
        while f"ladder:hold:{number}:held" in self.holds:
            if f"ladder:hold:{number}:resumed" not in self.holds:
                return number, self.holds[f"ladder:hold:{number}:held"].data
            number += 1
        return number, None

    def record_hold(self, event: Event) -> bool:
        """Keep a hold event once by id."""
        if event.id in self.holds:
            return False
        self.holds[event.id] = event
        return True


class FakeLedgerStore:
    """Notifications inserted once by id; attempts and re-sends appended once by id, as MongoLedgerStore does
    (an attempt's event checked against the catalogue, as `pending_document` does)."""

    def __init__(self) -> None:
        self.notifications: dict[str, Notification] = {}
        self.attempts: dict[str, Attempt] = {}
        self.outbox: list[Event] = []
        self.resends: dict[str, dict[str, Any]] = {}
        self.claims: dict[str, Claim] = {}
        self.record_calls = 0

    def record(self, notification: Notification) -> bool:
        """Store a notification once; False if its id was already there."""
        self.record_calls += 1
        if notification.id in self.notifications:
            return False
        self.notifications[notification.id] = copy.deepcopy(notification)
        return True

    def record_many(self, notifications: list[Notification]) -> int:
        """Store each once; how many were new."""
        return sum(self.record(n) for n in notifications)

    def record_attempts(self, attempts: list[tuple[Attempt, Event]]) -> int:
        """Append each attempt once; how many were new."""
        return sum(self.record_attempt(a, e) for a, e in attempts)

    def page(self, filters: dict[str, str], asked: PageRequest, *, newest_first: bool = False) -> Page[Notification]:
        """A page of the notifications matching `filters`, in (decision, id) order, as MongoLedgerStore reads it:
        without their bodies (`with_bodies` has them)."""
        found = page_of(self.find(**filters), lambda n: (n.decided_at, n.id), asked, descending=newest_first)
        return Page([replace(n, text="", html="") for n in found.items], found.next)

    def find(self, **filters: Any) -> list[Notification]:
        """Notifications matching the non-empty filters, oldest decision first (for assertions)."""
        query = {k: v for k, v in filters.items() if v}
        found = [n for n in self.notifications.values() if all(asdict(n).get(k) == v for k, v in query.items())]
        return [copy.deepcopy(n) for n in sorted(found, key=lambda n: (n.decided_at, n.id))]

    def count(self, filters: dict[str, str]) -> int:
        """How many notifications match the equality `filters` (at least one, as MongoLedgerStore insists)."""
        assert filters, "a count of the ledger needs at least one filter"
        return len(self.find(**filters))

    def get(self, notification_id: str) -> Notification | None:
        """One notification by id."""
        return copy.deepcopy(self.notifications.get(notification_id))

    def with_bodies(self, notification: Notification) -> Notification:
        """The notification with its stored bodies."""
        stored = self.notifications[notification.id]
        return replace(notification, text=stored.text, html=stored.html)

    def due(self, now: datetime, limit: int) -> list[Notification]:
        """Pending or failed notifications due at `now`, earliest first."""
        found = [
            n
            for n in self.notifications.values()
            if n.status in SENDABLE and n.next_attempt_at is not None and n.next_attempt_at <= now
        ]
        return [copy.deepcopy(n) for n in sorted(found, key=lambda n: (n.next_attempt_at, n.id))[:limit]]

    def attempt(self, attempt_id: str) -> Attempt | None:
        """One attempt by id."""
        return copy.deepcopy(self.attempts.get(attempt_id))

    def attempts_of(self, notification_ids: list[str]) -> dict[str, list[Attempt]]:
        """Attempts by notification, in order."""
        return {
            nid: sorted((a for a in self.attempts.values() if a.notification_id == nid), key=lambda a: a.number)
            for nid in notification_ids
        }

    def claim(self, claim: Claim) -> bool:
        """Hold an attempt: its claim inserted once, then takeover links `#t<k>`, each only after the previous
        holder's lease ran out (as MongoLedgerStore does)."""
        k = 0
        while True:
            link = takeover_id(claim.id, k)
            held = self.claims.get(link)
            if held is None:
                self.claims[link] = claim
                return True
            if held.holder == claim.holder:
                if takeover_id(claim.id, k + 1) not in self.claims:
                    return True
            elif held.lease_until > claim.at:
                return False
            k += 1

    def record_attempt(self, attempt: Attempt, event: Event) -> bool:
        """Append an attempt and its event once."""
        check_event(event)
        if attempt.id in self.attempts:
            return False
        self.attempts[attempt.id] = copy.deepcopy(attempt)
        self.outbox.append(copy.deepcopy(event))
        return True

    def apply(self, notification_id: str, outcome: Outcome) -> None:
        """The state after an attempt."""
        self.notifications[notification_id] = replace(self.notifications[notification_id], **asdict(outcome))

    def record_resend(self, notification_id: str, attempts: int, *, by: str, at: datetime) -> bool:
        """A re-send, once per dead spell."""
        key = f"{notification_id}#resend{attempts}"
        if key in self.resends:
            return False
        self.resends[key] = {"notification_id": notification_id, "by": by, "at": at}
        return True

    def reopen(self, notification_id: str, *, at: datetime) -> None:
        """A dead notification becomes pending, due at `at`."""
        n = self.notifications[notification_id]
        if n.status == DEAD:
            self.notifications[notification_id] = replace(n, status=PENDING, next_attempt_at=at)


class FakeContactStore:
    """Staff-list versions inserted once by `<agency>:<version>`, as MongoContactStore keeps them."""

    def __init__(self) -> None:
        self.versions: dict[str, tuple[int, list[Contact]]] = {}

    def add(self, agency: str, version: int, contacts: list[Contact], received_at: datetime) -> bool:
        """Store a version once."""
        key = f"{agency}:{version}"
        if key in self.versions:
            return False
        self.versions[key] = (version, copy.deepcopy(list(contacts)))
        return True

    def latest(self, agency: str) -> list[Contact] | None:
        """The highest version's people, or None."""
        mine = [v for k, v in self.versions.items() if k.split(":", 1)[0] == agency]
        return copy.deepcopy(max(mine, key=lambda v: v[0])[1]) if mine else None


class FakeFactStore:
    """The digest's obligation facts inserted once by event id, as MongoFactStore keeps them."""

    def __init__(self) -> None:
        self.facts: dict[str, Fact] = {}
        self.add_calls = 0

    def add(self, fact: Fact) -> bool:
        """Store a fact once; False if its event id was already there."""
        self.add_calls += 1
        if fact.event_id in self.facts:
            return False
        self.facts[fact.event_id] = copy.deepcopy(fact)
        return True

    def all(self) -> list[Fact]:
        """Every fact (a store promises no order: handed out newest first, so no caller can rely on one)."""
        return [copy.deepcopy(f) for f in reversed(list(self.facts.values()))]


class FakeInboxStore:
    """Read marks inserted once by notification id (the first read stands), as MongoInboxStore keeps them."""

    def __init__(self) -> None:
        self.reads: dict[str, dict[str, Any]] = {}
        self.mark_calls = 0

    def mark_read(self, notification_id: str, *, by: str, at: datetime) -> bool:
        """Record a read once; False if the item was already read."""
        self.mark_calls += 1
        if notification_id in self.reads:
            return False
        self.reads[notification_id] = {"by": by, "at": at}
        return True

    def first_read(self, notification_id: str) -> datetime | None:
        """When the item was first read, or None."""
        found = self.reads.get(notification_id)
        return found["at"] if found else None

    def read_at(self, notification_ids: list[str]) -> dict[str, datetime]:
        """First-read instants of the given ids that were read."""
        return {nid: self.reads[nid]["at"] for nid in notification_ids if nid in self.reads}

    def read_by(self, person: str) -> int:
        """How many items `person` has read."""
        return sum(mark["by"] == person for mark in self.reads.values())


class FakeBoardStore:
    """A period's rows (the board or the reports), one per unit by `_id` `<plan>:<period>:<unit>`, stored and read
    as deep copies; a period's rows found by their `board` field, projected to `fields` as the adapter does."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.puts: list[dict[str, Any]] = []

    def get(self, plan_id: str, period: str, agency: str) -> dict[str, Any] | None:
        """One unit's row."""
        return copy.deepcopy(self.docs.get(row_id(plan_id, period, agency)))

    def put(self, row: dict[str, Any]) -> None:
        """Replace one unit's row."""
        self.puts.append(copy.deepcopy(row))
        self.docs[row["_id"]] = copy.deepcopy(row)

    def rows(self, plan_id: str, period: str, fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Every row of a period (`_id`, `agency` and `fields` only, when given)."""
        found = [copy.deepcopy(r) for r in self.docs.values() if r["board"] == board_key(plan_id, period)]
        if fields is None:
            return found
        keep = {"_id", "agency", *fields}
        return [{k: v for k, v in r.items() if k in keep} for r in found]

    def page(self, plan_id: str, period: str, asked: PageRequest) -> Page[dict[str, Any]]:
        """A page of a period's rows in `_id` order."""
        return page_of(self.rows(plan_id, period), lambda row: row["_id"], asked)

    def clear(self) -> None:
        """Drop every row."""
        self.docs.clear()

    def put_many(self, rows: Iterable[dict[str, Any]]) -> None:
        """Insert rows after `clear`; an `_id` twice fails as the adapter's insert does."""
        for row in rows:
            assert row["_id"] not in self.docs, row["_id"]
            self.docs[row["_id"]] = copy.deepcopy(row)


class FakeUserStore:
    """Accounts inserted once by e-mail; login attempts appended, as MongoUserStore keeps them."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.attempt_log: list[LoginAttempt] = []

    def add(self, user: User) -> None:
        """Insert the account; a taken e-mail raises as the adapter does."""
        if user.email in self.users:
            raise AccountExists(f"Đã có tài khoản '{user.email}'.", field="email")
        self.users[user.email] = copy.deepcopy(user)

    def get(self, email: str) -> User | None:
        """The account, or None."""
        return copy.deepcopy(self.users.get(email))

    def record_attempt(self, attempt: LoginAttempt) -> None:
        """Append one attempt."""
        self.attempt_log.append(attempt)

    def attempts(self, email: str, *, since: float) -> list[LoginAttempt]:
        """The attempts on `email` since `since`, oldest first."""
        return sorted((a for a in self.attempt_log if a.email == email and a.at >= since), key=lambda a: a.at)

    def set_password(self, email: str, password_hash: str) -> None:
        """Replace the account's hash."""
        self.users[email] = replace(self.users[email], password_hash=password_hash)


class FakeExtensionStore:
    """Granted extensions inserted once by `<agency>:<period>:g<generation>`, as MongoExtensionStore keeps them."""

    def __init__(self) -> None:
        self.extensions: dict[str, Extension] = {}
        self.add_calls = 0

    def add(self, extension: Extension) -> bool:
        """Store a generation once; False when it is already there."""
        self.add_calls += 1
        key = f"{extension.agency}:{extension.period}:g{extension.generation}"
        if key in self.extensions:
            return False
        self.extensions[key] = copy.deepcopy(extension)
        return True

    def deadlines(self, agency: str, period: str) -> list[Deadline]:
        """The granted generations of one unit's period, in generation order."""
        found = [e for e in self.extensions.values() if (e.agency, e.period) == (agency, period)]
        return [e.deadline for e in sorted(found, key=lambda e: e.generation)]


class FakeDayBuckets:
    """Items (ids) by day bucket, pruned as `shared.retention.DayBuckets` says, with the stored mark; records the
    batches asked for (day, cursor, limit)."""

    def __init__(self, items: dict[date, list[str]] | None = None) -> None:
        self.items: dict[date, list[str]] = {day: sorted(ids) for day, ids in (items or {}).items()}
        self.mark: date | None = None
        self.batches: list[tuple[date, str | None, int]] = []
        self.earliest_reads = 0

    def earliest_day(self) -> date | None:
        """The oldest day holding an item."""
        self.earliest_reads += 1
        return min((day for day, ids in self.items.items() if ids), default=None)

    def pruned_from(self) -> date | None:
        """The stored mark."""
        return self.mark

    def set_pruned_from(self, day: date) -> None:
        """Store the mark."""
        self.mark = day

    def prune_day(self, day: date, after: str | None, limit: int) -> str | None:
        """Delete up to `limit` items of `day` after `after`; the last one deleted, None once the day is done."""
        self.batches.append((day, after, limit))
        ids = self.items.get(day, [])
        batch = [i for i in ids if after is None or i > after][:limit]
        self.items[day] = [i for i in ids if i not in batch]
        return batch[-1] if len(batch) >= limit else None


def report_event(
    agency: str,
    period: str,
    revision: int,
    received_at: datetime,
    content: dict[str, Any],
    *,
    amended_at: datetime | None = None,
    on_time: bool = True,
    completeness: float = 1.0,
) -> Event:
    """`report.submitted` (revision 1) or `report.amended` as intake publishes them (not validated here)."""
    data: dict[str, Any] = {
        "report_id": f"{agency}:{period}",
        "agency": agency,
        "period": period,
        "revision": revision,
        "received_at": received_at.isoformat(),
        "on_time": on_time,
        "completeness": completeness,
        "source": "form",
        "submitted_by": f"focal@{agency.lower()}",
        "content": content,
    }
    if amended_at is not None:
        data.update(previous_revision=revision - 1, amended_at=amended_at.isoformat())
    kind = "amended" if amended_at is not None else "submitted"
    return Event(
        id=f"report:{agency}:{period}:r{revision}:{kind}",
        type=f"report.{kind}",
        subject=report_subject(agency, period),
        subject_version=revision,
        producer="intake",
        occurred_at=amended_at or received_at,
        data=data,
    )


class FakePlanVersionStore:
    """Plan versions inserted once by `<plan>:v<number>`, drafts once by id, events once by id (the outbox)."""

    def __init__(self) -> None:
        self.published: dict[str, PlanVersion] = {}
        self.drafts: dict[str, UnitListDraft] = {}
        self.outbox: dict[str, Event] = {}

    def versions(self, plan: str) -> list[PlanVersion]:
        """Every version of `plan`, oldest first."""
        return sorted((copy.deepcopy(v) for v in self.published.values() if v.plan == plan), key=lambda v: v.number)

    def version(self, plan: str, number: int) -> PlanVersion | None:
        """One version, or None."""
        found = self.published.get(version_id(plan, number))
        return copy.deepcopy(found) if found else None

    def publish(self, version: PlanVersion) -> bool:
        """Insert once; False when the number is taken."""
        if version.id in self.published:
            return False
        self.published[version.id] = copy.deepcopy(version)
        return True

    def save_import(self, draft: UnitListDraft) -> None:
        """Keep a draft once."""
        self.drafts.setdefault(draft.id, copy.deepcopy(draft))

    def draft(self, plan: str, draft_id: str) -> UnitListDraft | None:
        """A draft of `plan`, or None."""
        found = self.drafts.get(draft_id)
        return copy.deepcopy(found) if found and found.plan == plan else None

    def record(self, event: Event) -> bool:
        """Append an event once, checked by the catalogue as the adapter's pending_document does."""
        check_event(event)
        if event.id in self.outbox:
            return False
        self.outbox[event.id] = event
        return True


def xlsx(rows: list[list[Any]]) -> bytes:
    """A one-sheet workbook of `rows`, as bytes (a unit list as Sở Nội vụ uploads it)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class FakeRevocations:
    """shared.revocation.RevocationList in memory: the tokens logged out, by `jti`."""

    def __init__(self) -> None:
        self.revoked: dict[str, int] = {}

    def revoke(self, jti: str, expires_at: int) -> bool:
        new = jti not in self.revoked
        self.revoked[jti] = expires_at
        return new

    def is_revoked(self, jti: str) -> bool:
        return jti in self.revoked
