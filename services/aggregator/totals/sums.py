"""A period's indicator totals (F11): sums per content area, unit type and unit, derived lines recomputed."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from services.aggregator.totals.formula import numeric, parse_formula
from shared.plan import UNIT_TYPES, Indicator, Period, Plan, Unit

Number = int | float

REPORTED = "reported"
BLANK = "blank"
ABSENT = "absent"

TYPE_LABELS = {
    "SO": "Sở, ngành thuộc UBND tỉnh",
    "HUYEN": "UBND cấp huyện",
    "XA": "UBND cấp xã",
    "TTR": "Thanh tra tỉnh",
    "TTTT": "Sở Thông tin và Truyền thông",
    "BAO_DAI": "Báo, Đài",
    "SNV": "Sở Nội vụ",
}


class TotalsError(ValueError):
    """Base of the totals' domain errors."""


class PeriodNotSummarisable(TotalsError):
    """The period is not in the plan's calendar, has no obligations, or has no figures (the staff list)."""


# --- results -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitFigure:
    """One unit's value of an indicator. `status`: `reported` (a number), `blank` (report received, value null)
    or `absent` (no report). For a derived line `reported` means every part is there; its value is still None
    when the divisor is 0."""

    agency: str
    name: str
    order: int | None
    type: str
    value: Number | None
    status: str


@dataclass(frozen=True)
class TypeFigure:
    """An indicator over the units of one type (the unit's primary type: SO, HUYEN or XA)."""

    type: str
    label: str
    total: Number | None
    reported: int
    missing: int


@dataclass(frozen=True)
class IndicatorTotal:
    """An indicator over the province for one period, its splits, and the same period a year earlier.

    `reported` + `missing` = the units of the summary whose template holds the indicator (for a derived line:
    every part of it); `absent` is the part of `missing` with no report at all. `previous` is the total of the
    same period a year earlier (None when nothing is compared) and `change` = total − previous (percentage points
    for a %), None where not comparable (no previous period given, or either total None).
    """

    key: str
    label: str
    unit: str
    area: int
    measure: str | None
    derived: bool
    formula: str | None
    total: Number | None
    reported: int
    missing: int
    absent: int
    by_type: tuple[TypeFigure, ...]
    by_unit: tuple[UnitFigure, ...]
    previous: Number | None = None
    change: Number | None = None


@dataclass(frozen=True)
class AreaTotals:
    """One of the plan's five content areas, its indicators in catalogue order."""

    area: int
    name: str
    indicators: tuple[IndicatorTotal, ...]


@dataclass(frozen=True)
class PeriodTotals:
    """A period's totals: `expected` and `received` unit codes (official order), `ignored` reports' codes
    (unknown to the plan or not reporting units), the compared period (None: no comparison) and the areas."""

    plan: str
    period: str
    period_name: str
    expected: tuple[str, ...]
    received: tuple[str, ...]
    ignored: tuple[str, ...]
    previous_period: str | None
    areas: tuple[AreaTotals, ...]

    def indicator(self, key: str) -> IndicatorTotal:
        """The line of one indicator (KeyError if the period has none)."""
        for area in self.areas:
            for line in area.indicators:
                if line.key == key:
                    return line
        raise KeyError(key)

    def lines(self) -> tuple[IndicatorTotal, ...]:
        """Every indicator line, area by area."""
        return tuple(line for area in self.areas for line in area.indicators)


# --- totals --------------------------------------------------------------------------------------------------


def indicator_values(content: Mapping[str, Any]) -> Mapping[str, Any]:
    """The figures of a report: intake's stored content keeps them under `indicators`; a bare mapping of
    indicator keys is taken as is."""
    inner = content.get("indicators")
    return inner if isinstance(inner, Mapping) else content


def primary_type(unit: Unit) -> str:
    """The type a unit is counted under in the by-type split: its first type in `UNIT_TYPES` order.

    The role types (TTR, TTTT, BAO_DAI, SNV) overlay a sở; counting each unit under one type makes the split a
    partition that adds up to the total (Thanh tra tỉnh counts as SO, not twice).
    """
    return next((t for t in UNIT_TYPES if t in unit.types), unit.types[0] if unit.types else "")


