"""Intake's use cases: one function per command."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from services.intake.accounts.domain import (
    HISTORY_SECONDS,
    MAX_EMAIL,
    MAX_NAME,
    MAX_PASSWORD,
    AccountLocked,
    InvalidAccount,
    LoginAttempt,
    LoginFailed,
    User,
    check_email,
    check_password,
    check_role,
    dummy_hash,
    hash_password,
    locked_until,
    nfc,
    normalize_email,
    verify_password,
)
from services.intake.domain import (
    AgencyMismatch,
    Draft,
    DraftNotFound,
    Extension,
    Pdf,
    PdfInvalid,
    PdfNotFound,
    PeriodNotOpen,
    Report,
    ReportAlreadySubmitted,
    ReportInvalid,
    ReportNotFound,
    RevisionConflict,
    RevisionNotFound,
    UnknownAgency,
    check_rules,
    completeness,
    diff_content,
)
from shared.auth import Principal, issue_token
from shared.events import Event, ObligationExtended, ReportAmended, ReportSubmitted, report_subject
from shared.formatting import vn_date
from shared.plan import Plan, Template
from shared.timerules import Clock, Deadline, is_on_time, local_date


class ReportStore(Protocol):
    """Where report revisions and their pending events are kept."""

    def add(self, report: Report, event: Event, *more: Event) -> None:
        """Store one revision and its events in one write; raise ReportAlreadySubmitted / RevisionConflict if taken."""
        ...

    def revision(self, agency: str, period: str, revision: int) -> Report | None:
        """One revision, or None."""
        ...

    def revisions(self, agency: str, period: str) -> list[Report]:
        """Every revision, oldest first."""
        ...

    def latest(self, agency: str, period: str) -> Report | None:
        """The highest revision, in the same few reads whatever the number of revisions; None without a report."""
        ...

    def by_idempotency_key(self, agency: str, period: str, key: str, submitted_by: str) -> Report | None:
        """The first revision `submitted_by` stored with the Idempotency-Key `key`, or None."""
        ...


class DraftStore(Protocol):
    """A unit's drafts, one per period, rewritten by their unit only."""

    def put(self, draft: Draft) -> None:
        """Save (replace) the draft."""
        ...

    def get(self, agency: str, period: str) -> Draft | None:
        """The draft, or None."""
        ...

    def delete(self, agency: str, period: str) -> None:
        """Forget the draft."""
        ...


class PdfStore(Protocol):
    """Signed PDFs, one per revision, stored once."""

    def add_pdf(self, pdf: Pdf) -> None:
        """Store the PDF of a revision; raise PdfAlreadyAttached if it has one."""
        ...

    def pdf(self, agency: str, period: str, revision: int) -> Pdf | None:
        """The PDF of a revision, or None."""
        ...


class ExtensionStore(Protocol):
    """Intake's own copy of the granted extensions: one document per (unit, period, generation), inserted once."""

    def add(self, extension: Extension) -> bool:
        """Store a granted generation once; False when that generation is already known."""
        ...

    def deadlines(self, agency: str, period: str) -> list[Deadline]:
        """The granted generations (2 and later) of one unit's period, in generation order."""
        ...


@dataclass(frozen=True)
class SubmitReport:
    """A report for a period (content already validated against its template).

    `received_at` is set only for a report Sở Nội vụ records on a unit's behalf (the văn thư's date);
    otherwise intake takes it from the clock when it accepts the report.
    """

    agency: str
    period: str
    content: dict[str, Any]
    source: str
    correlation_id: str | None = None
    idempotency_key: str | None = None
    received_at: datetime | None = None
    document: dict[str, Any] | None = None


def check_caller_may_act_for(principal: Principal, agency: str) -> None:
    """A unit's officer acts only for their own unit."""
    if principal.is_agency() and principal.agency != agency:
        raise AgencyMismatch("Mã đơn vị trong báo cáo khác đơn vị của tài khoản.", field="agency")


