"""Scheduler: the plan's calendar: units, obligations, deadlines, the clock, reminders and escalations.

An `obligation` is a unit's duty to report for a period (`2019-H1`). Owns the `<prefix>scheduler` database:
obligations (static facts), the outbox (every transition of an obligation as an event, the append-only log
from which its state is derived), the pass state (`processed_up_to`) and the plan's versions (the unit lists Sở Nội
vụ publishes, and the clean uploads awaiting publication). Consumes `report.submitted`; emits `obligation.*`,
`unit.*` and `plan.published`.
"""
