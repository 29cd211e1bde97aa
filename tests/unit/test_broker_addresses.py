"""AMQP_URL lists a cluster's nodes: every address is checked at start, and each connection tries them all."""

from __future__ import annotations

import pytest

from shared.messaging import parameters
from shared.settings import Settings, SettingsError, parse_amqp_urls

NODES = [f"amqp://guest:guest@127.0.0.1:{port}/dvcq" for port in (5672, 5673, 5674)]
SECRET = "s" * 40


def test_one_address_or_a_comma_separated_list_of_nodes() -> None:
    assert parse_amqp_urls(NODES[0]) == (NODES[0],)
    assert parse_amqp_urls(f" {NODES[0]} ,{NODES[1]},, {NODES[2]}") == tuple(NODES)
    assert Settings.from_env({"DVCQ_SECRET": SECRET, "AMQP_URL": ",".join(NODES)}).amqp_urls == tuple(NODES)


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("", "empty"),
        (" , ", "empty"),
        (f"{NODES[0]},http://guest:secret@127.0.0.1:15672/", "'127.0.0.1:15672/' is not an amqp://"),
        (f"{NODES[0]},amqp://guest:guest@127.0.0.1:5673/other", "same vhost"),
    ],
)
def test_a_malformed_list_stops_the_process_at_start(value: str, complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint) as raised:
        Settings.from_env({"DVCQ_SECRET": SECRET, "AMQP_URL": value})
    assert "secret" not in str(raised.value)  # a password in the URL stays out of the message


def test_each_connection_tries_every_node_once_in_an_order_of_its_own() -> None:
    settings = Settings.from_env({"DVCQ_SECRET": SECRET, "AMQP_URL": ",".join(NODES)})
    orders = set()
    for _ in range(60):
        chosen = parameters(settings)
        ports = [p.port for p in chosen]
        assert sorted(ports) == [5672, 5673, 5674]
        assert all(p.connection_attempts == 1 and p.virtual_host == "dvcq" and p.heartbeat == 30 for p in chosen)
        orders.add(tuple(ports))
    assert len(orders) > 1  # the processes spread over the nodes instead of all piling onto the first
