"""Notifier's stores on MongoDB: the notification ledger, its append-only attempts (the outbox of
`notification.*` events), the senders' claims on attempts, the re-sends, and the units' staff lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING

from services.notifier.domain import PENDING, SENDABLE, Attempt, Claim, Fact, Notification, Outcome, takeover_id
from shared.events import Event
from shared.outbox import ensure_indexes, pending_document, read_events
from shared.paging import Page, PageRequest
from shared.plan import Contact
from shared.retention import day_bucket
from shared.store import count_equal, earliest_day, insert_many_once, insert_once, read_day, read_page, write_day

NOTIFICATIONS = "notifications"
BODIES = "bodies"
ATTEMPTS = "attempts"
RESENDS = "resends"
CLAIMS = "claims"
MAX_TAKEOVERS = 1000  # a bound on the claim chain's walk; each link needs a lease to run out first
CONTACTS = "contacts"
FACTS = "facts"
READS = "reads"
STATE = "state"
_NOTIFICATION_FIELDS = {f.name for f in fields(Notification)}
_ATTEMPT_FIELDS = {f.name for f in fields(Attempt)}
_FACT_FIELDS = {f.name for f in fields(Fact)}
_BODY_FIELDS = ("text", "html")


def _notification(doc: dict[str, Any]) -> Notification:
    return Notification(**{k: v for k, v in doc.items() if k in _NOTIFICATION_FIELDS})


def _attempt(doc: dict[str, Any]) -> Attempt:
    return Attempt(**{k: v for k, v in doc.items() if k in _ATTEMPT_FIELDS})


class MongoLedgerStore:
    """One document per notification (`_id` = its id), inserted once by the consumer and then changed only by
    the sender holding its current attempt's claim (and by a re-send while it is `dead`, when every sender
    leaves it alone). Each attempt is a new document `<notification id>#<n>` carrying its event for the relay,
    claimed first by a document of the same `_id` in `claims` (see `claim`).

    The bodies (text and HTML) live in `bodies` under the same `_id`, read only when a mail is sent: the
    sender's due query is a range, which FerretDB answers by scanning the ledger, and small documents scan faster.
    """

    def __init__(self, db: Any) -> None:
        self.db = db

    def ensure_indexes(self) -> None:
        """Indexes for the ledger's filters, the sender's due query and the relay (FerretDB scans anyway)."""
        self.db[NOTIFICATIONS].create_index([("agency", ASCENDING), ("period", ASCENDING)])
        self.db[NOTIFICATIONS].create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])
        self.db[NOTIFICATIONS].create_index([("recipient", ASCENDING), ("channel", ASCENDING)])
        self.db[NOTIFICATIONS].create_index([("delivered_day", ASCENDING)])
        self.db[ATTEMPTS].create_index([("notification_id", ASCENDING)])
        self.db[CLAIMS].create_index([("notification_id", ASCENDING)])
        ensure_indexes(self.db, [ATTEMPTS])

    def record(self, notification: Notification) -> bool:
        """Insert once; False if it was already there."""
        return self.record_many([notification]) == 1

    def record_many(self, notifications: Sequence[Notification]) -> int:
        """Insert each once, in two round trips: the bodies first, so a notification the sender can see always
        has them. Returns how many notifications were new."""
        docs = [asdict(n) for n in notifications]
        insert_many_once(self.db[BODIES], [{"_id": d["id"], **{k: d[k] for k in _BODY_FIELDS}} for d in docs])
        heads = [{"_id": d["id"], **{k: v for k, v in d.items() if k not in _BODY_FIELDS}} for d in docs]
        return insert_many_once(self.db[NOTIFICATIONS], heads)

    def page(self, filters: dict[str, str], asked: PageRequest, *, newest_first: bool = False) -> Page[Notification]:
        """A page of the notifications matching the equality `filters` (at least one), in decision order
        (then `_id`), oldest first unless `newest_first`."""
        found = read_page(self.db[NOTIFICATIONS], filters, asked, by="decided_at", newest_first=newest_first)
        return Page([_notification(d) for d in found.items], found.next)

    def count(self, filters: dict[str, str]) -> int:
        """How many notifications match the equality `filters` (at least one: never the whole ledger)."""
        return count_equal(self.db[NOTIFICATIONS], dict(filters))

    def get(self, notification_id: str) -> Notification | None:
        """One notification by `_id`, with its bodies."""
        doc = self.db[NOTIFICATIONS].find_one({"_id": notification_id})
        if doc is None:
            return None
        body = self.db[BODIES].find_one({"_id": notification_id}) or {}
        return _notification({**doc, **{k: body.get(k, "") for k in _BODY_FIELDS}})

    def with_bodies(self, notification: Notification) -> Notification:
        """The notification with its bodies (one `_id` read of `bodies`)."""
        body = self.db[BODIES].find_one({"_id": notification.id}) or {}
        return replace(notification, **{k: body.get(k, "") for k in _BODY_FIELDS})

    def due(self, now: datetime, limit: int) -> list[Notification]:
        """Pending or failed notifications whose next attempt is at or before `now`, earliest first: one read per
        status by equality (FerretDB passes it down to PostgreSQL, so the delivered and dead bulk of the ledger is
        never read; `$in` would scan it), merged."""
        order = [("next_attempt_at", ASCENDING), ("_id", ASCENDING)]
        docs = [
            d
            for status in SENDABLE
            for d in self.db[NOTIFICATIONS]
            .find({"status": status, "next_attempt_at": {"$lte": now}})
            .sort(order)
            .limit(limit)
        ]
        docs.sort(key=lambda d: (d["next_attempt_at"], d["_id"]))
        return [_notification(d) for d in docs[:limit]]

    def attempt(self, attempt_id: str) -> Attempt | None:
        """One attempt by `_id`."""
        doc = self.db[ATTEMPTS].find_one({"_id": attempt_id})
        return _attempt(doc) if doc else None

    def attempts_of(self, notification_ids: Sequence[str]) -> dict[str, list[Attempt]]:
        """The attempts of the given notifications, in order, by notification id (every id present): one read by
        equality on `notification_id` each (FerretDB pushes it down; `$in` or the whole log would be scanned), so
        the cost follows the notifications asked for, never the size of the log."""
        out: dict[str, list[Attempt]] = {}
        for nid in notification_ids:
            found = [_attempt(doc) for doc in self.db[ATTEMPTS].find({"notification_id": nid}, {"event": 0})]
            out[nid] = sorted(found, key=lambda a: a.number)
        return out

    def record_attempt(self, attempt: Attempt, event: Event) -> bool:
        """Append an attempt once, with its pending `notification.*` event."""
        return self.record_attempts([(attempt, event)]) == 1

    def record_attempts(self, attempts: Sequence[tuple[Attempt, Event]]) -> int:
        """Append attempts once each, with their pending events, in one round trip."""
        return insert_many_once(
            self.db[ATTEMPTS], [{"_id": a.id, **asdict(a), **pending_document(e)} for a, e in attempts]
        )

    def claim(self, claim: Claim) -> bool:
        """Hold attempt `claim.id` for `claim.holder`; True when it holds it now.

        Inserts only (FerretDB updates have no isolation, so no update can serve as a lock): the claim is the
        document `<attempt id>`, inserted once. While its lease runs, every other sender is refused. Once it ran
        out, the next sender inserts `<attempt id>#t1` (then `#t2`, ...): whoever inserts a link holds the
        attempt, and a link is only inserted after the one before it expired, so one sender holds it at a time.
        A holder asking again (its own earlier pass) still holds it.
        """
        coll = self.db[CLAIMS]
        for k in range(MAX_TAKEOVERS):
            link = takeover_id(claim.id, k)
            if insert_once(coll, {**asdict(claim), "_id": link, "takeover": k}):
                return True
            held = coll.find_one({"_id": link})
            if held is None:  # removed by hand meanwhile: try the same link again next pass
                return False
            if held["holder"] == claim.holder:
                if coll.find_one({"_id": takeover_id(claim.id, k + 1)}, {"_id": 1}) is None:
                    return True
            elif held["lease_until"] > claim.at:
                return False
        return False

    def apply(self, notification_id: str, outcome: Outcome) -> None:
        """Write the state after an attempt (the sender is the only writer of a sendable notification); a
        delivery also stamps `delivered_day`, the bucket its attempt log is trimmed by (`MongoAttemptLogStore`)."""
        change = asdict(outcome)
        if outcome.delivered_at is not None:
            change["delivered_day"] = day_bucket(outcome.delivered_at)
        self.db[NOTIFICATIONS].update_one({"_id": notification_id}, {"$set": change})

    def record_resend(self, notification_id: str, attempts: int, *, by: str, at: datetime) -> bool:
        """Record a re-send of a dead notification once per dead spell (`<id>#resend<attempts>`)."""
        doc = {"_id": f"{notification_id}#resend{attempts}", "notification_id": notification_id, "by": by, "at": at}
        return insert_once(self.db[RESENDS], doc)

    def reopen(self, notification_id: str, *, at: datetime) -> None:
        """A dead notification becomes pending again, due at `at`; its attempts and Message-ID are kept (by `_id`
        only: any other field in the filter makes FerretDB scan the collection)."""
        self.db[NOTIFICATIONS].update_one(
            {"_id": notification_id}, {"$set": {"status": PENDING, "next_attempt_at": at}}
        )

    def events(self, *, after: str | None, limit: int) -> list[dict[str, Any]]:
        """The `notification.*` events the relay has published."""
        return read_events(self.db, after=after, limit=limit)


class MongoAttemptLogStore:
    """The attempt logs of delivered notifications, by the day of their delivery (wall clock), as
    `shared.retention.DayPruner` trims them (`handlers.trim_attempt_logs`).

    Trimming a notification keeps its ledger document (who, what, channel, status, number of attempts, when it
    was delivered), its bodies and its last `kept` attempts (the delivery itself by default), and deletes the
    earlier attempts whose event the relay has published (the `events` log keeps every event) and its senders'
    claims, which nothing reads once it is delivered. Each notification costs two deletes by equality on
    `notification_id` (indexed; FerretDB pushes the equality down, where an `_id $in` list would scan).
    """

    def __init__(self, db: Any, *, kept: int) -> None:
        self.db = db
        self.kept = kept

    def earliest_day(self) -> date | None:
        """The oldest delivery day (one sorted read, a scan on FerretDB: only while no mark is stored)."""
        return earliest_day(self.db[NOTIFICATIONS], "delivered_day")

    def pruned_from(self) -> date | None:
        """The first delivery day not trimmed yet."""
        return read_day(self.db[STATE], "attempts_trimmed")

    def set_pruned_from(self, day: date) -> None:
        """Store the mark."""
        write_day(self.db[STATE], "attempts_trimmed", day)

    def prune_day(self, day: date, after: str | None, limit: int) -> str | None:
        """Trim up to `limit` notifications delivered on `day`, in `_id` order after `after`; the last one trimmed,
        None once the day is done."""
        query: dict[str, Any] = {"delivered_day": day.isoformat()}
        if after is not None:
            query["_id"] = {"$gt": after}  # applied after the pushed-down equality, to that day's documents only
        docs = list(self.db[NOTIFICATIONS].find(query, {"attempts": 1}).sort("_id", ASCENDING).limit(limit))
        for doc in docs:
            last_trimmed = int(doc.get("attempts", 0)) - self.kept
            if last_trimmed >= 1:
                self.db[ATTEMPTS].delete_many(
                    {"notification_id": doc["_id"], "pending": False, "number": {"$lte": last_trimmed}}
                )
            self.db[CLAIMS].delete_many({"notification_id": doc["_id"]})
        return str(docs[-1]["_id"]) if len(docs) >= limit else None


class MongoContactStore:
    """Each version of a unit's staff list is a document `<agency>:<version>`, inserted once."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def ensure_indexes(self) -> None:
        """The latest-version lookup."""
        self.db[CONTACTS].create_index([("agency", ASCENDING), ("version", DESCENDING)])

    def add(self, agency: str, version: int, contacts: Sequence[Contact], received_at: datetime) -> bool:
        """Insert a version once."""
        doc = {
            "_id": f"{agency}:{version}",
            "agency": agency,
            "version": version,
            "contacts": [asdict(c) for c in contacts],
            "received_at": received_at,
        }
        return insert_once(self.db[CONTACTS], doc)

    def latest(self, agency: str) -> list[Contact] | None:
        """The people of the highest version, or None."""
        doc = next(iter(self.db[CONTACTS].find({"agency": agency}).sort("version", DESCENDING).limit(1)), None)
        return [Contact(**c) for c in doc["contacts"]] if doc else None


