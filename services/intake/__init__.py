"""Intake: units post and amend reports, validated against their template; stores them with their events.

Owns the `<prefix>intake` database (reports with their pending events, the published event log, and the
granted extensions it has learnt). Emits `report.submitted`, `report.amended`, `unit.contacts_changed`;
consumes `obligation.extended`, so that its own on-time answer counts a deadline Sở Nội vụ has moved.
"""
