"""Intake: units post and amend reports, validated against their template; stores them with their events.

Owns the `<prefix>intake` database (reports with their pending events, the published event log).
Emits `report.submitted` (and later `report.amended`, `unit.contacts_changed`); consumes nothing yet.
"""
