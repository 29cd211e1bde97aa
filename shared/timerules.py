"""The pure time rules of the plan: local deadlines, the on-time verdict, working days, days overdue.

Business instants are aware datetimes in UTC; dates are local dates in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock(Protocol):
    """Anything that tells business time (shared.clock has the system and the simulated clock)."""

    def now(self) -> datetime:
        """The current business instant (aware, UTC)."""
        ...


@dataclass(frozen=True)
class Deadline:
    """One generation's deadline: in force from `effective_from` (None = from the start), late at `due_before`."""

    generation: int
    due_before: datetime
    effective_from: datetime | None = None


def local_midnight(day: date) -> datetime:
    """The UTC instant of local midnight at the start of `day`."""
    return datetime.combine(day, time(0, 0), tzinfo=LOCAL_TZ).astimezone(UTC)


def due_before_for_deadline_day(day: date) -> datetime:
    """A deadline "on D" is late from local midnight at the start of D+1."""
    return local_midnight(day + timedelta(days=1))


def deadline_day(due_before: datetime) -> date:
    """The deadline day D of a `due_before` instant: the local day before it."""
    return local_date(due_before) - timedelta(days=1)


def local_date(instant: datetime) -> date:
    """The local calendar date of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: business instants must be timezone-aware")
    return instant.astimezone(LOCAL_TZ).date()


def deadline_in_force(received_at: datetime, deadlines: Sequence[Deadline]) -> Deadline:
    """The generation in force at `received_at`: the latest one that took effect at or before it."""
    if not deadlines:
        raise ValueError("an obligation has at least one deadline")
    ordered = sorted(deadlines, key=lambda d: d.generation)
    in_force = ordered[0]
    for candidate in ordered[1:]:
        if candidate.effective_from is None or candidate.effective_from <= received_at:
            in_force = candidate
    return in_force


def is_on_time(received_at: datetime, deadlines: Sequence[Deadline]) -> bool:
    """A report is on time when received before `due_before` of the generation in force at `received_at`."""
    if received_at.tzinfo is None:
        raise ValueError("naive datetime: received_at must be timezone-aware")
    return received_at < deadline_in_force(received_at, deadlines).due_before


def days_late(received_at: datetime, due_before: datetime) -> int:
    """Days between the deadline day and the local date of `received_at` (0 when on time)."""
    if received_at < due_before:
        return 0
    return (local_date(received_at) - deadline_day(due_before)).days


def days_overdue(today: date, due_before: datetime) -> int:
    """Today's local date minus the deadline day D (never negative)."""
    return max(0, (today - deadline_day(due_before)).days)


class WorkingDayCalendar(Protocol):
    """Anything that tells working days (shared.workdays.WorkingDays: the days off and make-up working days)."""

    def is_working_day(self, day: date) -> bool:
        """True when state bodies work on `day`."""
        ...


@dataclass(frozen=True)
class DaysOff:
    """The plain calendar of a bare list of days off: Monday to Friday, minus those days (no make-up days)."""

    days: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday and not one of the days off."""
        return day.weekday() < 5 and day not in self.days


def working_calendar(calendar: WorkingDayCalendar | Iterable[date]) -> WorkingDayCalendar:
    """A working-day calendar as given, or the plain one of a list of days off (a plan's `holidays`)."""
    # Duck-typed: a runtime-checkable Protocol's isinstance costs ~10 µs, and the pass asks per obligation.
    if hasattr(calendar, "is_working_day"):
        return cast(WorkingDayCalendar, calendar)
    return DaysOff(frozenset(calendar))


def is_working_day(day: date, calendar: WorkingDayCalendar | Iterable[date]) -> bool:
    """Whether `day` is a working day by the calendar (a plan's `working_days`), or Monday to Friday minus a
    list of days off."""
    return working_calendar(calendar).is_working_day(day)


def previous_working_day(day: date, calendar: WorkingDayCalendar | Iterable[date]) -> date:
    """`day` itself if it is a working day, else the closest working day before it."""
    cal = working_calendar(calendar)
    while not cal.is_working_day(day):
        day -= timedelta(days=1)
    return day


def next_working_day(day: date, calendar: WorkingDayCalendar | Iterable[date]) -> date:
    """`day` itself if it is a working day, else the closest working day after it."""
    cal = working_calendar(calendar)
    while not cal.is_working_day(day):
        day += timedelta(days=1)
    return day


def at_local(day: date, hh: int, mm: int = 0) -> datetime:
    """The UTC instant of `hh:mm` local time on `day`."""
    return datetime.combine(day, time(hh, mm), tzinfo=LOCAL_TZ).astimezone(UTC)


def local_iso(instant: datetime | None) -> str | None:
    """An instant as shown to people and in APIs: ISO 8601 in Asia/Ho_Chi_Minh, with its offset."""
    return instant.astimezone(LOCAL_TZ).isoformat() if instant else None


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant that carries its offset; naive text is refused."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("instant without a UTC offset")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Rung:
    """One level of the F7 ladder for one generation: what fires, as which event type, and when."""

    level: str
    event: str
    at: datetime


def ladder(
    deadline: date,
    policy: Iterable[dict[str, Any]],
    calendar: WorkingDayCalendar | Iterable[date],
    local_time: str = "08:00",
) -> list[Rung]:
    """The ladder of a deadline day D: each level at `local_time` on D + offset, moved to the previous working
    day (reminders) or the next one (overdue, escalations) when that day is not a working day (a weekend not
    made up, a day off). `calendar` is the plan's `working_days`, or a bare list of days off."""
    cal = working_calendar(calendar)
    hh, mm = (int(x) for x in local_time.split(":"))
    rungs = []
    for lv in policy:
        day = deadline + timedelta(days=int(lv["offset_days"]))
        day = previous_working_day(day, cal) if lv["shift"] == "previous" else next_working_day(day, cal)
        rungs.append(Rung(lv["level"], lv["event"], at_local(day, hh, mm)))
    return sorted(rungs, key=lambda r: r.at)
