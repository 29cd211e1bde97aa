"""Scheduler's stores: obligations, their transition log (the outbox) and the pass state, on MongoDB."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING

from services.scheduler.domain import Obligation, Transition, hold_event_id
from shared.events import Event, ObligationExtensionRequested
from shared.outbox import ensure_indexes, pending_document, read_events
from shared.paging import Page, PageRequest
from shared.plan_follower import PLAN_VERSIONS
from shared.plan_versions import (
    PlanVersion,
    UnitListDraft,
    draft_document,
    draft_from_document,
    version_document,
    version_from_document,
    version_id,
)
from shared.retention import day_bucket
from shared.store import delete_batch, earliest_day, insert_many_once, insert_once, read_day, read_page, write_day
from shared.timerules import parse_instant

OBLIGATIONS = "obligations"
OUTBOX = "outbox"
STATE = "state"
AGENDA = "agenda"
IN_LIMIT = 500  # above this many keys one read of the collection beats `$in`, which FerretDB tests per document
# The pass's window (processed_up_to, now] is read by equality on the agenda's buckets, which FerretDB passes down
# to PostgreSQL: minute by minute up to MINUTE_WINDOW (a tick of the live clock reads one or two minutes), day by
# day up to DAY_WINDOW (a simulated clock stepped by days), and by the range on `at` beyond (a jump of months: one
# read of the whole agenda, cheaper than that many buckets).
MINUTE_WINDOW = timedelta(minutes=30)
DAY_WINDOW = timedelta(days=62)
BUCKETED = "#bucketed"  # the `_id` suffix of an entry `backfill_agenda` copied with its buckets


def minute_bucket(at: datetime) -> str:
    """The agenda's minute bucket of an instant: its UTC minute, ISO text (`2019-06-10T01:00`)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _buckets(after: datetime, now: datetime, step: timedelta, bucket: Any) -> list[str]:
    """The buckets from `after`'s to `now`'s, each once, in order."""
    out: list[str] = []
    at = after
    while at < now + step:
        name = bucket(min(at, now))
        if not out or out[-1] != name:
            out.append(name)
        at += step
    return out


def _ob_doc(ob: Obligation) -> dict[str, Any]:
    return {
        "_id": ob.key,
        "agency": ob.agency,
        "period": ob.period,
        "unit_name": ob.unit_name,
        "unit_order": ob.unit_order,
        "unit_types": list(ob.unit_types),
        "due_before": ob.due_before,
        "deadline_day": ob.deadline_day.isoformat(),
        "data_window": [d.isoformat() for d in ob.data_window] if ob.data_window else None,
        "policy": list(ob.policy),
    }


def _agenda_doc(key: str, at: datetime) -> dict[str, Any]:
    """An agenda entry: the obligation's key, the instant, and its buckets (`minute` for the pass's reads, `day`
    for those and for pruning)."""
    return {"_id": f"{key}@{at.isoformat()}", "key": key, "at": at, "day": day_bucket(at), "minute": minute_bucket(at)}


def _ob(doc: dict[str, Any]) -> Obligation:
    window = doc.get("data_window")
    return Obligation(
        agency=doc["agency"],
        period=doc["period"],
        unit_name=doc["unit_name"],
        unit_order=doc.get("unit_order"),
        unit_types=tuple(doc.get("unit_types", ())),
        due_before=doc["due_before"],
        deadline_day=date.fromisoformat(doc["deadline_day"]),
        data_window=(date.fromisoformat(window[0]), date.fromisoformat(window[1])) if window else None,
        policy=tuple(doc.get("policy", ())),
    )


def _transition(doc: dict[str, Any]) -> Transition:
    ev = doc["event"]
    return Transition(
        id=ev["id"],
        type=ev["type"],
        subject_version=int(ev["subject_version"]),
        occurred_at=parse_instant(ev["occurred_at"]),
        data=ev["data"],
    )