class MongoFactStore:
    """The obligation facts of the daily digest: one small document per event (`_id` = the event id), inserted
    once. The digest reads them all once a day (a scan on FerretDB: 116 a year for the 2019 plan)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def add(self, fact: Fact) -> bool:
        """Insert once."""
        return insert_once(self.db[FACTS], {"_id": fact.event_id, **asdict(fact)})

    def all(self) -> list[Fact]:
        """Every fact."""
        return [Fact(**{k: v for k, v in d.items() if k in _FACT_FIELDS}) for d in self.db[FACTS].find({})]


class MongoInboxStore:
    """Read marks of inbox items: `_id` = the notification id, inserted once (the first read stands), `by` the
    person who read it (whose item it is: `handlers.mark_read` marks only the caller's own)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def ensure_indexes(self) -> None:
        """The index of a person's read marks (the unread count)."""
        self.db[READS].create_index([("by", ASCENDING)])

    def mark_read(self, notification_id: str, *, by: str, at: datetime) -> bool:
        """Insert once."""
        return insert_once(self.db[READS], {"_id": notification_id, "by": by, "at": at})

    def first_read(self, notification_id: str) -> datetime | None:
        """When the item was first read (one `_id` read), or None."""
        doc = self.db[READS].find_one({"_id": notification_id})
        return doc["at"] if doc else None

    def read_at(self, notification_ids: Sequence[str]) -> dict[str, datetime]:
        """First-read instants by id, of the items read so far: one `_id` read each (a page of the inbox at most;
        FerretDB passes `_id` equality down, where `$in` would scan every read mark)."""
        found = {nid: self.first_read(nid) for nid in notification_ids}
        return {nid: at for nid, at in found.items() if at is not None}

    def read_by(self, person: str) -> int:
        """How many items `person` has read (one count by equality on `by`)."""
        return count_equal(self.db[READS], {"by": person})
