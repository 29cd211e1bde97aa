"""Working days of Vietnamese state bodies: Monday to Friday, minus the official days off, plus the make-up
working Saturdays (ngày làm bù), year by year.

The official days are data, not a formula: each year the Prime Minister decides the Tết days, the day beside 2/9
and the swaps (hoán đổi ngày làm việc), and the ministry publishes them. `data/holidays_vn.csv` keeps them, one
row per day off (`off`, weekends inside a holiday range included) or make-up working day (`makeup`), with its
Vietnamese name, its source document, whether it is confirmed, and a note. Its `year` column is the year of the
schedule a row belongs to (31/12/2018 belongs to the Tết Dương lịch 2019 swap): the years it names are the
documented years. The table comes from `shared/domain/holidays_vn.md` (research of 2026-12-03) for 2019-2026.

A year the table does not document is estimated by the `holidays` library (country VN: Tết and Giỗ Tổ by the
Vietnamese lunar calendar, nghỉ bù, the library's known swaps) and every such day is unconfirmed; the table's
rows still win on their dates. A plan may add days off of its own (its `holidays` list).

Decisions on the research's open points ([?]), written in the rows' source or note too:
- Tết 2020 (23/01-29/01), 2021 (10/02-16/02) and 2023 (20/01-26/01): the notice's number was not seen, the
  ranges were read on official or press pages; kept as confirmed, and the source says the number is missing.
- 30/4 2025: 02/05 (Friday) off, made up on Saturday 26/04, as the `holidays` library has it (it cites the
  ministry's notices); the document (probably CV 8726/VPCP-KGVX) is not verified: confirmed, with a note.
- Quốc khánh 2026: 29/08-02/09 with 31/08 swapped for Saturday 22/08 is only partly verified (the library and a
  proposal-stage news item): applied, but the two swap rows are unconfirmed until Sở Nội vụ confirms them.
- Ngày Văn hóa Việt Nam, 24/11/2026: NQ 80-NQ/TW names it a paid day off, the Labour Code amendment was not
  seen: applied as a day off (the research's default), unconfirmed.
An unconfirmed row still counts for the ladder (the product's best knowledge); it is shown as such by
`unconfirmed_days` until someone edits the row's `confirmed` to `yes`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from shared.formatting import nfc, vn_date, vn_weekday

TABLE_FILE = Path(__file__).resolve().parent / "data" / "holidays_vn.csv"
KINDS = ("off", "makeup")
COLUMNS = ("year", "date", "kind", "name", "source", "confirmed", "note")
PLAN_DAY_OFF = "Ngày nghỉ theo kế hoạch"


@dataclass(frozen=True)
class CalendarDay:
    """A day that departs from Monday-Friday: a day off (`off`) or a make-up working day (`makeup`)."""

    day: date
    kind: str
    name: str
    source: str
    confirmed: bool
    year: int  # the year of the schedule the day belongs to (31/12/2018: 2019)
    note: str = ""

    @property
    def working(self) -> bool:
        """True for a make-up working day."""
        return self.kind == "makeup"


def load_table(path: Path = TABLE_FILE) -> tuple[CalendarDay, ...]:
    """Read and check the table: known kinds, one row per date, a source on every row, make-up days on weekends."""
    out: list[CalendarDay] = []
    seen: dict[date, int] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path.name}: columns {reader.fieldnames}, expected {list(COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            where = f"{path.name} line {line}"
            day = date.fromisoformat(row["date"])
            if row["kind"] not in KINDS:
                raise ValueError(f"{where}: kind {row['kind']!r} is not one of {KINDS}")
            if day in seen:
                raise ValueError(f"{where}: {day} is already on line {seen[day]}")
            if not row["source"].strip() or not row["name"].strip():
                raise ValueError(f"{where}: a row needs a name and a source")
            if row["confirmed"] not in ("yes", "no"):
                raise ValueError(f"{where}: confirmed is 'yes' or 'no'")
            if row["kind"] == "makeup" and day.weekday() < 5:
                raise ValueError(f"{where}: a make-up working day is a weekend day, {day} is not")
            seen[day] = line
            out.append(
                CalendarDay(
                    day=day,
                    kind=row["kind"],
                    name=nfc(row["name"].strip()),
                    source=nfc(row["source"].strip()),
                    confirmed=row["confirmed"] == "yes",
                    note=nfc((row["note"] or "").strip()),
                    year=int(row["year"]),
                )
            )
    return tuple(sorted(out, key=lambda d: d.day))


def _library_swaps(year: int) -> list[tuple[date, date]]:
    """The `holidays` library's swaps recorded under `year`: (weekday off, the Saturday that makes it up)."""
    from holidays.countries.vietnam import VietnamStaticHolidays

    # {year: (month, day, made-up month, made-up day[, made-up year]) or a tuple of such tuples}; untyped there.
    entries: Any = VietnamStaticHolidays.special_public_holidays.get(year, ())
    if entries and not isinstance(entries[0], tuple):
        entries = (entries,)
    out = []
    for entry in entries:
        month, day, made_up_month, made_up_day, *made_up_year = (int(x) for x in entry)
        out.append(
            (date(year, month, day), date(made_up_year[0] if made_up_year else year, made_up_month, made_up_day))
        )
    return out