class MongoObligationStore:
    """Obligation documents are written once; every change is a new outbox document with a unique id."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def ensure_indexes(self) -> None:
        """Indexes for the equality filters (MongoDB uses them; FerretDB on PostgreSQL pushes equality down)."""
        self.db[OBLIGATIONS].create_index([("period", ASCENDING), ("agency", ASCENDING)])
        self.db[OUTBOX].create_index([("event.subject", ASCENDING)])
        self.db[OUTBOX].create_index([("event.data.request_id", ASCENDING)])
        self.db[OUTBOX].create_index([("event.type", ASCENDING)])
        self.db[AGENDA].create_index([("at", ASCENDING)])
        self.db[AGENDA].create_index([("day", ASCENDING)])
        self.db[AGENDA].create_index([("minute", ASCENDING)])
        ensure_indexes(self.db, [OUTBOX])

    def create(self, ob: Obligation, event: Event) -> bool:
        """Insert one obligation with its agenda entry and created event (see `create_many`)."""
        return self.create_many([(ob, event)]) == 1

    def create_many(self, items: list[tuple[Obligation, Event]]) -> int:
        """Insert obligations, their agenda entries and created events, each once; return how many obligations
        are new. A crash between the inserts is repaired by the next sync, which inserts what is missing."""
        if not items:
            return 0
        created = insert_many_once(self.db[OBLIGATIONS], [_ob_doc(ob) for ob, _ in items])
        self.appoint([(ob.key, ev.occurred_at) for ob, ev in items])
        self.record_many([ev for _, ev in items])
        return created

    def record(self, event: Event) -> bool:
        """Append a transition event to the outbox; its id makes it happen once."""
        return insert_once(self.db[OUTBOX], {"_id": event.id, **pending_document(event)})

    def record_many(self, events: list[Event]) -> int:
        """Append transition events in one round trip; each id happens once; return how many were new."""
        return insert_many_once(self.db[OUTBOX], [{"_id": ev.id, **pending_document(ev)} for ev in events])

    def get(self, agency: str, period: str) -> Obligation | None:
        """One obligation by its `_id`."""
        doc = self.db[OBLIGATIONS].find_one({"_id": f"{agency}:{period}"})
        return _ob(doc) if doc else None

    def obligation_of_request(self, request_id: str) -> Obligation | None:
        """The obligation an extension request was made for: its request event found by equality, then `_id`."""
        query = {"event.data.request_id": request_id, "event.type": "obligation.extension_requested"}
        doc = self.db[OUTBOX].find_one(query, {"event": 1})
        return self.get(doc["event"]["data"]["agency"], doc["event"]["data"]["period"]) if doc else None

    def all(self) -> list[Obligation]:
        """Every obligation."""
        return [_ob(d) for d in self.db[OBLIGATIONS].find({})]

    def page(self, *, period: str | None, agency: str | None, asked: PageRequest) -> Page[Obligation]:
        """A page of the obligations of a period or a unit (equality), in `_id` (`<agency>:<period>`) order."""
        query = {k: v for k, v in (("period", period), ("agency", agency)) if v}
        found = read_page(self.db[OBLIGATIONS], query, asked)
        return Page([_ob(d) for d in found.items], found.next)

    def requests_page(self, *, agency: str | None, asked: PageRequest) -> Page[Transition]:
        """A page of the `obligation.extension_requested` transitions (of one unit's obligations when `agency`
        is given), by the equality on the event's type, in `_id` (event id) order."""
        query: dict[str, Any] = {"event.type": ObligationExtensionRequested.TYPE}
        if agency:
            query["event.data.agency"] = agency
        found = read_page(self.db[OUTBOX], query, asked, projection={"event": 1})
        return Page([_transition(d) for d in found.items], found.next)

    def transitions(self, ob: Obligation) -> list[Transition]:
        """The transitions of one obligation."""
        return [_transition(d) for d in self.db[OUTBOX].find({"event.subject": ob.subject}, {"event": 1})]

    def all_transitions(self) -> dict[str, list[Transition]]:
        """Every obligation's transitions, by obligation key (`<agency>:<period>`)."""
        out: dict[str, list[Transition]] = {}
        for doc in self.db[OUTBOX].find({"event.subject": {"$regex": "^obligation:"}}, {"event": 1}):
            key = doc["event"]["subject"].split(":", 1)[1]
            out.setdefault(key, []).append(_transition(doc))
        return out

    def get_many(self, keys: list[str]) -> dict[str, Obligation]:
        """Obligations by key (`<agency>:<period>`): one `$in` query, or one read of all when many are asked."""
        if len(keys) > IN_LIMIT:
            wanted = set(keys)
            return {d["_id"]: _ob(d) for d in self.db[OBLIGATIONS].find({}) if d["_id"] in wanted}
        return {d["_id"]: _ob(d) for d in self.db[OBLIGATIONS].find({"_id": {"$in": keys}})} if keys else {}

    def transitions_of(self, keys: list[str]) -> dict[str, list[Transition]]:
        """The transitions of the given obligations, by obligation key (every key present), in one query."""
        out: dict[str, list[Transition]] = {key: [] for key in keys}
        if not keys:
            return out
        if len(keys) > IN_LIMIT:
            query: dict[str, Any] = {"event.subject": {"$regex": "^obligation:"}}
        else:
            query = {"event.subject": {"$in": [f"obligation:{key}" for key in keys]}}
        for doc in self.db[OUTBOX].find(query, {"event": 1}):
            key = doc["event"]["subject"].split(":", 1)[1]
            if key in out:
                out[key].append(_transition(doc))
        return out

    def appoint(self, appointments: list[tuple[str, datetime]]) -> None:
        """Ask the pass to look at obligations at given instants: insert-only agenda entries, one per
        (obligation, instant), so replicas that plan the same next action write it once and nothing is
        ever updated in place (a FerretDB update is a read-modify-write by `_id`, tens of ms each). `day` is the
        entry's bucket for pruning (`MongoAgendaStore`)."""
        insert_many_once(self.db[AGENDA], [_agenda_doc(key, at) for key, at in appointments])

    def due(self, after: datetime | None, now: datetime) -> list[str]:
        """Obligations with an agenda entry in (after, now]: the pass's candidates, each once.

        Entries are tiny (`_id`, `key`, `at`): MongoDB answers from the `at` index; FerretDB scans them, since it
        pushes no range down to PostgreSQL (measured in bench/scheduler_pass.py).
        """
        window: dict[str, Any] = {"$lte": now} if after is None else {"$gt": after, "$lte": now}
        if after is None or now - after > DAY_WINDOW:
            queries = [{"at": window}]
        elif now - after <= MINUTE_WINDOW:
            queries = [{"minute": m, "at": window} for m in _buckets(after, now, timedelta(minutes=1), minute_bucket)]
        else:
            queries = [{"day": d, "at": window} for d in _buckets(after, now, timedelta(days=1), day_bucket)]
        return sorted({d["key"] for query in queries for d in self.db[AGENDA].find(query, {"key": 1})})

    def backfill_agenda(self, after: datetime | None) -> int:
        """Give the entries written before the buckets existed (no `minute`) and still ahead of the pass (`at`
        after `after`) a bucketed copy, so the bucketed reads of `due` see them; return how many were copied.

        Run once per process start before the first pass: one scan of the entries without `minute` (none after
        the first start of this release). Insert-only, like every agenda write: a copy has its own `_id`, and the
        old entry, read only by the range of a long window, is pruned with its day (or stays if it has none)."""
        query: dict[str, Any] = {"minute": {"$exists": False}}
        if after is not None:
            query["at"] = {"$gt": after}
        docs = [
            {**_agenda_doc(d["key"], d["at"]), "_id": f"{d['_id']}{BUCKETED}"}
            for d in self.db[AGENDA].find(query, {"key": 1, "at": 1})
        ]
        return insert_many_once(self.db[AGENDA], docs)

    def events(self, *, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Events the scheduler has published."""
        return read_events(self.db, after=after, limit=limit)


class MongoAgendaStore:
    """The agenda's day buckets, as `shared.retention.DayPruner` prunes them (`handlers.prune_agenda`): entries
    of a day are deleted by equality on `day`; the mark is the state document `agenda_pruned`, written by the
    pass loops (any replica; a mark written back late only makes a day looked at again)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def earliest_day(self) -> date | None:
        """The oldest bucket (one sorted read, a scan on FerretDB: only while no mark is stored)."""
        return earliest_day(self.db[AGENDA], "day")

    def pruned_from(self) -> date | None:
        """The first day not pruned yet."""
        return read_day(self.db[STATE], "agenda_pruned")

    def set_pruned_from(self, day: date) -> None:
        """Store the mark."""
        write_day(self.db[STATE], "agenda_pruned", day)

    def prune_day(self, day: date, after: str | None, limit: int) -> str | None:
        """Delete up to `limit` entries of `day`; the day is done once fewer were left (the cursor is the day)."""
        deleted = delete_batch(self.db[AGENDA], {"day": day.isoformat()}, limit)
        return day.isoformat() if deleted >= limit else None


class MongoPassStore:
    """The pass state document (`_id: "pass"`, written by the pass loops), the applied intake watermark
    (`_id: "watermark"`, written only by the scheduler's consumer: its queue has one active consumer) and the
    ladder's holds (events of the outbox, inserted once by their deterministic ids)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def processed_up_to(self) -> Any:
        """The business instant of the last finished pass."""
        doc = self.db[STATE].find_one({"_id": "pass"})
        return doc["processed_up_to"] if doc else None

    def set_processed_up_to(self, instant: Any) -> None:
        """Record a finished pass."""
        self.db[STATE].replace_one({"_id": "pass"}, {"_id": "pass", "processed_up_to": instant}, upsert=True)

    def watermark(self) -> datetime | None:
        """The intake watermark the scheduler has applied (every report accepted before it is fulfilled)."""
        doc = self.db[STATE].find_one({"_id": "watermark"})
        return doc["received_before"] if doc else None

    def apply_watermark(self, received_before: datetime) -> bool:
        """Move the applied watermark forward (never back); False when it was already there. One writer: the
        scheduler's consumer, whose queue has a single active consumer, so the read-then-write cannot race."""
        current = self.watermark()
        if current is not None and received_before <= current:
            return False
        doc = {"_id": "watermark", "received_before": received_before}
        self.db[STATE].replace_one({"_id": "watermark"}, doc, upsert=True)
        return True

    def hold(self, start: int = 1) -> tuple[int, dict[str, Any] | None]:
        """The first hold number from `start` that has not resumed, with its `held` event data if one was sent.
        Read by `_id` only (two lookups per past hold, and callers pass the number they already know)."""
        number = start
        while True:
            held = self.db[OUTBOX].find_one({"_id": hold_event_id(number, "held")}, {"event": 1})
            if held is None:
                return number, None
            if self.db[OUTBOX].find_one({"_id": hold_event_id(number, "resumed")}, {"_id": 1}) is None:
                return number, held["event"]["data"]
            number += 1

    def record_hold(self, event: Event) -> bool:
        """Store a `scheduler.ladder_held`/`_resumed` event in the outbox, once by its id."""
        return insert_once(self.db[OUTBOX], {"_id": event.id, **pending_document(event)})


PLAN_IMPORTS = "plan_imports"


class MongoPlanVersionStore:
    """Published versions of a plan's unit list (`<plan>:v<number>`, inserted once, never changed) and the clean
    imports waiting to be published (`<plan>:<hash of the file>`, inserted once). A plan has a handful of
    versions: they are read whole, by equality on `plan`."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def ensure_indexes(self) -> None:
        """The equality on `plan` of `versions`."""
        self.db[PLAN_VERSIONS].create_index([("plan", ASCENDING)])

    def versions(self, plan: str) -> list[PlanVersion]:
        """Every published version of `plan`, oldest first."""
        docs = self.db[PLAN_VERSIONS].find({"plan": plan})
        return sorted((version_from_document(d) for d in docs), key=lambda v: v.number)

    def version(self, plan: str, number: int) -> PlanVersion | None:
        """One version by its number, or None."""
        doc = self.db[PLAN_VERSIONS].find_one({"_id": version_id(plan, number)})
        return version_from_document(doc) if doc else None

    def publish(self, version: PlanVersion) -> bool:
        """Insert the version once; False when that number was already taken (a concurrent publication)."""
        return insert_once(self.db[PLAN_VERSIONS], version_document(version))

    def save_import(self, draft: UnitListDraft) -> None:
        """Keep a clean import until it is published (the same file twice is one draft)."""
        insert_once(self.db[PLAN_IMPORTS], draft_document(draft))

    def draft(self, plan: str, draft_id: str) -> UnitListDraft | None:
        """A clean import by its id, or None."""
        doc = self.db[PLAN_IMPORTS].find_one({"_id": draft_id})
        return draft_from_document(doc) if doc and doc.get("plan") == plan else None

    def record(self, event: Event) -> bool:
        """Store a `plan.published` event in the scheduler's outbox, once by its id."""
        return insert_once(self.db[OUTBOX], {"_id": event.id, **pending_document(event)})
