"""Operational alerts to Sở Nội vụ (F17): the scheduler held the ladder, or resumed it.

Kept apart from the alerts about units (handlers.on_obligation_event): these are about the platform itself.
Sở Nội vụ (the plan recipients of role `snv`) gets each by e-mail and in its inbox, once per hold and person:
the scheduler inserts each event once (`ladder:hold:<n>:held` / `:resumed`) and the notification ids follow
from it, so a redelivered event inserts nothing new.
"""

from __future__ import annotations

from typing import Any

from services.notifier.domain import (
    DELIVERED,
    EMAIL,
    INBOX,
    PENDING,
    Attempt,
    MailContext,
    Notification,
    attempt_id,
    message_id_for,
    notification_id,
)
from services.notifier.handlers import LedgerStore, _shelved, outcome_event
from services.notifier.messages import Message, _Para, _render
from shared.events import Event
from shared.formatting import vn_datetime
from shared.plan import Plan
from shared.timerules import Clock, parse_instant

LADDER_EVENTS = {"scheduler.ladder_held": "ladder_held", "scheduler.ladder_resumed": "ladder_resumed"}
OPERATIONS_ROLE = "snv"


def on_ladder_event(
    event: Event, *, ledger: LedgerStore, plan: Plan, clock: Clock, wall: Clock, mail: MailContext
) -> list[Notification]:
    """Tell Sở Nội vụ that alerts are held (and why) or have resumed: one e-mail and one inbox item per person."""
    level = LADDER_EVENTS[event.type]
    people = [r for r in plan.recipients if r.get("role") == OPERATIONS_ROLE and (r.get("email") or "").strip()]
    decided_at, due_at = clock.now(), wall.now()
    out: list[Notification] = []
    shelved: list[tuple[Attempt, Event]] = []
    for person in people:
        email, name = person["email"].strip().lower(), str(person.get("name") or "")
        message = ladder_message(level, event.data, recipient_name=name)
        for channel in (EMAIL, INBOX):
            nid = notification_id(event.id, email, channel)
            notification = Notification(
                id=nid,
                event_id=event.id,
                event_type=event.type,
                agency="",
                period="",
                level=level,
                recipient=email,
                recipient_role=OPERATIONS_ROLE,
                recipient_name=name,
                channel=channel,
                status=PENDING,
                decided_at=decided_at,
                subject=message.subject,
                text=message.text,
                html=message.html,
                message_id=message_id_for(nid, mail.message_domain),
                attempts=0,
                next_attempt_at=due_at,
            )
            if channel == INBOX:
                notification = _shelved(notification, at=due_at)
                attempt = Attempt(attempt_id(nid, 1), nid, 1, due_at, INBOX, email, DELIVERED)
                shelved.append((attempt, outcome_event(notification, attempt)))
            out.append(notification)
    ledger.record_many(out)
    ledger.record_attempts(shelved)
    return out


def ladder_message(level: str, data: dict[str, Any], *, recipient_name: str) -> Message:
    """The Vietnamese texts of a hold (`ladder_held`: since when and why) or of its end (`ladder_resumed`)."""
    since = vn_datetime(parse_instant(data["held_since"]))
    blocks = [_Para(f"Kính gửi: {recipient_name}.")]
    if level == "ladder_held":
        subject = f"[Tạm dừng cảnh báo] Hệ thống tạm dừng nhắc nhở, đôn đốc báo cáo từ {since}"
        blocks += [
            _Para(
                f"Từ {since}, hệ thống tạm dừng gửi các thông báo nhắc nhở, quá hạn và đôn đốc đến các đơn vị, "
                "để không báo sai cho những đơn vị đã nộp báo cáo."
            ),
            _Para(f"Lý do: {data['reason']}"),
            _Para(
                "Các báo cáo đơn vị đã gửi vẫn được lưu đầy đủ. Trong thời gian này, đề nghị không đôn đốc đơn vị "
                "theo bảng theo dõi; bộ phận kỹ thuật cần kiểm tra hàng đợi thông điệp và các tiến trình của hệ "
                "thống. Hệ thống sẽ gửi thông báo khi hoạt động lại."
            ),
        ]
    elif level == "ladder_resumed":
        resumed = vn_datetime(parse_instant(data["resumed_at"]))
        subject = f"[Hoạt động lại] Hệ thống đã tiếp tục nhắc nhở, đôn đốc báo cáo từ {resumed}"
        blocks += [
            _Para(
                f"Luồng dữ liệu báo cáo đã phục hồi. Các thông báo nhắc nhở, quá hạn và đôn đốc tạm dừng từ {since} "
                f"đã được xét lại lúc {resumed} với mọi báo cáo hệ thống đã nhận."
            ),
            _Para(
                "Đơn vị chưa nộp chỉ nhận mức thông báo cao nhất đến hạn; các mức cũ hơn được bỏ qua, đơn vị đã nộp "
                "không nhận thông báo quá hạn."
            ),
        ]
    else:
        raise ValueError(f"unknown operational level: {level!r}")
    return _render(subject, list(blocks))
