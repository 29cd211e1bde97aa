"""The broker topology definition: AMQP topic matching and every event type routable to a queue."""

import pytest

from shared.events import EVENT_TYPES
from shared.procs import process_table
from shared.topology import DEAD_LETTER_EXCHANGE, DELIVERY_LIMIT, QUEUES, VERSION, queue_for


def binds(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching of `routing_key` against `pattern` ('*' one word, '#' zero or more), as RabbitMQ does."""

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        if not k:
            return False
        return (p[0] == "*" or p[0] == k[0]) and match(p[1:], k[1:])

    return match(pattern.split("."), routing_key.split("."))


def test_hash_matches_any_routing_key():
    assert binds("#", "report.submitted")
    assert binds("#", "obligation.extension_requested")
    assert binds("#", "single")


def test_hash_matches_zero_or_more_words():
    assert binds("obligation.#", "obligation")
    assert binds("obligation.#", "obligation.overdue")
    assert binds("obligation.#", "obligation.a.b")
    assert not binds("obligation.#", "report.submitted")


def test_star_matches_exactly_one_word():
    assert binds("obligation.*", "obligation.overdue")
    assert binds("obligation.*", "obligation.extension_requested")
    assert not binds("obligation.*", "obligation")
    assert not binds("obligation.*", "obligation.a.b")
    assert not binds("obligation.*", "report.submitted")


def test_star_matches_a_leading_word():
    assert binds("*.submitted", "report.submitted")
    assert not binds("*.submitted", "report.amended")


def test_literal_pattern_matches_only_itself():
    assert binds("report.submitted", "report.submitted")
    assert not binds("report.submitted", "report.amended")
    assert not binds("report.submitted", "report.submitted.extra")


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_reaches_at_least_one_queue(event_type):
    routed = [q.queue for q in QUEUES if any(binds(p, event_type) for p in q.bindings)]
    assert routed, f"{event_type} would be returned to a publisher using mandatory"


def test_scheduler_receives_submitted_reports_and_notifier_every_obligation_event():
    assert any(binds(p, "report.submitted") for p in queue_for("scheduler").bindings)
    for event_type in (t for t in EVENT_TYPES if t.startswith("obligation.")):
        assert any(binds(p, event_type) for p in queue_for("notifier").bindings), event_type
    assert not any(binds(p, "report.submitted") for p in queue_for("notifier").bindings)


def test_notifier_learns_staff_lists_and_hears_no_notification_or_report_events():
    notifier = queue_for("notifier")
    routed = {t for t in EVENT_TYPES if any(binds(p, t) for p in notifier.bindings)}
    assert "unit.contacts_changed" in routed
    assert not routed & {"unit.changed", "report.submitted", "report.amended"}
    assert not any(t.startswith("notification.") for t in routed)  # its own outcomes never come back to it


def test_intake_receives_granted_extensions_and_nothing_else():
    intake = queue_for("intake")
    assert [t for t in EVENT_TYPES if any(binds(p, t) for p in intake.bindings)] == ["obligation.extended"]
    assert intake.queue == "dvcq.v2.intake" and not intake.single_active


def test_every_service_with_a_consumer_process_has_a_queue():
    consumers = {spec.service for spec in process_table() if spec.argv[-1].endswith(".consumer")}
    assert consumers == {q.service for q in QUEUES} == {"intake", "scheduler", "notifier", "aggregator"}


def test_queue_names_are_derived_from_the_service_and_the_topology_version():
    names = [q.queue for q in QUEUES]
    assert len(set(names)) == len(names)
    for q in QUEUES:
        assert q.queue == f"dvcq.v{VERSION}.{q.service}"
        assert q.dead_letter_queue == f"dvcq.v{VERSION}.{q.service}.dead"
        assert q.arguments["x-dead-letter-routing-key"] == q.dead_letter_key == q.queue


def test_every_queue_dead_letters_at_least_once_after_the_delivery_limit():
    for q in QUEUES:
        args = q.arguments
        assert args["x-queue-type"] == "quorum"
        assert args["x-delivery-limit"] == DELIVERY_LIMIT >= 1
        # RabbitMQ falls back to at-most-once unless the overflow behaviour is reject-publish
        assert (args["x-dead-letter-strategy"], args["x-overflow"]) == ("at-least-once", "reject-publish")
        assert args["x-dead-letter-exchange"] == DEAD_LETTER_EXCHANGE
        assert args.get("x-single-active-consumer", False) is q.single_active


def test_the_upgrade_knows_the_first_versions_queues_and_their_bindings():
    assert VERSION == 2
    (legacy,) = queue_for("notifier").legacy()
    assert (legacy.queue, legacy.dead_letter_queue, legacy.dead_letter_key) == (
        "dvcq.notifier",
        "dvcq.notifier.dead",
        "notifier",
    )
    assert legacy.bindings == queue_for("notifier").bindings
    assert legacy.dead_letter_key != queue_for("notifier").dead_letter_key  # old and new dead letters never mix


def test_a_name_that_consumes_nothing_has_no_queue():
    with pytest.raises(KeyError):
        queue_for("relay")