def same_period_last_year(period_key: str) -> str | None:
    """`2019-H1` → `2018-H1` (so với cùng kỳ); None for a key without a leading year."""
    match = re.fullmatch(r"(\d{4})-(.+)", period_key)
    return f"{int(match.group(1)) - 1}-{match.group(2)}" if match else None


def _template_keys(plan: Plan, unit: Unit, period: Period) -> frozenset[str]:
    """The numeric indicators the unit's template holds for the period (the union of its types')."""
    template = plan.template_for(unit.code, period.key)
    return frozenset(template.indicator_keys()) if template else frozenset()


def _summable_period(plan: Plan, period_key: str) -> Period:
    period = plan.period(period_key)
    if period is None:
        raise PeriodNotSummarisable(f"Kỳ {period_key} không có trong lịch của kế hoạch {plan.id}.")
    if not period.applicable or period.due_before is None:
        instead = f" Số liệu nằm trong kỳ {period.served_by}." if period.served_by else ""
        raise PeriodNotSummarisable(f"Kỳ {period_key} không phải báo cáo.{instead}")
    if period.kind == "staff_list":
        raise PeriodNotSummarisable(f"Kỳ {period_key} là danh sách cán bộ, không có số liệu.")
    return period


def _sort_key(unit: Unit) -> tuple[bool, int, str]:
    return (unit.order is None, unit.order or 0, unit.code)


@dataclass(frozen=True)
class _Scope:
    """Who a period's totals are about: the units (expected ∪ received, official order) and their figures."""

    units: tuple[Unit, ...]
    expected: tuple[str, ...]
    values: dict[str, Mapping[str, Any]]
    keys: dict[str, frozenset[str]]
    ignored: tuple[str, ...]


def _scope(
    plan: Plan, period: Period, reports: Mapping[str, Mapping[str, Any]], expected: Iterable[str] | None
) -> _Scope:
    known = {u.code: u for u in plan.units if u.reports}
    if expected is None:
        expected_codes = {u.code for u in plan.expected_units(period)}
    else:
        expected_codes = {code for code in expected if code in known}
    values = {code: indicator_values(content) for code, content in reports.items() if code in known}
    units = tuple(sorted((known[c] for c in expected_codes | set(values)), key=_sort_key))
    return _Scope(
        units=units,
        expected=tuple(u.code for u in units if u.code in expected_codes),
        values=values,
        keys={u.code: _template_keys(plan, u, period) for u in units},
        ignored=tuple(sorted(code for code in reports if code not in known)),
    )


def _sum(values: Iterable[Number]) -> Number | None:
    items = list(values)
    return sum(items) if items else None


def _unit_figures(indicator: Indicator, scope: _Scope) -> tuple[UnitFigure, ...]:
    formula = parse_formula(indicator.formula) if indicator.derived and indicator.formula else None
    needs = set(formula.names) if formula else {indicator.key}
    rows = []
    for unit in scope.units:
        if not needs <= scope.keys[unit.code]:
            continue
        content = scope.values.get(unit.code)
        value: Number | None = None
        if content is None:
            status = ABSENT
        elif formula is not None:
            complete = all(numeric(content.get(k)) for k in formula.names)
            status = REPORTED if complete else BLANK
            value = formula.evaluate(content) if complete else None
        elif numeric(content.get(indicator.key)):
            status, value = REPORTED, content[indicator.key]
        else:
            status = BLANK
        rows.append(UnitFigure(unit.code, unit.name, unit.order, primary_type(unit), value, status))
    return tuple(rows)


def _total(indicator: Indicator, rows: Iterable[UnitFigure], scope: _Scope) -> Number | None:
    """The total over some units' rows: a sum of the reported values, or the formula over summed parts.

    For a derived line each part is summed over the units that reported EVERY part (status `reported`), so a
    numerator is never divided by a denominator summed over other units (a unit giving the officials briefed
    but not its headcount would push the rate above 100%). The rate therefore rests on the `reported` units and
    may differ from the formula applied to the part lines when some unit left a part blank.
    """
    done = [r for r in rows if r.status == REPORTED]
    if not (indicator.derived and indicator.formula):
        return _sum(r.value for r in done if r.value is not None)
    formula = parse_formula(indicator.formula)
    if not done:
        return None
    summed = {k: sum(scope.values[r.agency][k] for r in done) for k in formula.names}
    return formula.evaluate(summed)


