"""The broker topology definition: AMQP topic matching, bindings derived from the consumers' EVENT_HANDLERS
tables, and the queue names and arguments the upgrade relies on."""

import importlib

import pytest

from shared.events import EVENT_TYPES
from shared.procs import process_table
from shared.registry import services
from shared.topology import DEAD_LETTER_EXCHANGE, DELIVERY_LIMIT, VERSION, queue_for, queues, routed_types


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


@pytest.mark.parametrize("service", [svc for svc in services() if svc.consumer], ids=lambda svc: svc.name)
def test_every_consumers_handled_event_types_equal_its_queue_bindings(service):
    consumer = importlib.import_module(service.consumer)
    handled = {event_class.TYPE for event_class in consumer.EVENT_HANDLERS}
    bound = queue_for(service.name).bindings
    assert set(bound) == handled and len(bound) == len(handled)
    assert all(consumer.EVENT_HANDLERS.values()), "every table entry names at least one handler"
    assert not any("*" in key or "#" in key for key in bound), "bindings are exact event types"


def test_the_aggregator_binds_only_the_events_it_folds():
    aggregator = queue_for("aggregator")
    routed = {t for t in EVENT_TYPES if any(binds(p, t) for p in aggregator.bindings)}
    assert routed == {t for t in EVENT_TYPES if t.startswith(("obligation.", "report."))} | {"plan.published"}
    assert aggregator.retired_bindings == ("#",)  # removed from a queue an earlier release bound it to


def test_only_the_feed_only_event_types_reach_no_queue():
    # published without `mandatory` and kept in their producers' event feeds; any other type must be routed
    assert set(EVENT_TYPES) - routed_types() == {
        "unit.changed",
        "notification.delivered",
        "notification.failed",
    }


def test_every_service_but_the_scheduler_learns_the_published_unit_lists():
    for service in ("intake", "notifier", "aggregator"):
        assert any(binds(p, "plan.published") for p in queue_for(service).bindings), service
    assert not any(binds(p, "plan.published") for p in queue_for("scheduler").bindings)


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


def test_intake_receives_granted_extensions_and_published_unit_lists_and_nothing_else():
    intake = queue_for("intake")
    routed = {t for t in EVENT_TYPES if any(binds(p, t) for p in intake.bindings)}
    assert routed == {"obligation.extended", "plan.published"}
    assert intake.queue == "dvcq.v2.intake" and not intake.single_active


def test_every_service_with_a_consumer_process_has_a_queue():
    consumers = {spec.service for spec in process_table() if spec.argv[-1].endswith(".consumer")}
    assert consumers == {q.service for q in queues()} == {"intake", "scheduler", "notifier", "aggregator"}


def test_queue_names_are_derived_from_the_service_and_the_topology_version():
    names = [q.queue for q in queues()]
    assert names == [f"dvcq.v2.{s}" for s in ("intake", "scheduler", "notifier", "aggregator")]
    for q in queues():
        assert q.queue == f"dvcq.v{VERSION}.{q.service}"
        assert q.dead_letter_queue == f"dvcq.v{VERSION}.{q.service}.dead"
        assert q.arguments["x-dead-letter-routing-key"] == q.dead_letter_key == q.queue


def test_every_queue_dead_letters_at_least_once_after_the_delivery_limit():
    assert [q.service for q in queues() if q.single_active] == ["scheduler", "aggregator"]
    for q in queues():
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
    assert legacy.bindings == (*queue_for("notifier").bindings, "obligation.*")  # what version 1 bound
    assert legacy.dead_letter_key != queue_for("notifier").dead_letter_key  # old and new dead letters never mix


def test_a_name_that_consumes_nothing_has_no_queue():
    with pytest.raises(KeyError):
        queue_for("relay")
