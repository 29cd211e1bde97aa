"""Notifier: decides who gets what for each obligation event, and keeps the ledger of notifications.

Owns the `<prefix>notifier` database (the notification ledger). Consumes `obligation.*`. For now it records
what it would send; delivery by e-mail, webhook and inbox, retries and `notification.*` events come with
the notifier issue.
"""