def check_period_open(plan: Plan, agency: str, period: str, *, now: datetime) -> Template:
    """The unit's template for `period`; raise unless the unit is a reporting unit that owes that report and the
    period's plan year has opened by business time `now` (`Plan.is_open`: the scheduler owes its obligations from
    then; a later year's report is refused with the day it opens)."""
    unit = plan.unit(agency)
    if unit is None or not unit.reports:
        raise UnknownAgency(f"Không có đơn vị báo cáo mã '{agency}'.", field="agency")
    entry = plan.period(period)
    if entry is None:
        raise PeriodNotOpen(f"Không có kỳ báo cáo '{period}'.", field="period")
    opens = plan.year_opens_at(entry.deadline_day.year)
    if entry.applicable and opens is not None and now < opens:
        raise PeriodNotOpen(f"Kỳ {period} chưa mở: nhận báo cáo từ ngày {vn_date(local_date(opens))}.", field="period")
    template = plan.template_for(agency, period)
    if template is None or not plan.is_expected(agency, period):
        reason = entry.not_applicable_reason or "Đơn vị không thuộc diện báo cáo kỳ này."
        raise PeriodNotOpen(f"Kỳ {period} không nhận báo cáo: {reason}", field="period")
    return template


def deadlines_for(plan: Plan, agency: str, period: str, *, extensions: ExtensionStore | None = None) -> list[Deadline]:
    """Intake's own copy of an obligation's deadlines: the plan's (generation 1), then each extension granted to
    the unit for that period that intake has learnt from `obligation.extended` (none without `extensions`)."""
    entry = plan.period(period)
    if entry is None or entry.due_before is None:
        return []
    granted = extensions.deadlines(agency, period) if extensions is not None else []
    return [Deadline(generation=1, due_before=entry.due_before), *granted]


def on_obligation_extended(event: Event, *, extensions: ExtensionStore) -> bool:
    """Sở Nội vụ granted a later deadline: keep that generation for intake's on-time answer; True when new.

    Stored once per (unit, period, generation), so the same event delivered twice (or a replay) changes
    nothing, and generations arriving out of order are each kept: the time rule picks the one in force.
    """
    data = ObligationExtended.of(event)
    extension = Extension(
        agency=data.agency,
        period=data.period,
        generation=data.generation,
        due_before=data.due_before,
        effective_from=data.effective_from,
        event_id=event.id,
    )
    return extensions.add(extension)


def _checked(template: Template, content: dict[str, Any]) -> dict[str, str]:
    """Apply the cross-field rules: raise on errors, return the warnings."""
    errors, warnings = check_rules(template.rules, content.get("indicators") or {})
    if errors:
        raise ReportInvalid(errors)
    return warnings


def _replay(reports: ReportStore, cmd: SubmitReport, principal: Principal) -> Report | None:
    """The revision an earlier request with the same Idempotency-Key (from the same person) created."""
    if not cmd.idempotency_key:
        return None
    return reports.by_idempotency_key(cmd.agency, cmd.period, cmd.idempotency_key, principal.sub)


def _submitted(report: Report) -> ReportSubmitted:
    """The `report.submitted` data of a revision (an amendment carries the same fields and two more)."""
    return ReportSubmitted(
        report_id=report.report_id,
        agency=report.agency,
        period=report.period,
        revision=report.revision,
        received_at=report.received_at,
        on_time=report.on_time,
        completeness=report.completeness,
        source=report.source,
        submitted_by=report.submitted_by,
        content=report.content,
    )


def _contacts_event(report: Report, occurred_at: datetime) -> Event:
    """The staff list's people become the unit's contacts for alerts (F6)."""
    contacts = [
        {
            "alert_role": person.get("alert_role") or "other",
            "name": person["ho_ten"],
            "title": person.get("chuc_vu") or "",
            "email": person.get("email"),
            "phone": person.get("dien_thoai"),
        }
        for person in report.content.get("staff", ())
    ]
    return Event(
        id=f"unit:{report.agency}:contacts:{report.period}:r{report.revision}",
        type="unit.contacts_changed",
        subject=f"unit:{report.agency}",
        subject_version=report.revision,
        producer="intake",
        occurred_at=occurred_at,
        data={"agency": report.agency, "contacts": contacts},
    )


