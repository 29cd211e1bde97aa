"""A plan's calendar for any year, generated from the rules the plan states (issue 14, DOMAIN.md §3).

The seed plan is standing ("Định kỳ hàng quý (ngày 10 của tháng cuối quý), 6 tháng (ngày 10 tháng 6), năm (ngày 10
tháng 12)"), so its calendar is not a list of dates but rules, read each year:
- quarterly: day `day` of the quarter's last month (`{year}-Q1` .. `{year}-Q4`);
- 6-month (`{year}-H1`) and yearly (`{year}-FY`): a day and a month, each serving the quarters it replaces (the
  seed's 6-month report serves Q2 and its yearly report Q4: one submission, never Q2 = H1 − Q1);
- one-off reports with their own date (`2019-STAFF`, "trước 30/3/2019"), listed in the year of their deadline;
- the data window (NĐ 09/2019/NĐ-CP Điều 12): a report covering months a..b of year Y counts from the day after the
  cut-off day of month a-1 (December of Y-1 for a = 1) to the cut-off day of month b. With the cut-off on the 14th
  this gives exactly the 2019 windows of the explicit calendar (2019-H1: 15/12/2018 - 14/6/2019, 2019-Q3:
  15/6 - 14/9, 2019-FY: 15/12/2018 - 14/12/2019); nothing in 2019 is irregular, so no first-window rule exists;
- the day the plan takes effect (`effective_from`) and, once a successor is known, the first day it is no longer in
  force (`effective_until`, exclusive like `Unit.valid_until`: a plan that "ends on 30/6/2025" has 2025-07-01).

Choices where the plan is silent, as a serious product would make them:
- A period whose deadline day falls before `effective_from` is listed but not applicable, with the reason in
  Vietnamese and, where an applicable report of the same year covers its months, which one (2019-Q1 is covered by
  2019-H1). A deadline on the effective day itself is demanded.
- A period whose deadline day is on or after `effective_until` is not generated at all: the plan no longer exists
  then. A quarter whose serving report is not generated (it falls after the end) is demanded on its own.
- A served quarter stays in the calendar, not applicable, with its `served_by`; the serving report lists it in
  `serves`. A deadline on a weekend or a holiday is kept as the plan states it (2019-Q1 fell on a Sunday): the
  ladder, not the calendar, moves reminders to working days.
- Each rule names a day every month it is used in has in every year: day 29-31 of a month that lacks it in some year
  (29/2 above all) is refused, so a leap year never changes which periods exist.
- Rules taken over from an earlier plan until the new plan's own text is entered name that plan in
  `carried_over_from` (plans/vinh-long-2026 runs the 2019 Trà Vinh deadlines until its 2026 text is entered), so a
  page can say the dates are provisional; the rules work the same either way.
- Malformed rules are refused with `CalendarRuleError`, in Vietnamese with the path of the bad field: Sở Nội vụ will
  edit these rules in the product.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.formatting import nfc, vn_day
from shared.timerules import due_before_for_deadline_day

RECURRING_KINDS = ("quarterly", "semiannual", "annual")
ONE_OFF_KINDS = ("staff_list",)  # a one-off kind must have its own template (Plan.template_for knows staff_list)
QUARTER_KEYS = ("Q1", "Q2", "Q3", "Q4")
_ROMAN = ("I", "II", "III", "IV")
_RESERVED_SUFFIXES = (*QUARTER_KEYS, "H1", "FY")
_ONE_OFF_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
_PERIOD_KEY = re.compile(r"^([0-9]{4})-[A-Z][A-Z0-9_]*$")
_SPAN_MONTHS = {"semiannual": (1, 6), "annual": (1, 12)}
_SPAN_SUFFIX = {"semiannual": "H1", "annual": "FY"}
_SPAN_TITLE = {"semiannual": "6 tháng đầu năm", "annual": "năm"}
_TOP_KEYS = frozenset(
    {
        "effective_from",
        "effective_until",
        "source",
        "carried_over_from",
        "quarterly",
        "semiannual",
        "annual",
        "data_window",
        "one_off",
    }
)


class CalendarRuleError(ValueError):
    """A plan's calendar rules are malformed; the message names the field and says why, in Vietnamese."""


@dataclass(frozen=True)
class Period:
    """One entry of the calendar: a reporting period and its deadline (or why it is not applicable)."""

    key: str
    kind: str
    name: str
    rule: str
    applicable: bool
    deadline_day: date
    due_before: datetime | None
    data_window: tuple[date, date] | None
    serves: tuple[str, ...] = ()
    served_by: str | None = None
    not_applicable_reason: str | None = None