def _indicator_total(indicator: Indicator, scope: _Scope) -> IndicatorTotal:
    rows = _unit_figures(indicator, scope)
    types = [t for t in UNIT_TYPES if any(primary_type(u) == t for u in scope.units)]
    by_type = []
    for type_ in types:
        mine = [r for r in rows if r.type == type_]
        by_type.append(
            TypeFigure(
                type=type_,
                label=TYPE_LABELS.get(type_, type_),
                total=_total(indicator, mine, scope),
                reported=sum(1 for r in mine if r.status == REPORTED),
                missing=sum(1 for r in mine if r.status != REPORTED),
            )
        )
    return IndicatorTotal(
        key=indicator.key,
        label=indicator.label,
        unit=indicator.unit,
        area=indicator.area,
        measure=indicator.measure,
        derived=indicator.derived,
        formula=indicator.formula,
        total=_total(indicator, rows, scope),
        reported=sum(1 for r in rows if r.status == REPORTED),
        missing=sum(1 for r in rows if r.status != REPORTED),
        absent=sum(1 for r in rows if r.status == ABSENT),
        by_type=tuple(by_type),
        by_unit=rows,
    )


def _summed_indicators(plan: Plan) -> tuple[Indicator, ...]:
    return tuple(
        i for i in plan.indicators if i.area in plan.areas and i.kind != "list" and (i.derived or i.period_type == "Q")
    )


def _previous_totals(
    plan: Plan, period_key: str | None, reports: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, Number | None] | None:
    """Totals of the same period a year earlier, or None when there is nothing to compare with: no reports
    given, or the period is not a reporting period of `plan` ("where that period exists")."""
    if reports is None or period_key is None:
        return None
    try:
        period = _summable_period(plan, period_key)
    except PeriodNotSummarisable:
        return None
    scope = _scope(plan, period, reports, None)
    return {i.key: _total(i, _unit_figures(i, scope), scope) for i in _summed_indicators(plan)}


def _compare(total: Number | None, previous: Number | None) -> Number | None:
    if total is None or previous is None:
        return None
    return total - previous


def period_totals(
    plan: Plan,
    period_key: str,
    reports: Mapping[str, Mapping[str, Any]],
    *,
    previous: Mapping[str, Mapping[str, Any]] | None = None,
    previous_plan: Plan | None = None,
    expected: Collection[str] | None = None,
) -> PeriodTotals:
    """A period's indicator totals from its reports (`{agency: content}`, the latest revision of each).

    Units summed: those `expected` to report (default: the plan's units valid at the period's deadline; the
    board passes its own list without waived or reorganised units) plus any other reporting unit of the plan that
    sent a report; other codes are listed in `ignored`. A unit's line of an indicator exists when its template
    holds it; `missing` counts those lines left blank or whose report is absent. Non-numeric fields (narratives,
    lists) are not figures; derived values in a report are ignored and recomputed.

    `previous` are the reports of the same period a year earlier (`same_period_last_year`), read with
    `previous_plan` (default: this plan); nothing is compared without them or when that plan's calendar has no
    such reporting period.
    Only one period's reports are taken, so a yearly figure comes from the yearly reports alone.
    """
    period = _summable_period(plan, period_key)
    scope = _scope(plan, period, reports, expected)
    earlier_key = same_period_last_year(period_key)
    earlier = _previous_totals(previous_plan or plan, earlier_key, previous)
    lines: dict[int, list[IndicatorTotal]] = {area: [] for area in sorted(plan.areas)}
    for indicator in _summed_indicators(plan):
        line = _indicator_total(indicator, scope)
        if earlier is not None:
            before = earlier.get(indicator.key)
            line = replace(line, previous=before, change=_compare(line.total, before))
        lines[indicator.area].append(line)
    return PeriodTotals(
        plan=plan.id,
        period=period.key,
        period_name=period.name,
        expected=scope.expected,
        received=tuple(u.code for u in scope.units if u.code in scope.values),
        ignored=scope.ignored,
        previous_period=earlier_key if earlier is not None else None,
        areas=tuple(AreaTotals(area, plan.areas[area], tuple(items)) for area, items in lines.items()),
    )