def submit_report(
    cmd: SubmitReport,
    principal: Principal,
    *,
    reports: ReportStore,
    plan: Plan,
    clock: Clock,
    extensions: ExtensionStore | None = None,
) -> Report:
    """Accept a unit's first report for a period: received now (or on the văn thư's date), verdict by the pure
    time rule, its events queued in the same write. The same Idempotency-Key returns the first answer.

    The verdict uses the plan's deadline and the extensions in `extensions` (the generation in force at
    `received_at`); a caller that passes none gets the plan's deadline only. It is intake's answer to the unit:
    the scheduler's verdict on `report.submitted` stays authoritative (an extension intake has not learnt yet
    is counted there)."""
    check_caller_may_act_for(principal, cmd.agency)
    template = check_period_open(plan, cmd.agency, cmd.period, now=clock.now())
    replayed = _replay(reports, cmd, principal)
    if replayed is not None and replayed.revision == 1:
        return replayed
    warnings = _checked(template, cmd.content)
    now = clock.now()
    received_at = cmd.received_at or now
    deadlines = deadlines_for(plan, cmd.agency, cmd.period, extensions=extensions)
    on_behalf = cmd.received_at is not None
    report = Report(
        agency=cmd.agency,
        period=cmd.period,
        revision=1,
        received_at=received_at,
        on_time=is_on_time(received_at, deadlines) if deadlines else None,
        completeness=completeness(template, cmd.content),
        content=cmd.content,
        submitted_by=principal.sub,
        source=cmd.source,
        warnings=warnings,
        recorded_by=principal.sub if on_behalf else None,
        recorded_at=now if on_behalf else None,
        document=cmd.document,
        idempotency_key=cmd.idempotency_key,
    )
    event = Event(
        id=f"report:{cmd.agency}:{cmd.period}:r1:submitted",
        type="report.submitted",
        subject=report_subject(cmd.agency, cmd.period),
        subject_version=1,
        producer="intake",
        occurred_at=now,
        correlation_id=cmd.correlation_id,
        data=_submitted(report).to_data(),
    )
    more = (_contacts_event(report, now),) if template.staff_fields else ()
    try:
        reports.add(report, event, *more)
    except ReportAlreadySubmitted:
        replayed = _replay(reports, cmd, principal)
        if replayed is not None and replayed.revision == 1:
            return replayed  # a concurrent retry of the same request won the insert
        raise
    return report


def amend_report(cmd: SubmitReport, principal: Principal, *, reports: ReportStore, plan: Plan, clock: Clock) -> Report:
    """A correction (F5): a new revision with who and when; the receipt and the verdict stay the first one's."""
    check_caller_may_act_for(principal, cmd.agency)
    template = check_period_open(plan, cmd.agency, cmd.period, now=clock.now())
    replayed = _replay(reports, cmd, principal)
    if replayed is not None:
        return replayed
    latest = reports.latest(cmd.agency, cmd.period)
    first = reports.revision(cmd.agency, cmd.period, 1)
    if latest is None or first is None:
        raise ReportNotFound("Chưa có báo cáo kỳ này: gửi báo cáo lần đầu (POST) trước khi điều chỉnh.")
    warnings = _checked(template, cmd.content)
    now = clock.now()
    report = replace(
        first,
        revision=latest.revision + 1,
        completeness=completeness(template, cmd.content),
        content=cmd.content,
        submitted_by=principal.sub,
        source=cmd.source,
        warnings=warnings,
        amended_at=now,
        idempotency_key=cmd.idempotency_key,
        recorded_by=None,
        recorded_at=None,
        document=None,
    )
    event = Event(
        id=f"report:{cmd.agency}:{cmd.period}:r{report.revision}:amended",
        type="report.amended",
        subject=report_subject(cmd.agency, cmd.period),
        subject_version=report.revision,
        producer="intake",
        occurred_at=now,
        correlation_id=cmd.correlation_id,
        data=ReportAmended(**asdict(_submitted(report)), previous_revision=latest.revision, amended_at=now).to_data(),
    )
    more = (_contacts_event(report, now),) if template.staff_fields else ()
    try:
        reports.add(report, event, *more)
    except RevisionConflict:
        replayed = _replay(reports, cmd, principal)
        if replayed is not None:
            return replayed  # a concurrent retry of the same request took the revision
        raise
    return report