@dataclass(frozen=True)
class SpanRule:
    """The 6-month or yearly report: due on `day`/`month` of its year, serving the quarters in `serves`."""

    day: int
    month: int
    serves: tuple[str, ...] = ()


@dataclass(frozen=True)
class OneOffRule:
    """A report due once: `{year of its deadline}-{key}`, late from local midnight at the start of `before`."""

    key: str
    kind: str
    name: str
    before: date

    @property
    def deadline_day(self) -> date:
        """The last day it is on time: the day before `before`."""
        return self.before - timedelta(days=1)


def _covers(outer: tuple[int, int] | None, inner: tuple[int, int] | None) -> bool:
    """True when the months `outer` spans include every month of `inner`."""
    return outer is not None and inner is not None and outer[0] <= inner[0] and inner[1] <= outer[1]


@dataclass(frozen=True)
class _Draft:
    """A period of one year before its applicability is decided."""

    suffix: str
    kind: str
    title: str
    name: str
    rule: str
    deadline_day: date
    months: tuple[int, int] | None
    serves: tuple[str, ...] = ()


@dataclass(frozen=True)
class CalendarRules:
    """What a plan states about its calendar; `calendar_for(year)` turns it into periods."""

    issued_on: date
    effective_from: date
    effective_until: date | None
    quarterly_day: int | None
    semiannual: SpanRule | None
    annual: SpanRule | None
    cutoff_day: int | None
    one_off: tuple[OneOffRule, ...] = ()
    source: str = ""
    window_basis: str = ""
    carried_over_from: str | None = None  # the plan these rules are taken from while this plan's text is missing

    def in_force_in(self, year: int) -> bool:
        """True when the plan is in force on some day of `year`."""
        return self.effective_from.year <= year and (
            self.effective_until is None or date(year, 1, 1) < self.effective_until
        )

    def calendar_for(self, year: int) -> tuple[Period, ...]:
        """Every period of `year`, ordered by deadline day (a serving report before the quarter it serves);
        empty when the plan is not in force that year."""
        if not self.in_force_in(year):
            return ()
        drafts = {
            d.suffix: d
            for d in self._drafts(year)
            if self.effective_until is None or d.deadline_day < self.effective_until
        }
        served_by = {quarter: d.suffix for d in drafts.values() for quarter in d.serves if quarter in drafts}
        periods = [self._period(year, d, drafts, served_by) for d in drafts.values()]
        return tuple(sorted(periods, key=lambda p: (p.deadline_day, p.served_by is not None)))

    def _drafts(self, year: int) -> list[_Draft]:
        drafts: list[_Draft] = []
        if self.quarterly_day is not None:
            for n, roman in enumerate(_ROMAN, start=1):
                drafts.append(
                    _Draft(
                        suffix=f"Q{n}",
                        kind="quarterly",
                        title=f"quý {roman}",
                        name=f"Báo cáo quý {roman} năm {year}",
                        rule=f"ngày {self.quarterly_day} của tháng cuối quý",
                        deadline_day=date(year, 3 * n, self.quarterly_day),
                        months=(3 * n - 2, 3 * n),
                    )
                )
        for kind, span in (("semiannual", self.semiannual), ("annual", self.annual)):
            if span is not None:
                title = _SPAN_TITLE[kind]
                drafts.append(
                    _Draft(
                        suffix=_SPAN_SUFFIX[kind],
                        kind=kind,
                        title=title,
                        name=f"Báo cáo {title} {year}",
                        rule=f"ngày {span.day} tháng {span.month}",
                        deadline_day=date(year, span.month, span.day),
                        months=_SPAN_MONTHS[kind],
                        serves=span.serves,
                    )
                )
        for once in self.one_off:
            if once.deadline_day.year == year:
                drafts.append(
                    _Draft(
                        suffix=once.key,
                        kind=once.kind,
                        title=once.name,
                        name=once.name,
                        rule=f"trước {vn_day(once.before)}",
                        deadline_day=once.deadline_day,
                        months=None,
                    )
                )
        return drafts

    def _period(self, year: int, draft: _Draft, drafts: dict[str, _Draft], served_by: dict[str, str]) -> Period:
        server = served_by.get(draft.suffix)
        reason = None
        if draft.deadline_day < self.effective_from:
            reason = self._before_effect_reason(draft, drafts, served_by)
        elif server is not None:
            reason = f"Báo cáo {drafts[server].title} thay cho báo cáo {draft.title}."
        return Period(
            key=f"{year}-{draft.suffix}",
            kind=draft.kind,
            name=draft.name,
            rule=draft.rule,
            applicable=reason is None,
            deadline_day=draft.deadline_day,
            due_before=None if reason else due_before_for_deadline_day(draft.deadline_day),
            data_window=None if reason else self._window(year, draft.months),
            serves=tuple(f"{year}-{q}" for q in draft.serves if q in drafts),
            served_by=f"{year}-{server}" if server else None,
            not_applicable_reason=reason,
        )

    def _before_effect_reason(self, draft: _Draft, drafts: dict[str, _Draft], served_by: dict[str, str]) -> str:
        """Why a period due before the plan took effect is not demanded, and which demanded report of the same
        year covers its months (the earliest due), if one does."""
        start = "ngày ban hành Kế hoạch" if self.effective_from == self.issued_on else "ngày Kế hoạch có hiệu lực"
        reason = f"Hạn báo cáo ({vn_day(draft.deadline_day)}) trước {start} ({vn_day(self.effective_from)})"
        covering = [
            d
            for d in drafts.values()
            if d is not draft
            and d.suffix not in served_by
            and d.deadline_day >= self.effective_from
            and _covers(d.months, draft.months)
        ]
        if not covering:
            return f"{reason}."
        cover = min(covering, key=lambda d: d.deadline_day)
        return f"{reason}; kết quả {draft.title} được tổng hợp trong báo cáo {cover.title}."

    def _window(self, year: int, months: tuple[int, int] | None) -> tuple[date, date] | None:
        if months is None or self.cutoff_day is None:
            return None
        first, last = months
        opens = date(year - 1, 12, self.cutoff_day + 1) if first == 1 else date(year, first - 1, self.cutoff_day + 1)
        return opens, date(year, last, self.cutoff_day)


