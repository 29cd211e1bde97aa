"""Notifier: decides who hears of each obligation event, delivers it by e-mail and keeps the ledger.

Owns the `<prefix>notifier` database: `notifications` (the ledger, one document per (event, recipient,
channel)), `bodies` (their texts), `attempts` (append-only, each carrying its `notification.delivered` or
`notification.failed` event: the outbox), `resends`, `contacts` (the units' staff lists) and the published
`events`. Consumes `obligation.*` and `unit.contacts_changed`; emits `notification.*` through its relay.
Processes: the HTTP app, the consumer (decides, inserts once), the sender (SMTP, retries from the ledger, no
broker connection) and the relay. Webhook, inbox and the daily digest come later (issue 5).
"""