def get_report(
    agency: str, period: str, principal: Principal, *, reports: ReportStore, revision: int | None = None
) -> Report:
    """A revision of a report (the latest by default); a unit sees only its own (another unit's answers 404)."""
    if principal.is_agency() and principal.agency != agency:
        raise ReportNotFound("Không tìm thấy báo cáo.")
    if revision is not None:
        found = reports.revision(agency, period, revision)
        if found is None:
            raise RevisionNotFound(f"Không có bản số {revision} của báo cáo này.", field="revision")
        return found
    latest = reports.latest(agency, period)
    if latest is None:
        raise ReportNotFound("Không tìm thấy báo cáo.")
    return latest


def diff_revisions(
    agency: str, period: str, principal: Principal, *, reports: ReportStore, old: int, new: int
) -> list[dict[str, Any]]:
    """Exactly the fields that differ between two revisions."""
    before = get_report(agency, period, principal, reports=reports, revision=old)
    after = get_report(agency, period, principal, reports=reports, revision=new)
    return diff_content(before.content, after.content)


def save_draft(
    agency: str,
    period: str,
    content: dict[str, Any],
    principal: Principal,
    *,
    drafts: DraftStore,
    plan: Plan,
    clock: Clock,
) -> tuple[Draft, dict[str, str], dict[str, str]]:
    """Keep a unit's draft (no event, no verdict); return it with the rule errors and warnings it would meet."""
    check_caller_may_act_for(principal, agency)
    template = check_period_open(plan, agency, period, now=clock.now())
    draft = Draft(agency=agency, period=period, content=content, saved_by=principal.sub, saved_at=clock.now())
    drafts.put(draft)
    errors, warnings = check_rules(template.rules, content.get("indicators") or {})
    return draft, errors, warnings


def get_draft(agency: str, period: str, principal: Principal, *, drafts: DraftStore) -> Draft:
    """The unit's draft; another unit's answers 404."""
    if principal.is_agency() and principal.agency != agency:
        raise DraftNotFound("Không tìm thấy bản nháp.")
    draft = drafts.get(agency, period)
    if draft is None:
        raise DraftNotFound("Chưa có bản nháp cho kỳ này.")
    return draft


# --- accounts (F13) -------------------------------------------------------------------------------------


class UserStore(Protocol):
    """Accounts by e-mail, and the login attempts the lockout is derived from (appended, never updated)."""

    def add(self, user: User) -> None:
        """Insert the account once; raise AccountExists if the e-mail is taken."""
        ...

    def get(self, email: str) -> User | None:
        """The account, or None."""
        ...

    def record_attempt(self, attempt: LoginAttempt) -> None:
        """Append one login attempt."""
        ...

    def attempts(self, email: str, *, since: float) -> list[LoginAttempt]:
        """The attempts on `email` at or after `since` (real-clock seconds)."""
        ...

    def set_password(self, email: str, password_hash: str) -> None:
        """Replace the account's password hash."""
        ...


@dataclass(frozen=True)
class CreateUser:
    """Open an account: a unit's officer names the unit (role `agency`), anyone else a role."""

    email: str
    password: str
    role: str
    agency: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Session:
    """A successful login: the signed token (`sub` = the e-mail) and the account."""

    token: str
    user: User


