"""Plans as data (F1): load a plan directory (plan.json + indicators.json) into plain, immutable objects.

A plan names its reporting units, its calendar of periods with `due_before` instants, its escalation
policy, holidays, recipients and the templates each unit must fill. A new province is a new file.
The calendar is stated as rules (`calendar_rules`, shared.calendar_rules) that give every year the plan is in force
(`Plan.calendar_for(year)`); the services read every year from them (`period`, `obligation_periods`,
`open_periods`). The explicit `calendar` of the plan's first year is kept as the rules' test oracle, and is the
calendar of a plan that states no rules.

Years open by themselves (issue 14): a plan year opens when the earliest data window of its demanded periods opens
(for the Trà Vinh plan 15/12 of the year before: Q1, H1 and FY all count from then), never before the plan takes
effect; from that instant the scheduler owes, creates and announces every obligation of the year, intake accepts its
reports and the board lists its periods. Choice where the plan is silent: the whole year opens at once rather than
each period at its own window's start, so a unit sees its year's duties together, as the 2019 plan listed them on
its first day (2019-Q3 was owed from 14/3/2019, before its window opened on 15/6), and that first year stays exactly
as it was. Years are opened as business time reaches them, never ahead: nothing is created for a year whose first
window has not opened.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from shared.calendar_rules import CalendarRules, parse_calendar_rules, year_of_key
from shared.calendar_rules import Period as Period
from shared.formatting import nfc as nfc
from shared.timerules import local_date, local_midnight, parse_instant
from shared.workdays import WorkingDays, vietnam_working_days

# XA: a UBND of a commune (xã) or ward (phường), reporting directly to the province since the district level was
# abolished on 1/7/2025 (plans/vinh-long-2026); it reports what the 2019 district committees (HUYEN) reported.
UNIT_TYPES = ("SO", "HUYEN", "XA", "TTR", "TTTT", "BAO_DAI", "SNV")
ALERT_ROLES = ("focal", "head", "other")


@dataclass(frozen=True)
class Contact:
    """A person to alert for a unit, by `alert_role` (focal, head, other)."""

    alert_role: str
    name: str
    title: str
    email: str | None
    phone: str | None = None


@dataclass(frozen=True)
class Unit:
    """A unit of the registry (F2): a reporting agency or a non-reporting body, effective-dated.

    `successors` are the codes of the units that took over its duties when it ceased: units of the same plan, or
    of the plan's `successor_plan` once the plan itself ends. `successors_note` says, in Vietnamese, what the codes
    cannot: a successor not (yet) in any plan, a territory split between several successors.
    """

    code: str
    name: str
    order: int | None
    types: tuple[str, ...]
    reports: bool
    valid_from: date
    valid_until: date | None
    successors: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()
    not_reporting_reason: str | None = None
    successors_note: str | None = None

    def valid_at(self, day: date) -> bool:
        """True when the unit exists on local date `day`."""
        return self.valid_from <= day and (self.valid_until is None or day < self.valid_until)


@dataclass(frozen=True)
class EscalationLevel:
    """One rung of the F7 ladder, relative to the deadline day D."""

    level: str
    event: str
    offset_days: int
    shift: str
    to: tuple[str, ...]
    digest: tuple[str, ...]
    escalated_to: str | None = None


@dataclass(frozen=True)
class Indicator:
    """One line of the indicator catalogue (domain/indicators.json)."""

    key: str
    label: str
    unit: str
    area: int
    reporters: tuple[str, ...]
    period_type: str | None
    measure: str | None
    derived: bool = False
    formula: str | None = None
    kind: str = "count"
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """A cross-field rule of DOMAIN.md §4: sum(left) <op> sum(right); `kind` error or warning; shown on `field`."""

    kind: str
    left: tuple[str, ...]
    op: str
    right: tuple[str, ...]
    field: str
    message: str

    @property
    def fields(self) -> tuple[str, ...]:
        """Every indicator the rule reads."""
        return self.left + self.right


@dataclass(frozen=True)
class Template:
    """What a unit must fill for one period: indicators grouped by content area, narratives, sections II-IV."""

    agency: str
    period: str
    kind: str
    areas: dict[int, str]
    indicators: tuple[Indicator, ...]
    sections: dict[str, str]
    data_window: tuple[date, date] | None
    estimate_note: str | None
    staff_fields: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()

    def indicator_keys(self) -> tuple[str, ...]:
        """Keys of the numeric indicators the unit reports."""
        return tuple(i.key for i in self.indicators)

    def label(self, key: str) -> str:
        """The Vietnamese label of an indicator key."""
        for ind in self.indicators:
            if ind.key == key:
                return ind.label
        return key


@dataclass(frozen=True, eq=False)
class Plan:
    """A whole plan: registry, calendar, policy, recipients, templates (compared and hashed by identity)."""

    id: str
    title: str
    issuer: str
    issued_on: date
    year: int
    receiver: str
    units: tuple[Unit, ...]
    calendar: tuple[Period, ...]
    holidays: frozenset[date]
    working_days: WorkingDays  # the national calendar plus `holidays` (shared.workdays): what the ladder counts
    escalation: tuple[EscalationLevel, ...]
    escalation_local_time: str
    digest_local_time: str
    recipients: tuple[dict[str, Any], ...]
    areas: dict[int, str]
    sections: dict[str, str]
    estimate_note: str
    indicators: tuple[Indicator, ...] = field(repr=False)
    rules: tuple[Rule, ...] = ()
    calendar_rules: CalendarRules | None = None
    successor_plan: str | None = None  # the plan that takes over when this one ends (the id of its plan.json)

    @property
    def issued_at(self) -> datetime:
        """The instant the plan takes effect: local midnight of its issue date."""
        return local_midnight(self.issued_on)

    @cached_property
    def _units_by_code(self) -> dict[str, Unit]:
        return {u.code: u for u in self.units}

    def unit(self, code: str) -> Unit | None:
        """The unit with this code, or None (a dict lookup: a board of 10,000 units asks once per row)."""
        return self._units_by_code.get(code)

    def period(self, key: str) -> Period | None:
        """The period with this key in the calendar of its year (`calendar_for`), any year the plan is in force
        ('2020-Q1' from the rules), or None. Whether it is open yet is `is_open`."""
        year = year_of_key(key)
        if year is None:
            return None
        return self._periods_by_key(year).get(key)

    @cached_property
    def _calendars(self) -> dict[int, tuple[Period, ...]]:
        return {}

    @cached_property
    def _keyed(self) -> dict[int, dict[str, Period]]:
        return {}

    def _periods_by_key(self, year: int) -> dict[str, Period]:
        if year not in self._keyed:
            self._keyed[year] = {p.key: p for p in self.calendar_for(year)}
        return self._keyed[year]

    def calendar_for(self, year: int) -> tuple[Period, ...]:
        """The calendar of `year` generated from the plan's `calendar_rules` (empty outside the years it is in
        force), or, for a plan without rules, the periods of `calendar` whose key is of that year. Computed once."""
        if year not in self._calendars:
            if self.calendar_rules is not None:
                self._calendars[year] = self.calendar_rules.calendar_for(year)
            else:
                self._calendars[year] = tuple(p for p in self.calendar if year_of_key(p.key) == year)
        return self._calendars[year]

    @property
    def takes_effect_at(self) -> datetime:
        """The instant the plan takes effect: local midnight of its rules' `effective_from`, else of its issue date."""
        return local_midnight(self.calendar_rules.effective_from if self.calendar_rules else self.issued_on)

    @cached_property
    def first_year(self) -> int:
        """The first year the plan can demand anything in (the year it takes effect, or its calendar's first)."""
        if self.calendar_rules is not None:
            return self.calendar_rules.effective_from.year
        return min((y for p in self.calendar if (y := year_of_key(p.key)) is not None), default=self.year)

    def obligation_periods(self, year: int | None = None) -> tuple[Period, ...]:
        """The periods of `year` (the plan's own year by default) that create obligations: applicable, with a
        deadline after the plan's issue date; in the calendar's order."""
        return tuple(
            p
            for p in self.calendar_for(self.year if year is None else year)
            if p.applicable and p.due_before is not None and p.due_before > self.issued_at
        )

    @cached_property
    def _year_openings(self) -> dict[int, datetime | None]:
        return {}

    def year_opens_at(self, year: int) -> datetime | None:
        """When the plan year opens (module docstring): local midnight of the earliest data window start of its
        demanded periods (1 January when none has a window), never before the plan takes effect; None when the
        plan demands nothing that year."""
        if year not in self._year_openings:
            periods = self.obligation_periods(year)
            starts = [p.data_window[0] for p in periods if p.data_window]
            self._year_openings[year] = (
                max(local_midnight(min(starts, default=date(year, 1, 1))), self.takes_effect_at) if periods else None
            )
        return self._year_openings[year]

    def open_years(self, now: datetime) -> tuple[int, ...]:
        """The years the plan has opened by `now`, oldest first (a year opens at the latest in its own January)."""
        last = local_date(now).year + 1
        return tuple(
            y for y in range(self.first_year, last + 1) if (at := self.year_opens_at(y)) is not None and at <= now
        )

    def open_periods(self, now: datetime) -> tuple[Period, ...]:
        """Every period that creates obligations in the years opened by `now`: by year, then in calendar order."""
        return tuple(p for year in self.open_years(now) for p in self.obligation_periods(year))

    def periods_opening(self, after: datetime | None, now: datetime) -> tuple[Period, ...]:
        """The periods whose year opened in (after, now] (every open one when `after` is None): what the
        scheduler's pass creates obligations for."""
        return tuple(
            p
            for year in self.open_years(now)
            if after is None or (self.year_opens_at(year) or now) > after
            for p in self.obligation_periods(year)
        )

    def opened_period(self, key: str, now: datetime) -> Period | None:
        """The period with this key if its plan year has opened by `now` (applicable or not), else None: what
        the board, the totals and the documents know of (a later year's period is not there yet)."""
        found = self.period(key)
        year = year_of_key(key)
        opens = self.year_opens_at(year) if year is not None else None
        return found if found is not None and opens is not None and opens <= now else None

    def is_open(self, period: Period, now: datetime) -> bool:
        """True when `period` creates obligations and its year has opened by `now` (reports are accepted)."""
        year = year_of_key(period.key)
        opens = self.year_opens_at(year) if year is not None else None
        return opens is not None and opens <= now and period in self.obligation_periods(year)

    def expected_units(self, period: Period) -> tuple[Unit, ...]:
        """Reporting units valid on the period's deadline day, in official order."""
        if not period.applicable or period.due_before is None:
            return ()
        units = [u for u in self.units if u.reports and u.valid_at(period.deadline_day)]
        return tuple(sorted(units, key=lambda u: (u.order or 0, u.code)))

    def opens_on(self, period: Period) -> date:
        """The first day a period's report concerns: its data window's start, or the plan's issue date."""
        return period.data_window[0] if period.data_window else self.issued_on

    def obligated_units(self, period: Period) -> tuple[Unit, ...]:
        """Reporting units that owe the period an obligation: valid on some day from its opening to its deadline.

        A superset of `expected_units`: a unit that ceases before the deadline day (`valid_until` on or before
        it) still gets the obligation, which the scheduler closes as `closed_by_reorganisation` when the unit
        ceases, so the period shows why it is not expected; a successor starts owing from its `valid_from`.
        """
        if not period.applicable or period.due_before is None:
            return ()
        opens = self.opens_on(period)
        units = [
            u
            for u in self.units
            if u.reports and u.valid_from <= period.deadline_day and (u.valid_until is None or u.valid_until > opens)
        ]
        return tuple(sorted(units, key=lambda u: (u.order or 0, u.code)))

    def is_expected(self, agency: str, period_key: str) -> bool:
        """True when `agency` owes a report for `period_key`."""
        period = self.period(period_key)
        return period is not None and any(u.code == agency for u in self.expected_units(period))

    def template_for(self, agency: str, period_key: str) -> Template | None:
        """The template a unit fills for a period: the union of its types' indicators, or the staff list."""
        unit, period = self.unit(agency), self.period(period_key)
        if unit is None or period is None or not unit.reports:
            return None
        types = set(unit.types)
        wanted = "ONCE" if period.kind == "staff_list" else "Q"
        chosen = tuple(
            i for i in self.indicators if not i.derived and i.period_type == wanted and types.intersection(i.reporters)
        )
        staff = next((i for i in chosen if i.kind == "list"), None)
        keys = {i.key for i in chosen}
        return Template(
            agency=agency,
            period=period_key,
            kind=period.kind,
            areas=dict(self.areas),
            indicators=tuple(i for i in chosen if i.kind != "list"),
            sections=dict(self.sections),
            data_window=period.data_window,
            estimate_note=self.estimate_note if period.data_window else None,
            staff_fields=staff.fields if staff else (),
            rules=tuple(r for r in self.rules if keys.issuperset(r.fields)),
        )


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _indicator(raw: dict[str, Any]) -> Indicator:
    return Indicator(
        key=raw["key"],
        label=nfc(raw["label"]),
        unit=nfc(raw["unit"]),
        area=int(raw["area"]),
        reporters=tuple(raw.get("reporters", ())),
        period_type=raw.get("period_type"),
        measure=raw.get("measure"),
        derived=bool(raw.get("derived", False)),
        formula=raw.get("formula"),
        kind=raw.get("type", "count"),
        fields=tuple(raw.get("fields", ())),
    )