def parse_calendar_rules(raw: Any, *, issued_on: date) -> CalendarRules:
    """Read the `calendar_rules` object of a plan file; raise `CalendarRuleError` on anything malformed."""
    where = "calendar_rules"
    obj = _object(raw, where)
    _known_keys(obj, _TOP_KEYS, where)
    effective_from = _iso_date(obj.get("effective_from"), f"{where}.effective_from")
    until_raw = obj.get("effective_until")
    effective_until = None if until_raw is None else _iso_date(until_raw, f"{where}.effective_until")
    if effective_until is not None and effective_until <= effective_from:
        raise CalendarRuleError(
            f"{where}.effective_until: ngày hết hiệu lực ({until_raw}) phải sau ngày có hiệu lực ({effective_from})."
        )
    quarterly_day = None
    if obj.get("quarterly") is not None:
        quarterly = _object(obj["quarterly"], f"{where}.quarterly")
        _known_keys(quarterly, frozenset({"day"}), f"{where}.quarterly")
        quarterly_day = _day(quarterly.get("day"), (3, 6, 9, 12), f"{where}.quarterly.day")
    spans = {kind: _span(obj.get(kind), kind, f"{where}.{kind}") for kind in ("semiannual", "annual")}
    _check_serves(spans, quarterly_day is not None, where)
    window_basis, cutoff_day = "", None
    if obj.get("data_window") is not None:
        window = _object(obj["data_window"], f"{where}.data_window")
        _known_keys(window, frozenset({"cutoff_day", "basis"}), f"{where}.data_window")
        cutoff_day = _int(window.get("cutoff_day"), 1, 28, f"{where}.data_window.cutoff_day")
        window_basis = _text(window.get("basis", ""), f"{where}.data_window.basis")
    one_off = _one_offs(obj.get("one_off", []), effective_until, f"{where}.one_off")
    carried_over_from = None
    if obj.get("carried_over_from") is not None:
        carried_over_from = _text(obj["carried_over_from"], f"{where}.carried_over_from")
        if not carried_over_from:
            raise CalendarRuleError(f"{where}.carried_over_from: thiếu mã kế hoạch được kế thừa.")
    if quarterly_day is None and not any(spans.values()) and not one_off:
        raise CalendarRuleError(f"{where}: kế hoạch phải có ít nhất một loại báo cáo.")
    return CalendarRules(
        issued_on=issued_on,
        effective_from=effective_from,
        effective_until=effective_until,
        quarterly_day=quarterly_day,
        semiannual=spans["semiannual"],
        annual=spans["annual"],
        cutoff_day=cutoff_day,
        one_off=one_off,
        source=_text(obj.get("source", ""), f"{where}.source"),
        window_basis=window_basis,
        carried_over_from=carried_over_from,
    )


