"""Aggregator's indicator totals of a period (F11): sums per content area, unit type and unit (plain Python).

Words used here: a *report* is the latest revision's content of one unit for one period, as intake stores it
(every template field present, null where the unit left it blank); a *derived* indicator (`derived: true` in
the catalogue) is never entered: it is recomputed from its formula at every level.

Rules of DOMAIN.md §4, and how this module keeps them:
- Flows are summed across units; stocks are taken at the period's end. Every report already speaks of its own
  period's end, and `period_totals` takes the reports of ONE period, so a stock is only ever added across units
  at the same instant, never across periods.
- The yearly figure is what the yearly reports say: `period_totals(plan, "2019-FY", fy_reports)` reads the FY
  reports only; there is no way to feed it quarters, so it can never be a sum of quarters (nor Q2 be H1 − Q1).
- A blank (null) value is "not reported": left out of the sum and counted in `missing`, never read as 0.
- Percentages are recomputed from summed parts, never averaged.
- "Units that stand out" are suggested by ratios, not raw counts (`suggest_standouts`); Sở Nội vụ chooses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cache
from typing import Any

from shared.formatting import vn_number
from shared.plan import UNIT_TYPES, Indicator, Period, Plan, Unit

Number = int | float

REPORTED = "reported"
BLANK = "blank"
ABSENT = "absent"

TYPE_LABELS = {
    "SO": "Sở, ngành thuộc UBND tỉnh",
    "HUYEN": "UBND cấp huyện",
    "TTR": "Thanh tra tỉnh",
    "TTTT": "Sở Thông tin và Truyền thông",
    "BAO_DAI": "Báo, Đài",
    "SNV": "Sở Nội vụ",
}


class TotalsError(ValueError):
    """Base of the totals' domain errors."""


class PeriodNotSummarisable(TotalsError):
    """The period is not in the plan's calendar, has no obligations, or has no figures (the staff list)."""


class FormulaError(TotalsError):
    """A catalogue formula outside the supported syntax."""


# --- formulas ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Num:
    value: Fraction


@dataclass(frozen=True)
class _Var:
    name: str


@dataclass(frozen=True)
class _BinOp:
    op: str
    left: _Node
    right: _Node


_Node = _Num | _Var | _BinOp
_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/()]))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FormulaError(f"công thức không hợp lệ tại vị trí {pos}: {text!r}")
        kind = match.lastgroup or "op"
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent over `expr := term (('+'|'-') term)*`, `term := factor (('*'|'/') factor)*`,
    `factor := number | indicator_key | '(' expr ')'`: exactly the catalogue's syntax, left-associative."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def parse(self) -> _Node:
        node = self._expr()
        if self.pos != len(self.tokens):
            raise FormulaError(f"thừa ký tự sau vị trí {self.pos}: {self.text!r}")
        return node

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _binary(self, ops: str, operand: Callable[[], _Node]) -> _Node:
        node = operand()
        while (token := self._peek()) is not None and token[0] == "op" and token[1] in ops:
            self.pos += 1
            node = _BinOp(token[1], node, operand())
        return node

    def _expr(self) -> _Node:
        return self._binary("+-", self._term)

    def _term(self) -> _Node:
        return self._binary("*/", self._factor)

    def _factor(self) -> _Node:
        token = self._peek()
        if token is None:
            raise FormulaError(f"công thức kết thúc đột ngột: {self.text!r}")
        self.pos += 1
        kind, value = token
        if kind == "num":
            return _Num(Fraction(value))
        if kind == "name":
            return _Var(value)
        if value == "(":
            node = self._expr()
            if self._peek() != ("op", ")"):
                raise FormulaError(f"thiếu dấu ')': {self.text!r}")
            self.pos += 1
            return node
        raise FormulaError(f"ký tự '{value}' không đúng chỗ: {self.text!r}")


def _names(node: _Node) -> tuple[str, ...]:
    if isinstance(node, _Var):
        return (node.name,)
    if isinstance(node, _BinOp):
        return tuple(dict.fromkeys(_names(node.left) + _names(node.right)))
    return ()


