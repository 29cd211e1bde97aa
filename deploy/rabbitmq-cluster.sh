#!/usr/bin/env bash
# A three-node RabbitMQ cluster of this checkout (README "A RabbitMQ cluster"): nodes dvcq-<id>-r1..r3@localhost,
# each with its own AMQP, distribution and management ports, joined into one cluster.
#   start          start the nodes not running yet and join them; print `export AMQP_URL=...` (the three addresses)
#                  and `export RABBITMQ_NODENAME=...` for `eval`
#   stop           stop every node of the cluster
#   status         one line per node: name, running or stopped, AMQP and management ports
#   stop-node N    stop node rN only (the other two keep the quorum queues going)
# --test (before the command) uses the test instance: state under var/test-deps/, free ports, data removed at stop.
# `deploy/run.sh --rabbitmq-cluster` starts the stack on this cluster; deploy/down.sh stops it with the rest.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if [[ "${1:-}" == --test ]]; then
    dvcq_use_instance test
    shift
fi
case "${1:-}" in
    start)
        unset AMQP_URL # this command starts the cluster; an AMQP_URL of the caller's would make ensure_* skip it
        ensure_rabbitmq_cluster
        printf 'export %s=%q\n' AMQP_URL "$AMQP_URL" RABBITMQ_NODENAME "$RABBITMQ_NODENAME"
        ;;
    stop) stop_rabbitmq_cluster ;;
    status) rabbitmq_cluster_status ;;
    stop-node) stop_rabbitmq_cluster_node "${2:-}" ;;
    *) dvcq_die "usage: deploy/rabbitmq-cluster.sh [--test] start|stop|status|stop-node N" ;;
esac