def _unit(raw: dict[str, Any]) -> Unit:
    unknown = set(raw.get("types", ())) - set(UNIT_TYPES)
    if unknown:
        raise ValueError(f"unit {raw['code']}: unknown types {sorted(unknown)}")
    return Unit(
        code=raw["code"],
        name=nfc(raw["name"]),
        order=raw.get("order"),
        types=tuple(raw.get("types", ())),
        reports=bool(raw["reports"]),
        valid_from=_date(raw.get("valid_from")) or date.min,
        valid_until=_date(raw.get("valid_until")),
        successors=tuple(raw.get("successors", ())),
        contacts=tuple(
            Contact(
                alert_role=c["alert_role"],
                name=nfc(c["name"]),
                title=nfc(c.get("title", "")),
                email=c.get("email"),
                phone=c.get("phone"),
            )
            for c in raw.get("contacts", ())
        ),
        not_reporting_reason=nfc(raw["not_reporting_reason"]) if raw.get("not_reporting_reason") else None,
        successors_note=nfc(raw["successors_note"]) if raw.get("successors_note") else None,
    )


def unit_from_json(raw: dict[str, Any]) -> Unit:
    """A unit as a plan file (or a published version of its unit list, shared.plan_versions) writes it."""
    return _unit(raw)


def _period(raw: dict[str, Any]) -> Period:
    window = raw.get("data_window")
    return Period(
        key=raw["period"],
        kind=raw["kind"],
        name=nfc(raw["name"]),
        rule=nfc(raw.get("rule", "")),
        applicable=bool(raw["applicable"]),
        deadline_day=date.fromisoformat(raw["deadline_day"]),
        due_before=parse_instant(raw["due_before"]) if raw.get("due_before") else None,
        data_window=(date.fromisoformat(window["from"]), date.fromisoformat(window["to"])) if window else None,
        serves=tuple(raw.get("serves", ())),
        served_by=raw.get("served_by"),
        not_applicable_reason=nfc(raw["not_applicable_reason"]) if raw.get("not_applicable_reason") else None,
    )