def _eval(node: _Node, values: Mapping[str, Fraction]) -> Fraction | None:
    if isinstance(node, _Num):
        return node.value
    if isinstance(node, _Var):
        return values.get(node.name)
    left, right = _eval(node.left, values), _eval(node.right, values)
    if left is None or right is None:
        return None
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    return None if right == 0 else left / right


def _ratio_parts(node: _Node) -> tuple[_Node, _Node] | None:
    """The outermost division's (numerator, denominator), looking through a constant scale such as `* 100`."""
    if isinstance(node, _BinOp) and node.op == "/":
        return node.left, node.right
    if isinstance(node, _BinOp) and node.op == "*":
        if isinstance(node.right, _Num):
            return _ratio_parts(node.left)
        if isinstance(node.left, _Num):
            return _ratio_parts(node.right)
    return None


def _numeric(value: Any) -> bool:
    """A reported figure: an int or float (bool is not a count; text and lists are not figures)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Formula:
    """A parsed catalogue formula: indicator keys, numbers, + - * / and parentheses; no eval()."""

    text: str
    tree: _Node = field(repr=False)
    names: tuple[str, ...]

    def evaluate(self, values: Mapping[str, Any]) -> float | None:
        """The formula's value, or None when a part is absent, null or not a number, or a divisor is 0.

        Arithmetic is exact (fractions) and rounded once to a float at the end, so the order of `/` and
        `* 100` does not change the last digit.
        """
        exact = self._exact(values)
        return None if exact is None else float(exact)

    def numerator_denominator(self, values: Mapping[str, Any]) -> tuple[float, float] | None:
        """The values of the outermost division's two sides (through `* 100`), or None (no division, or a part
        missing). Shown beside a ratio so a reader sees what it rests on."""
        parts = _ratio_parts(self.tree)
        if parts is None:
            return None
        exact = self._fractions(values)
        if exact is None:
            return None
        num, den = _eval(parts[0], exact), _eval(parts[1], exact)
        return None if num is None or den is None else (float(num), float(den))

    def _fractions(self, values: Mapping[str, Any]) -> dict[str, Fraction] | None:
        parts = {name: values.get(name) for name in self.names}
        if not all(_numeric(v) for v in parts.values()):
            return None
        return {name: Fraction(v) for name, v in parts.items()}

    def _exact(self, values: Mapping[str, Any]) -> Fraction | None:
        exact = self._fractions(values)
        return None if exact is None else _eval(self.tree, exact)


@cache
def parse_formula(text: str) -> Formula:
    """Parse a catalogue formula once (`FormulaError` outside the syntax)."""
    tree = _Parser(text).parse()
    return Formula(text=text, tree=tree, names=_names(tree))


def evaluate_formula(text: str, values: Mapping[str, Any]) -> float | None:
    """A formula's value for these figures; None if a part is missing or a divisor is 0."""
    return parse_formula(text).evaluate(values)


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
    """An indicator over the units of one type (the unit's primary type: SO or HUYEN for this plan)."""

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
            complete = all(_numeric(content.get(k)) for k in formula.names)
            status = REPORTED if complete else BLANK
            value = formula.evaluate(content) if complete else None
        elif _numeric(content.get(indicator.key)):
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


# --- units that stand out ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    """A ratio units are compared by: a catalogue key and a formula over catalogue indicators."""

    key: str
    label: str
    formula: str


# Models recognised per registered has no derived line in the catalogue; it is defined here over the catalogue's
# own parts. It may exceed 100%: models registered in an earlier period are recognised later (a warning rule).
DVK_RATIO = Ratio(
    key="dvk_ty_le_cong_nhan",
    label="Tỷ lệ mô hình, điển hình 'Dân vận khéo' được công nhận trên số đăng ký",
    formula="dvk_cong_nhan / (dvk_dang_ky_tap_the + dvk_dang_ky_ca_nhan) * 100",
)
STANDOUT_RATIOS: tuple[str | Ratio, ...] = ("tthc_ty_le_dung_truoc_han", "ty_le_giai_quyet_kntc", DVK_RATIO)


