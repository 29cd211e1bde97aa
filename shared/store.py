"""Store access: the one way to build a MongoClient (tz-aware, short timeouts) and the errors meaning "store down".

Every service owns its own database (`Settings.db_name`); the simulated clock's database is the one
documented exception that every service reads (F14).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

import pymongo
from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, ExecutionTimeout, WriteConcernError

from shared.paging import Page, PageRequest
from shared.settings import Settings

STORE_ERRORS: tuple[type[Exception], ...] = (ConnectionFailure, ExecutionTimeout, WriteConcernError)

__all__ = [
    "STORE_ERRORS",
    "DuplicateKeyError",
    "bounded",
    "connect",
    "delete_batch",
    "earliest_day",
    "insert_many_once",
    "insert_once",
    "read_page",
    "read_day",
    "write_day",
]
DUPLICATE_KEY = 11000


def connect(settings: Settings, *, app_name: str = "dvcq") -> MongoClient[dict[str, Any]]:
    """A MongoClient for MONGO_URL: tz_aware, UTC, short server selection so a dead store fails fast.

    Create it in the process that uses it (a gunicorn worker, a consumer), never before a fork.
    """
    client: MongoClient[dict[str, Any]] = MongoClient(
        settings.mongo_url,
        tz_aware=True,
        serverSelectionTimeoutMS=2500,
        connectTimeoutMS=2500,
        socketTimeoutMS=15000,
        appname=f"{app_name}:{os.getpid()}",
    )
    client.created_in_pid = os.getpid()  # type: ignore[attr-defined]
    return client


def read_page(
    collection: Any,
    query: dict[str, Any],
    asked: PageRequest,
    *,
    projection: dict[str, Any] | None = None,
    by: str | None = None,
    newest_first: bool = False,
) -> Page[dict[str, Any]]:
    """One page of the documents matching the equality filter `query` (never empty: a list is always narrowed by
    an equality FerretDB pushes down), in `_id` order, or (`by`, `_id`) order when a time field `by` is given,
    descending with `newest_first`; `asked.after` is the last key shown (`_id`, or (`by`, `_id`)).

    One read of `limit + 1` documents, so `next` is None exactly when nothing follows.
    """
    if not query:
        raise ValueError("a page is read by an equality filter")
    after, where = asked.after, dict(query)
    before = "$lt" if newest_first else "$gt"
    if after is not None and by is None:
        where["_id"] = {before: after}
    elif after is not None:
        at, last = after
        where["$or"] = [{by: {before: at}}, {by: at, "_id": {before: last}}]
    order = DESCENDING if newest_first else ASCENDING
    sort = [(by, order), ("_id", order)] if by else [("_id", order)]
    docs = list(collection.find(where, projection).sort(sort).limit(asked.limit + 1))
    shown = docs[: asked.limit]
    if len(docs) <= asked.limit:
        return Page(shown)
    last_doc = shown[-1]
    return Page(shown, (last_doc[by], last_doc["_id"]) if by else last_doc["_id"])


def bounded(seconds: float) -> AbstractContextManager[None]:
    """Store operations in the block give up after `seconds` in all, server selection included (pymongo's
    client-side operation timeout), raising one of STORE_ERRORS: for a read a request can do without, so that a
    store that is down costs it a fraction of a second instead of the client's server-selection timeout."""
    return pymongo.timeout(seconds)


def insert_once(collection: Any, document: dict[str, Any]) -> bool:
    """Insert a document with a deterministic `_id`; False when it already exists (the "happens once" rule)."""
    try:
        collection.insert_one(document)
    except DuplicateKeyError:
        return False
    return True


def insert_many_once(collection: Any, documents: list[dict[str, Any]]) -> int:
    """Insert documents with deterministic `_id`s in one round trip; existing ones are left as they are (the
    "happens once" rule of `insert_once`, in bulk); return how many were inserted."""
    if not documents:
        return 0
    try:
        return len(collection.insert_many(documents, ordered=False).inserted_ids)
    except BulkWriteError as exc:
        if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", ())):
            raise
        return int(exc.details.get("nInserted", 0))


def count_equal(collection: Any, filters: dict[str, Any]) -> int:
    """How many documents match an equality filter (at least one field), by the `count` command: FerretDB v1 hands
    its filter to the backend's query as it does a find's (PostgreSQL's WHERE), where pymongo's `count_documents`
    is an aggregation ($match, $group). MongoDB answers both alike."""
    if not filters:
        raise ValueError("a count needs at least one equality: never the whole collection")
    reply = collection.database.command("count", collection.name, query=dict(filters))
    return int(reply["n"])


def delete_batch(collection: Any, query: dict[str, Any], limit: int) -> int:
    """Delete at most `limit` documents matching `query` (an equality filter, which FerretDB pushes down): their
    `_id`s are read first, then deleted by the same filter narrowed to them; return how many were deleted."""
    ids = [d["_id"] for d in collection.find(query, {"_id": 1}).limit(limit)]
    if not ids:
        return 0
    return int(collection.delete_many({**query, "_id": {"$in": ids}}).deleted_count)


def earliest_day(collection: Any, field: str) -> date | None:
    """The lowest ISO day held in `field` (a sorted read: a scan on FerretDB, for rare use), None when none is."""
    found = collection.find({field: {"$exists": True}}, {field: 1}).sort(field, 1).limit(1)
    doc = next(iter(found), None)
    return date.fromisoformat(doc[field]) if doc else None


def read_day(collection: Any, doc_id: str) -> date | None:
    """The day stored in the document `doc_id` (see `write_day`), or None."""
    doc = collection.find_one({"_id": doc_id})
    return date.fromisoformat(doc["day"]) if doc else None


def write_day(collection: Any, doc_id: str, day: date) -> None:
    """Store a day as the document `doc_id` (a mark such as the first day not pruned yet)."""
    collection.replace_one({"_id": doc_id}, {"_id": doc_id, "day": day.isoformat()}, upsert=True)
