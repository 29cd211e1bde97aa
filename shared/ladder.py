"""The alert ladder (F7): its level names, in order, and every Vietnamese label of a level, defined once."""

from __future__ import annotations

LADDER_LEVELS = ("reminder_7", "reminder_1", "overdue", "escalation_1", "escalation_2")
# What the board says a unit has reached.
LEVEL_LABELS = {
    "reminder_7": "Nhắc hạn (trước 7 ngày)",
    "reminder_1": "Nhắc hạn (trước 1 ngày)",
    "overdue": "Quá hạn",
    "escalation_1": "Đôn đốc lần 1 (Giám đốc Sở Nội vụ)",
    "escalation_2": "Đôn đốc lần 2 (Phó Chủ tịch UBND tỉnh)",
}
# What the daily digest and the leadership's inbox say of a late unit (the levels the digest carries).
DIGEST_LEVEL_LABELS = {
    "overdue": "Quá hạn",
    "escalation_1": "Đã báo cáo Giám đốc Sở Nội vụ",
    "escalation_2": "Đã báo cáo lãnh đạo UBND tỉnh",
}
# Who an escalation is reported to, by level or by the plan's role code, when the plan names nobody.
ESCALATED_TO_NAMES = {
    "escalation_1": "Giám đốc Sở Nội vụ",
    "escalation_2": "Phó Chủ tịch UBND tỉnh phụ trách",
    "snv_director": "Giám đốc Sở Nội vụ",
    "ubnd_vice_chairman": "Phó Chủ tịch UBND tỉnh phụ trách",
}