@dataclass(frozen=True)
class StandoutCandidate:
    """A unit in a ratio's ranking: its rank (ties share one), the ratio, both sides of it and the parts."""

    rank: int
    agency: str
    name: str
    order: int | None
    type: str
    value: float
    numerator: float
    denominator: float
    parts: tuple[tuple[str, Number], ...]


@dataclass(frozen=True)
class StandoutRatio:
    """One ratio's suggestions, best first; `excluded` are the units left out (a part blank or absent, or a
    denominator of 0 or under the minimum), in official order."""

    key: str
    label: str
    formula: str
    candidates: tuple[StandoutCandidate, ...]
    excluded: tuple[str, ...]


def _ratio(totals: PeriodTotals, spec: str | Ratio) -> Ratio | None:
    if isinstance(spec, Ratio):
        return spec
    try:
        line = totals.indicator(spec)
    except KeyError:
        return None
    return Ratio(line.key, line.label, line.formula) if line.formula else None


def suggest_standouts(
    totals: PeriodTotals,
    *,
    ratios: Iterable[str | Ratio] = STANDOUT_RATIOS,
    min_denominator: Number = 1,
) -> tuple[StandoutRatio, ...]:
    """Units ranked by each ratio of DOMAIN.md §4 (on-time dossiers, complaints resolved, models recognised per
    registered), for Sở Nội vụ to choose from; raw counts would favour large units.

    A catalogue key names a derived indicator and its formula; a ratio whose key or parts the period's totals
    lack is skipped. A unit is excluded when a part is blank or its report absent, or when the denominator is
    0 (no ratio) or under `min_denominator` (one dossier on time is not 100% worth praising). Order: the ratio
    descending, then the larger denominator (more work behind the same rate), then the official order.
    """
    out = []
    for spec in ratios:
        ratio = _ratio(totals, spec)
        if ratio is None:
            continue
        formula = parse_formula(ratio.formula)
        try:
            parts = {k: totals.indicator(k) for k in formula.names}
        except KeyError:
            continue
        rows = {k: {r.agency: r for r in line.by_unit} for k, line in parts.items()}
        units = [r for r in parts[formula.names[0]].by_unit if all(r.agency in rows[k] for k in formula.names)]
        ranked, excluded = [], []
        for unit in units:
            values = {k: rows[k][unit.agency].value for k in formula.names}
            sides = formula.numerator_denominator(values)
            value = formula.evaluate(values)
            if sides is None or value is None or sides[1] == 0 or sides[1] < min_denominator:
                excluded.append(unit.agency)
                continue
            ranked.append((unit, value, sides, tuple((k, v) for k, v in values.items() if v is not None)))
        ranked.sort(key=lambda item: (-item[1], -item[2][1], item[0].order is None, item[0].order or 0))
        candidates = []
        for index, (unit, value, (num, den), values) in enumerate(ranked):
            rank = candidates[-1].rank if candidates and candidates[-1].value == value else index + 1
            candidates.append(
                StandoutCandidate(rank, unit.agency, unit.name, unit.order, unit.type, value, num, den, values)
            )
        out.append(StandoutRatio(ratio.key, ratio.label, ratio.formula, tuple(candidates), tuple(excluded)))
    return tuple(out)


# --- presentation --------------------------------------------------------------------------------------------


def vn_figure(value: Number | None, unit: str = "") -> str:
    """A total as shown: 1.234 for counts, 95,5% for a rate (one decimal); blank for None."""
    if value is None:
        return ""
    if unit == "%":
        return f"{vn_number(value, 1)}%"
    return vn_number(value, 0 if float(value).is_integer() else 1)


def vn_change(change: Number | None, unit: str = "") -> str:
    """A difference with its sign: +12, -3, +2,5 điểm % for a rate; blank for None."""
    if change is None:
        return ""
    sign = "+" if change > 0 else "-" if change < 0 else ""
    text = f"{vn_number(abs(change), 1)} điểm %" if unit == "%" else vn_figure(abs(change), unit)
    return f"{sign}{text}"
