"""The documents' inputs: plain dataclasses a period's consolidated data is made of (no layout, no file format)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from shared.plan import Indicator

Number = int | float


@dataclass(frozen=True)
class Issuer:
    """Who issues the documents: the header block's bodies, document symbols, the place and the addressee."""

    parent_body: str = "UBND TỈNH TRÀ VINH"
    issuing_body: str = "SỞ NỘI VỤ"
    name: str = "Sở Nội vụ"  # the issuing body in running text
    place: str = "Trà Vinh"
    addressee: str = "Ủy ban nhân dân tỉnh Trà Vinh"
    territory: str = "tỉnh Trà Vinh"  # "trên địa bàn ..."
    report_symbol: str = "BC-SNV"
    letter_symbol: str = "SNV-CCVC"


@dataclass(frozen=True)
class Signer:
    """The signature block: authority line ("KT. GIÁM ĐỐC", or None when the head signs), title, name."""

    name: str = ""
    title: str = "PHÓ GIÁM ĐỐC"
    authority: str | None = "KT. GIÁM ĐỐC"


@dataclass(frozen=True)
class ComplianceFigures:
    """DHIS2-style figures of a period: expected, received and on-time reports; rates derived (0-100, 1 decimal)."""

    expected: int
    actual: int
    on_time: int

    @property
    def late(self) -> int:
        """Reports received after the deadline."""
        return self.actual - self.on_time

    @property
    def missing(self) -> int:
        """Expected reports not received."""
        return self.expected - self.actual

    @property
    def reporting_rate(self) -> float | None:
        """REPORTING_RATE: received ÷ expected × 100, as the aggregator computes it; None with nothing expected."""
        return round(100.0 * self.actual / self.expected, 1) if self.expected else None

    @property
    def reporting_rate_on_time(self) -> float | None:
        """REPORTING_RATE_ON_TIME: on time ÷ expected × 100."""
        return round(100.0 * self.on_time / self.expected, 1) if self.expected else None


@dataclass(frozen=True)
class TotalRow:
    """One indicator's province total for the period and for the same period of the previous year (None: none)."""

    label: str
    unit: str
    total: Number | None
    previous: Number | None = None

    @property
    def change(self) -> Number | None:
        """Total minus the previous year's, when both exist."""
        if self.total is None or self.previous is None:
            return None
        return self.total - self.previous


@dataclass(frozen=True)
class AreaTotals:
    """A content area of the plan (1 to 5): its name, an optional summary written by Sở Nội vụ, its totals."""

    number: int
    name: str
    rows: Sequence[TotalRow] = ()
    summary: str | None = None


@dataclass(frozen=True)
class Standout:
    """A unit that stands out, chosen by Sở Nội vụ, with a short reason."""

    name: str
    reason: str


@dataclass(frozen=True)
class UnitText:
    """A passage gathered from one unit's report (assessment, difficulties, tasks, recommendations)."""

    unit: str
    text: str


@dataclass(frozen=True)
class IndicatorColumn:
    """A column of Annex I: indicator key, Vietnamese label, unit of measure, content area (groups the tables)."""

    key: str
    label: str
    unit: str = ""
    area: int | None = None


@dataclass(frozen=True)
class UnitRow:
    """A row of Annex I: one expected unit and its values by indicator key (missing key or None: blank)."""

    name: str
    values: Mapping[str, Number | None] = field(default_factory=dict)
    code: str | None = None

    def value(self, key: str) -> Number | None:
        """The unit's value for an indicator, None when not reported."""
        return self.values.get(key)


@dataclass(frozen=True)
class LateUnit:
    """Annex II: a unit whose report arrived after the deadline."""

    name: str
    received_on: date
    days_late: int


@dataclass(frozen=True)
class MissingUnit:
    """Annex II and the urging letter: a unit whose report has not arrived, and by how many days it is overdue."""

    name: str
    days_overdue: int


@dataclass(frozen=True)
class ConsolidatedData:
    """Everything the consolidated report and the tables show for one period (F12).

    `period_name` is the period in words without "Báo cáo" ("6 tháng đầu năm 2019"). The annex rows are the
    expected units in official order; late and missing units are listed as given. Texts gathered from units go
    to section II (strengths, difficulties, causes), III (next tasks) and IV (recommendations).
    """

    plan_title: str
    plan_issuer: str
    plan_issued_on: date
    period_key: str
    period_name: str
    year: int
    compliance: ComplianceFigures
    issuer: Issuer = Issuer()
    deadline_day: date | None = None
    as_of: date | None = None
    data_window: tuple[date, date] | None = None
    estimate_note: str | None = None
    areas: Sequence[AreaTotals] = ()
    standouts: Sequence[Standout] = ()
    assessment: str | None = None
    strengths: Sequence[UnitText] = ()
    difficulties: Sequence[UnitText] = ()
    causes: Sequence[UnitText] = ()
    next_tasks: Sequence[UnitText] = ()
    recommendations: Sequence[UnitText] = ()
    annex_columns: Sequence[IndicatorColumn] = ()
    annex_rows: Sequence[UnitRow] = ()
    late: Sequence[LateUnit] = ()
    missing: Sequence[MissingUnit] = ()

    @property
    def subject(self) -> str:
        """The report's subject line."""
        return f"Kết quả thực hiện công tác dân vận chính quyền {self.period_name}"


@dataclass(frozen=True)
class UrgingLetterData:
    """What the công văn đôn đốc needs: the plan, the period, its deadline and the units still overdue."""

    plan_title: str
    plan_issuer: str
    plan_issued_on: date
    period_key: str
    period_name: str
    year: int
    overdue: Sequence[MissingUnit]
    deadline_day: date | None = None
    issuer: Issuer = Issuer()

    @classmethod
    def from_consolidated(cls, data: ConsolidatedData) -> UrgingLetterData:
        """The letter's data taken from a period's consolidated data (its missing units)."""
        return cls(
            plan_title=data.plan_title,
            plan_issuer=data.plan_issuer,
            plan_issued_on=data.plan_issued_on,
            period_key=data.period_key,
            period_name=data.period_name,
            year=data.year,
            overdue=tuple(data.missing),
            deadline_day=data.deadline_day,
            issuer=data.issuer,
        )


def indicator_columns(indicators: Iterable[Indicator]) -> tuple[IndicatorColumn, ...]:
    """Annex I columns for a plan's numeric indicators (content areas 1-5, list-shaped ones left out), in order."""
    return tuple(
        IndicatorColumn(key=i.key, label=i.label, unit=i.unit, area=i.area)
        for i in indicators
        if i.area >= 1 and i.kind != "list"
    )


def column_header(column: IndicatorColumn) -> str:
    """An indicator column's heading: its label and, when it has one, its unit in parentheses."""
    return f"{column.label} ({column.unit})" if column.unit else column.label