def _calendar(raw: dict[str, Any], rules: CalendarRules | None) -> tuple[Period, ...]:
    """The plan's explicit `calendar`, or, for a plan that states only `calendar_rules`, the periods the rules give
    for every year from the one the plan takes effect in up to its `year` (its first year: plans/vinh-long-2026
    gets its 2026 calendar). Later years always come from `Plan.calendar_for`; a plan file keeps an explicit
    calendar only as the oracle of its rules (plans/tra-vinh-2019)."""
    if "calendar" in raw:
        return tuple(_period(p) for p in raw["calendar"])
    if rules is None:
        raise ValueError(f"plan {raw.get('id')}: neither a calendar nor calendar_rules")
    return tuple(p for year in range(rules.effective_from.year, int(raw["year"]) + 1) for p in rules.calendar_for(year))


def parse_plan(raw: dict[str, Any], indicators: list[dict[str, Any]]) -> Plan:
    """Build a Plan from the decoded plan file and indicator catalogue."""
    esc = raw["escalation"]
    templates = raw["templates"]
    holidays = frozenset(date.fromisoformat(d) for d in raw.get("holidays", ()))
    rules = (
        parse_calendar_rules(raw["calendar_rules"], issued_on=date.fromisoformat(raw["issued_on"]))
        if raw.get("calendar_rules") is not None
        else None
    )
    return Plan(
        id=raw["id"],
        title=nfc(raw["title"]),
        issuer=nfc(raw["issuer"]),
        issued_on=date.fromisoformat(raw["issued_on"]),
        year=int(raw["year"]),
        receiver=raw["receiver"],
        units=tuple(_unit(u) for u in raw["units"]),
        calendar=_calendar(raw, rules),
        holidays=holidays,
        working_days=vietnam_working_days().with_days_off(holidays, source=nfc(raw["title"])),
        escalation=tuple(
            EscalationLevel(
                level=lv["level"],
                event=lv["event"],
                offset_days=int(lv["offset_days"]),
                shift=lv["shift"],
                to=tuple(lv.get("to", ())),
                digest=tuple(lv.get("digest", ())),
                escalated_to=lv.get("escalated_to"),
            )
            for lv in esc["levels"]
        ),
        escalation_local_time=esc.get("local_time", "08:00"),
        digest_local_time=esc.get("digest_local_time", "07:30"),
        recipients=tuple(raw.get("recipients", ())),
        areas={int(k): nfc(v) for k, v in templates["areas"].items()},
        sections={k: nfc(v) for k, v in templates["sections"].items()},
        estimate_note=nfc(templates.get("estimate_note", "")),
        indicators=tuple(_indicator(i) for i in indicators),
        calendar_rules=rules,
        successor_plan=raw.get("successor_plan"),
        rules=tuple(
            Rule(
                kind=r["kind"],
                left=tuple(r["left"]),
                op=r["op"],
                right=tuple(r["right"]),
                field=r["field"],
                message=nfc(r["message"]),
            )
            for r in templates.get("rules", ())
        ),
    )


