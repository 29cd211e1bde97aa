"""Aggregator: read models built from events, the query API, the Sở Nội vụ board and the documents.

Owns the `<prefix>aggregator` database: the board and the reports as one document per (plan, period, unit)
(`<plan>:<period>:<unit>`), a period's rows read by the equality `{board: <plan>:<period>}`. Consumes the
obligation and report events (its queue has a single active consumer, so each document keeps one writer);
emits nothing.
"""
