"""Aggregator's stores on MongoDB: the board and the reports as one small document per (plan, period, unit), read
by `_id` or by the equality `{board: <plan>:<period>}`; the closings (inserted once) and the archive of issued
documents (inserted, never changed)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from pymongo import ASCENDING, DESCENDING

from services.aggregator.domain import board_key, closing_id, row_id
from shared.paging import Page, PageRequest
from shared.store import insert_once, read_page

COMPLIANCE = "compliance"
REPORTS = "reports"
CLOSINGS = "closings"
ARCHIVE = "archive"
BATCH = 1000  # rows per insert_many of a rebuild: well under MongoDB's 48 MB message


class MongoRowStore:
    """A period's rows, one document per unit (`_id` `<plan>:<period>:<unit>`, field `board` `<plan>:<period>`).

    An event folds into its unit's document only: read one by `_id`, replace it by `_id`. A document holds one
    unit's row, so its size does not grow with the province: about 400 bytes on the board, 30 kB for a full
    report, 400 kB for the longest report intake accepts (the old layout kept a period in one document: 2.6 MB at
    10,000 units, past MongoDB's 16 MB at a few thousand full reports, rewritten whole by every event).
    FerretDB runs a replace as read-change-write without isolation; one unit's events reach one writer (the
    aggregator's single active consumer), and two units never share a document, so nothing is lost between them.
    A page reads a period's rows with the equality filter `{board: ...}`, which FerretDB on PostgreSQL pushes down
    to SQL (indexed here, as MongoDB needs too).

    The five DHIS2 figures are counted from the rows' statuses when they are read (`domain.figures`), not kept in
    a summary document: counters updated with `$inc` would be read-change-write on FerretDB too (two consumers
    lose increments) and, without a transaction, a redelivery after a crash between a row's write and its `$inc`
    cannot tell whether it counted. The board page and the compliance API list every row anyway (the API has no
    pagination), so counting them costs nothing more than the read they already make; a separate count with a
    projection would cost that read again (FerretDB projects after fetching each document); the API pages the
    rows (`page`, by `_id` after the last shown) and counts the figures from the statuses alone. Measured 03/12/2026
    (bench/compliance_query.py, FerretDB v1.24.2 on PostgreSQL, load average 8): 10,000 rows by `{board: ...}`
    in 3.1 s at p50, the counting and the rest of the view 0.3 s.
    """

    collection = ""

    def __init__(self, db: Any) -> None:
        self.db = db

    def ensure_indexes(self) -> None:
        """The equality field of a period's rows."""
        self.db[self.collection].create_index("board")

    def get(self, plan_id: str, period: str, agency: str) -> dict[str, Any] | None:
        """One unit's row of a period."""
        return self.db[self.collection].find_one({"_id": row_id(plan_id, period, agency)})

    def put(self, row: dict[str, Any]) -> None:
        """Replace one unit's row."""
        self.db[self.collection].replace_one({"_id": row["_id"]}, row, upsert=True)

    def rows(self, plan_id: str, period: str, fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Every row of a period (with `fields` and `agency` only, when given), in no particular order."""
        projection = dict.fromkeys(["agency", *fields], 1) if fields is not None else None
        return list(self.db[self.collection].find({"board": board_key(plan_id, period)}, projection))

    def page(self, plan_id: str, period: str, asked: PageRequest) -> Page[dict[str, Any]]:
        """A page of a period's rows by the equality `{board: ...}`, in `_id` (unit code) order."""
        return read_page(self.db[self.collection], {"board": board_key(plan_id, period)}, asked)

    def clear(self) -> None:
        """Drop every row (before a rebuild)."""
        self.db[self.collection].delete_many({})

    def put_many(self, rows: Iterable[dict[str, Any]]) -> None:
        """Insert rows after `clear` (a rebuild), in batches."""
        it = iter(rows)
        while batch := list(islice(it, BATCH)):
            self.db[self.collection].insert_many(batch, ordered=False)


class MongoBoardStore(MongoRowStore):
    """The compliance board: each unit's status, deadline in force, receipt and level, with their version guards."""

    collection = COMPLIANCE


class MongoReportsStore(MongoRowStore):
    """The reports read model: each unit's latest revision (its content) and the revisions received after closing."""

    collection = REPORTS


class MongoClosingStore:
    """A period's closing (chốt số liệu): one document, inserted once."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def close(self, plan_id: str, period: str, closing: dict[str, Any]) -> bool:
        """Insert the closing once; False if the period was already closed."""
        return insert_once(self.db[CLOSINGS], {"_id": closing_id(plan_id, period), **closing})

    def get(self, plan_id: str, period: str) -> dict[str, Any] | None:
        """The closing of a period, or None while it is open."""
        return self.db[CLOSINGS].find_one({"_id": closing_id(plan_id, period)})


class MongoArchive:
    """Every issued document, its bytes and the data it was made from, inserted once and never changed."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def ensure_indexes(self) -> None:
        """The list by plan and period, newest first."""
        self.db[ARCHIVE].create_index([("plan", ASCENDING), ("period", DESCENDING), ("issued_at", DESCENDING)])

    def add(self, record: dict[str, Any]) -> bool:
        """Insert a record (its `_id` is unique)."""
        return insert_once(self.db[ARCHIVE], record)

    def get(self, record_id: str) -> dict[str, Any] | None:
        """One record with its bytes."""
        return self.db[ARCHIVE].find_one({"_id": record_id})

    def latest(self, plan_id: str, period: str, kind: str) -> dict[str, Any] | None:
        """The record of `kind` last issued for a plan's period, with its bytes."""
        asked = {"plan": plan_id, "period": period, "kind": kind}
        return next(iter(self.db[ARCHIVE].find(asked).sort("issued_at", DESCENDING).limit(1)), None)

    def page(self, plan_id: str, period: str, asked: PageRequest) -> Page[dict[str, Any]]:
        """A page of a plan's period's records (by equality) without their bytes, newest first."""
        return read_page(self.db[ARCHIVE], {"plan": plan_id, "period": period}, asked, projection={"content": 0},
                         by="issued_at", newest_first=True)  # fmt: skip