@cache
def load_plan(path: Path) -> Plan:
    """Read a plan directory (plan.json and the indicator catalogue it names), once per process."""
    raw = json.loads((path / "plan.json").read_text(encoding="utf-8"))
    indicators = json.loads((path / raw["templates"]["indicators"]).read_text(encoding="utf-8"))
    return parse_plan(raw, indicators)


def first_issued_at(plans: Sequence[Plan]) -> datetime:
    """Where a stack's simulated clock starts: the issue of its earliest plan."""
    return min(plan.issued_at for plan in plans)


class PlansConflict(ValueError):
    """Plans that cannot run on one stack together."""


def load_plans(paths: Sequence[Path]) -> tuple[Plan, ...]:
    """Read the plans one stack runs (`DVCQ_PLAN`, comma-separated), in that order.

    Several plans run at once (issue 14, point 5): the Trà Vinh plan that keeps the 2019-2025 history beside the
    merged Vĩnh Long province's from 2026, or two regimes of one year. Each unit code belongs to one plan of the
    stack: a unit's obligations, reports and alerts are found by its code, and the plan it reports under is the
    one that lists it (a unit reporting under two regimes at once is two codes). Raise PlansConflict for two
    plans with one id or one unit code."""
    plans = tuple(load_plan(path) for path in paths)
    seen: dict[str, str] = {}
    ids = [p.id for p in plans]
    if len(set(ids)) != len(ids):
        raise PlansConflict(f"Two plans with one id among {', '.join(ids)}")
    for plan in plans:
        for unit in plan.units:
            if unit.code in seen:
                raise PlansConflict(f"Unit {unit.code} is in plans {seen[unit.code]} and {plan.id}: one code, one unit")
            seen[unit.code] = plan.id
    return plans
