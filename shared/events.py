"""The event envelope: plain data shared by every producer and consumer (schemas live in shared.catalogue).

`subject` is the aggregate an event is about (`report:<unit>:<period>`, `obligation:<unit>:<period>`,
`unit:<code>`) and `subject_version` grows with each change of it; consumers apply an event only when its
`subject_version` is newer than what they hold.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

EVENT_TYPES = (
    "report.submitted",
    "report.amended",
    "obligation.created",
    "obligation.reminder_due",
    "obligation.overdue",
    "obligation.escalated",
    "obligation.extension_requested",
    "obligation.extension_refused",
    "obligation.extended",
    "obligation.fulfilled",
    "obligation.waived",
    "obligation.closed",
    "unit.changed",
    "unit.contacts_changed",
    "notification.delivered",
    "notification.failed",
    "intake.watermark",
    "scheduler.ladder_held",
    "scheduler.ladder_resumed",
)


@dataclass(frozen=True)
class Event:
    """One event as it travels on the broker and is kept by its producer."""

    type: str
    subject: str
    subject_version: int
    data: dict[str, Any]
    producer: str
    occurred_at: datetime
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    correlation_id: str | None = None
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready envelope (instants as ISO 8601 strings in UTC)."""
        out = asdict(self)
        out["occurred_at"] = self.occurred_at.astimezone(UTC).isoformat()
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        """Rebuild an envelope already validated by shared.catalogue."""
        occurred = raw["occurred_at"]
        if isinstance(occurred, str):
            occurred = datetime.fromisoformat(occurred.replace("Z", "+00:00"))
        return cls(
            id=raw["id"],
            type=raw["type"],
            version=raw.get("version", 1),
            occurred_at=occurred,
            producer=raw["producer"],
            correlation_id=raw.get("correlation_id"),
            subject=raw["subject"],
            subject_version=int(raw["subject_version"]),
            data=dict(raw["data"]),
        )


def obligation_subject(agency: str, period: str) -> str:
    """The subject of an obligation's events."""
    return f"obligation:{agency}:{period}"


def report_subject(agency: str, period: str) -> str:
    """The subject of a report's events."""
    return f"report:{agency}:{period}"
