"""Scheduler: the plan's calendar: units, obligations, deadlines, the clock, reminders and escalations.

An `obligation` is a unit's duty to report for a period (`2019-H1`). Owns the `<prefix>scheduler` database:
obligations (static facts), the outbox (every transition of an obligation as an event, the append-only log
from which its state is derived) and the pass state (`processed_up_to`). Consumes `report.submitted`;
emits `obligation.*` and `unit.*`.
"""