def create_user(cmd: CreateUser, *, users: UserStore, plan: Plan, now: Callable[[], float] = time.time) -> User:
    """Open an account: e-mail (NFC, lower case) as its key, the argon2 hash of the password, the role and,
    for a unit's officer, a reporting unit of the plan."""
    email = normalize_email(cmd.email)
    check_email(email)
    check_role(cmd.role, cmd.agency)
    if cmd.agency is not None:
        unit = plan.unit(cmd.agency)
        if unit is None or not unit.reports:
            raise UnknownAgency(f"Không có đơn vị báo cáo mã '{cmd.agency}' trong kế hoạch.", field="agency")
    check_password(nfc(cmd.password))
    name = nfc(cmd.name).strip() if cmd.name else ""
    user = User(
        email=email,
        password_hash=hash_password(cmd.password),
        role=cmd.role,
        agency=cmd.agency,
        name=name[:MAX_NAME] or email,
        created_at=datetime.fromtimestamp(now(), UTC),
    )
    users.add(user)
    return user


def login(
    email: str,
    password: str,
    *,
    users: UserStore,
    secret: str,
    ttl_seconds: int,
    now: Callable[[], float] = time.time,
) -> Session:
    """Check the password and sign a token; every attempt is recorded, and 5 failures lock the account for
    15 minutes (AccountLocked, even with the right password). `now` is the real clock, never the business one.
    Unknown e-mails are answered, timed and locked like known ones, so the answers reveal nothing."""
    user = checked_user(email, password, users=users, now=now)
    token = issue_token(secret, sub=user.email, role=user.role, agency=user.agency, ttl_seconds=ttl_seconds)
    return Session(token=token, user=user)


def checked_user(email: str, password: str, *, users: UserStore, now: Callable[[], float] = time.time) -> User:
    """The account whose password this is, the attempt recorded and counted as a login's (LoginFailed,
    AccountLocked): the check a login and a password change make."""
    email = normalize_email(email)
    at = now()
    until = locked_until(users.attempts(email, since=at - HISTORY_SECONDS), at)
    if until is not None:
        raise AccountLocked(max(1, math.ceil(until - at)))
    user = users.get(email)
    checked = password if len(password) <= MAX_PASSWORD else ""  # a hostile length costs no more than a short one
    ok = verify_password(user.password_hash if user else dummy_hash(), checked) and bool(checked) and user is not None
    if len(email) <= MAX_EMAIL:  # longer is no address: nothing to lock
        users.record_attempt(LoginAttempt(email=email, at=at, ok=ok))
    if not ok or user is None:
        raise LoginFailed()
    return user


def change_password(
    email: str, current: str, new: str, *, users: UserStore, now: Callable[[], float] = time.time
) -> User:
    """Change a person's password: the current one checked as a login is (a wrong one counts towards the
    lockout), the new one as an account's (InvalidAccount naming `new_password`), then stored. Sessions already
    open stay open until they end (logout or expiry)."""
    try:
        check_password(new)
    except InvalidAccount as exc:
        raise InvalidAccount(exc.message, field="new_password") from exc
    user = checked_user(email, current, users=users, now=now)
    users.set_password(user.email, hash_password(new))
    return user


def attach_pdf(
    agency: str, period: str, data: bytes, principal: Principal, *, reports: ReportStore, pdfs: PdfStore, clock: Clock
) -> Pdf:
    """Attach the signed PDF to the report's latest revision (once per revision)."""
    check_caller_may_act_for(principal, agency)
    latest = get_report(agency, period, principal, reports=reports)
    if not data.startswith(b"%PDF-"):
        raise PdfInvalid("Tệp đính kèm phải là tài liệu PDF.", field="file")
    pdf = Pdf(agency, period, latest.revision, data, uploaded_by=principal.sub, uploaded_at=clock.now())
    pdfs.add_pdf(pdf)
    return pdf


def get_pdf(
    agency: str, period: str, principal: Principal, *, reports: ReportStore, pdfs: PdfStore, revision: int | None
) -> Pdf:
    """The signed PDF of a revision (the latest by default); a unit sees only its own."""
    report = get_report(agency, period, principal, reports=reports, revision=revision)
    pdf = pdfs.pdf(agency, period, report.revision)
    if pdf is None:
        raise PdfNotFound("Bản báo cáo này chưa có tệp PDF đã ký.")
    return pdf
