"""Aggregator: read models built from events, the query API, the Sở Nội vụ board and the documents.

Owns the `<prefix>aggregator` database: one compliance document per period (`compliance:<plan>:<period>`),
read with one `_id` lookup. Consumes the obligation and report events (its queue has a single active consumer,
so each document keeps one writer); emits nothing.
"""