def _span(raw: Any, kind: str, where: str) -> SpanRule | None:
    if raw is None:
        return None
    obj = _object(raw, where)
    _known_keys(obj, frozenset({"day", "month", "serves"}), where)
    month = _int(obj.get("month"), 1, 12, f"{where}.month")
    day = _day(obj.get("day"), (month,), f"{where}.day")
    serves = obj.get("serves", [])
    if not isinstance(serves, list) or not all(isinstance(q, str) for q in serves):
        raise CalendarRuleError(f"{where}.serves: phải là danh sách mã quý (Q1..Q4).")
    first, last = _SPAN_MONTHS[kind]
    covered = [f"Q{n}" for n in range(1, 5) if first <= 3 * n - 2 and 3 * n <= last]
    for quarter in serves:
        if quarter not in covered:
            raise CalendarRuleError(
                f"{where}.serves: '{quarter}' không phải quý nằm trong kỳ báo cáo (chỉ được: {', '.join(covered)})."
            )
    if len(set(serves)) != len(serves):
        raise CalendarRuleError(f"{where}.serves: một quý được nêu hai lần.")
    return SpanRule(day=day, month=month, serves=tuple(serves))


def _check_serves(spans: dict[str, SpanRule | None], has_quarterly: bool, where: str) -> None:
    seen: dict[str, str] = {}
    for kind, span in spans.items():
        for quarter in span.serves if span else ():
            if not has_quarterly:
                raise CalendarRuleError(f"{where}.{kind}.serves: kế hoạch không có báo cáo quý để thay thế.")
            if quarter in seen:
                raise CalendarRuleError(
                    f"{where}.{kind}.serves: {quarter} đã được báo cáo khác ({seen[quarter]}) thay thế."
                )
            seen[quarter] = kind


def _one_offs(raw: Any, effective_until: date | None, where: str) -> tuple[OneOffRule, ...]:
    if not isinstance(raw, list):
        raise CalendarRuleError(f"{where}: phải là danh sách báo cáo một lần.")
    rules: list[OneOffRule] = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        obj = _object(item, at)
        _known_keys(obj, frozenset({"key", "kind", "name", "before"}), at)
        key = obj.get("key")
        if not isinstance(key, str) or not _ONE_OFF_KEY.match(key) or key in _RESERVED_SUFFIXES:
            raise CalendarRuleError(
                f"{at}.key: mã phải gồm chữ in hoa, chữ số, '_', bắt đầu bằng chữ, khác Q1..Q4, H1, FY (nhận {key!r})."
            )
        kind = obj.get("kind")
        if kind not in ONE_OFF_KINDS:
            raise CalendarRuleError(f"{at}.kind: loại báo cáo một lần phải là một trong {', '.join(ONE_OFF_KINDS)}.")
        name = _text(obj.get("name"), f"{at}.name")
        if not name:
            raise CalendarRuleError(f"{at}.name: thiếu tên báo cáo.")
        rule = OneOffRule(key=key, kind=kind, name=name, before=_iso_date(obj.get("before"), f"{at}.before"))
        if effective_until is not None and rule.deadline_day >= effective_until:
            raise CalendarRuleError(f"{at}.before: hạn báo cáo sau ngày Kế hoạch hết hiệu lực.")
        if any(r.key == key and r.deadline_day.year == rule.deadline_day.year for r in rules):
            raise CalendarRuleError(f"{at}.key: hai báo cáo một lần cùng mã {key} trong năm {rule.deadline_day.year}.")
        rules.append(rule)
    return tuple(rules)


def _object(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CalendarRuleError(f"{where}: phải là một đối tượng JSON.")
    return raw


def _known_keys(obj: dict[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(set(obj) - known)
    if unknown:
        raise CalendarRuleError(f"{where}: trường không được hỗ trợ: {', '.join(unknown)}.")


def _iso_date(raw: Any, where: str) -> date:
    if not isinstance(raw, str):
        raise CalendarRuleError(f"{where}: thiếu ngày (dạng YYYY-MM-DD).")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CalendarRuleError(f"{where}: '{raw}' không phải ngày hợp lệ (dạng YYYY-MM-DD).") from None


def _int(raw: Any, low: int, high: int, where: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
        raise CalendarRuleError(f"{where}: phải là số nguyên từ {low} đến {high} (nhận {raw!r}).")
    return raw


def _day(raw: Any, months: tuple[int, ...], where: str) -> int:
    """A day of the month that every one of `months` has in every year (a non-leap year's lengths)."""
    shortest = min(_stdlib_calendar.monthrange(2019, m)[1] for m in months)
    return _int(raw, 1, shortest, where)


def _text(raw: Any, where: str) -> str:
    if not isinstance(raw, str):
        raise CalendarRuleError(f"{where}: phải là chuỗi ký tự.")
    return nfc(raw.strip())


def year_of_key(key: str) -> int | None:
    """The year of a period key ('2020-Q1' -> 2020), or None when `key` is not `{year}-{suffix}`."""
    match = _PERIOD_KEY.match(key)
    return int(match.group(1)) if match else None