def estimated_days(year: int) -> tuple[CalendarDay, ...]:
    """The days off and make-up Saturdays of `year` as the `holidays` library computes them (all unconfirmed).

    Make-up Saturdays come from the library's table of swaps (`special_public_holidays`), the only place it
    keeps them; a swap recorded under one year may be made up in the year before or after.
    """
    # Imported here: only years beyond the table need the library, and most processes never ask for one.
    import holidays

    source = f"Thư viện holidays {version('holidays')} (dự tính theo âm lịch), chưa có văn bản"
    out = [
        CalendarDay(day, "off", nfc(str(name).strip()), source, confirmed=False, year=year)
        for day, name in holidays.country_holidays("VN", years=year, language="vi").items()
        if day.year == year
    ]
    for off, makeup in (swap for near in (year - 1, year, year + 1) for swap in _library_swaps(near)):
        if makeup.year == year:
            name = f"Làm bù cho {vn_weekday(off)} {vn_date(off)}"
            out.append(CalendarDay(makeup, "makeup", name, source, confirmed=False, year=year))
    return tuple(out)


@dataclass(frozen=True)
class _Year:
    days: tuple[CalendarDay, ...]
    off: frozenset[date]
    makeup: frozenset[date]


class WorkingDays:
    """The working-day calendar: Monday to Friday, minus the days off, plus the make-up working days.

    Documented years come from the table alone; other years from `estimate` (the `holidays` library), with the
    table's rows winning on their dates; a plan's own days off come last and win over anything but a confirmed
    day off, which keeps its document. Years are computed once, on first use.
    """

    def __init__(
        self,
        table: Iterable[CalendarDay],
        *,
        plan_days: Iterable[CalendarDay] = (),
        estimate: Callable[[int], Iterable[CalendarDay]] = estimated_days,
    ) -> None:
        self._table = tuple(table)
        self._plan_days = tuple(plan_days)
        self._estimate = estimate
        self.documented_years = frozenset(d.year for d in self._table)
        self._years: dict[int, _Year] = {}

    def with_days_off(self, days: Iterable[date], *, source: str) -> WorkingDays:
        """This calendar plus a plan's own days off (named "Ngày nghỉ theo kế hoạch", `source` the plan's title)."""
        extra = tuple(CalendarDay(d, "off", PLAN_DAY_OFF, source, confirmed=True, year=d.year) for d in sorted(days))
        return WorkingDays(self._table, plan_days=self._plan_days + extra, estimate=self._estimate)

    def _year(self, year: int) -> _Year:
        found = self._years.get(year)
        if found is None:
            by_day: dict[date, CalendarDay] = {}
            if year not in self.documented_years:
                by_day.update((d.day, d) for d in self._estimate(year) if d.day.year == year)
            by_day.update((d.day, d) for d in self._table if d.day.year == year)
            for d in self._plan_days:
                kept = by_day.get(d.day)
                if d.day.year == year and (kept is None or kept.working or not kept.confirmed):
                    by_day[d.day] = d
            days = tuple(sorted(by_day.values(), key=lambda d: d.day))
            found = _Year(
                days=days,
                off=frozenset(d.day for d in days if not d.working),
                makeup=frozenset(d.day for d in days if d.working),
            )
            self._years[year] = found
        return found

    def is_working_day(self, day: date) -> bool:
        """A make-up day, or Monday to Friday and not a day off."""
        year = self._year(day.year)
        if day in year.makeup:
            return True
        return day.weekday() < 5 and day not in year.off

    def days(self, year: int) -> tuple[CalendarDay, ...]:
        """Every day off and make-up day of `year` (by date), as the plan's page lists them."""
        return self._year(year).days

    def days_off(self, year: int) -> frozenset[date]:
        """The days off of `year`, weekends inside holiday ranges included."""
        return self._year(year).off

    def makeup_days(self, year: int) -> frozenset[date]:
        """The make-up working days of `year`."""
        return self._year(year).makeup

    def unconfirmed_days(self, year: int) -> tuple[CalendarDay, ...]:
        """The days of `year` that no confirmed document backs yet: estimated by the library, or flagged in the
        table; the plan's page shows them until Sở Nội vụ confirms them."""
        return tuple(d for d in self._year(year).days if not d.confirmed)

    def is_confirmed(self, year: int) -> bool:
        """True when the table documents `year` and every one of its days is confirmed."""
        return year in self.documented_years and not self.unconfirmed_days(year)


@cache
def vietnam_working_days() -> WorkingDays:
    """The national calendar of state bodies: the product's table, the library beyond it (read once)."""
    return WorkingDays(load_table())
