# shellcheck shell=bash
# Helpers for the local stack: sourced by run.sh, down.sh, test.sh, chaos.sh and bench/run.sh (which set
# -euo pipefail themselves). Also runnable as `bash deploy/lib.sh FUNCTION...` to call single helpers.
#
# Ownership: the scripts only ever use, stop or reuse what this checkout started. Each component they start
# (RabbitMQ node, PostgreSQL cluster, FerretDB, SMTP server) has its pid file under $DVCQ_RUN and its data under
# $DVCQ_VAR; a process listening on a port that is not one of those pids (or their children) belongs to
# someone else (another checkout, the system) and is never adopted. The run instance (run.sh, down.sh) listens
# on the default ports, or DVCQ_AMQP_PORT / DVCQ_MONGO_PORT / DVCQ_SMTP_PORT, and refuses to start, naming the
# port and its owner's pid, when one is taken by someone else. The test instance (test.sh, chaos.sh) starts its
# own components on free ports under var/test-deps/ and stops them when it ends, pass or fail.
# A component whose URL the caller already set (AMQP_URL, MONGO_URL, SMTP_URL, DVCQ_POSTGRESQL_URL) is used as
# it is, on purpose, and never started or stopped here. The services learn every address through those URLs.

dvcq_root() {
    (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
}

ROOT="$(dvcq_root)"
# DVCQ_VAR moves the scripts' state elsewhere (the deploy-script tests run a second instance in a temp dir).
DVCQ_VAR="${DVCQ_VAR:-$ROOT/var}"
DVCQ_FERRETDB_VERSION="v1.24.2"
DVCQ_INSTANCE=run
DVCQ_DEPS="$DVCQ_VAR"
DVCQ_RUN="$DVCQ_VAR/run"
DVCQ_LOG="$DVCQ_VAR/log"

# dvcq_use_instance test: the test command's own components: state under var/test-deps/, free ports, tuned
# for speed (PostgreSQL without fsync: its data is disposable, never that of the run instance).
dvcq_use_instance() {
    DVCQ_INSTANCE=$1
    case "$1" in
        run) DVCQ_DEPS="$DVCQ_VAR" ;;
        test) DVCQ_DEPS="$DVCQ_VAR/test-deps" ;;
        *) dvcq_die "unknown instance $1 (run or test)" ;;
    esac
    DVCQ_RUN="$DVCQ_DEPS/run"
    DVCQ_LOG="$DVCQ_DEPS/log"
}

# dvcq_own_instance: make the calling script (test.sh, chaos.sh, bench/run.sh all) the one user of the current
# instance, refusing while another live script of this checkout holds it (its start would stop that one's
# components), and stop everything the instance starts when the script exits, pass or fail; first stop what a
# killed run left.
dvcq_own_instance() {
    local owner="$DVCQ_RUN/owner.pid" pid
    _dvcq_dirs
    pid=$(cat "$owner" 2>/dev/null || true)
    if [[ "$pid" =~ ^[0-9]+$ && "$pid" != "$$" ]] && _dvcq_alive "$pid" &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq '(deploy/(test|chaos)|bench/run)\.sh'; then
        dvcq_die "another script of this checkout (pid $pid) is using $DVCQ_DEPS; wait for it to end"
    fi
    echo $$ >"$owner"
    trap 'stop_stack_deps; rm -f "$DVCQ_RUN/owner.pid"' EXIT
    trap 'exit 130' INT TERM # exit through the EXIT trap
    stop_stack_deps
}

dvcq_log() {
    printf '[dvcq] %s\n' "$*" >&2
}

dvcq_die() {
    printf '[dvcq] error: %s\n' "$*" >&2
    exit 1
}

_dvcq_dirs() {
    mkdir -p "$DVCQ_RUN" "$DVCQ_LOG" "$DVCQ_VAR/bin"
}

# True when something accepts TCP connections on HOST PORT.
_dvcq_port_open() {
    # shellcheck disable=SC2016 # $0 and $1 expand in the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# _dvcq_wait_for SECONDS WHAT NAME COMMAND...: poll COMMAND until it succeeds; fail when the deadline passes or,
# unless NAME is -, when the process recorded in $DVCQ_RUN/NAME.pid is gone.
_dvcq_wait_for() {
    local deadline=$((SECONDS + $1)) what=$2 name=$3
    shift 3
    until "$@"; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        if [[ "$name" != - ]] && ! _dvcq_pid_alive "$name"; then
            dvcq_log "$what exited while starting"
            return 1
        fi
        sleep 0.5
    done
    dvcq_log "$what is up"
}

# True when PID runs (a zombie waiting for its reaper counts as gone).
_dvcq_alive() {
    kill -0 "$1" 2>/dev/null && [[ "$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

# True when the pid recorded in $DVCQ_RUN/NAME.pid is a live process.
_dvcq_pid_alive() {
    local pidfile="$DVCQ_RUN/$1.pid" pid
    [[ -f "$pidfile" ]] || return 1
    pid=$(<"$pidfile")
    [[ "$pid" =~ ^[0-9]+$ ]] && _dvcq_alive "$pid"
}

# _dvcq_spawn NAME COMMAND...: start COMMAND in its own session (a Ctrl-C in the terminal does not reach it),
# output to $DVCQ_LOG/NAME.log, pid to $DVCQ_RUN/NAME.pid.
_dvcq_spawn() {
    local name=$1
    shift
    _dvcq_dirs
    setsid nohup "$@" >>"$DVCQ_LOG/$name.log" 2>&1 </dev/null &
    echo $! >"$DVCQ_RUN/$name.pid"
}

_dvcq_log_tail() {
    tail -n 20 "$DVCQ_LOG/$1.log" >&2 2>/dev/null || true
}

_dvcq_as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        dvcq_die "'$*' needs root and sudo is not available"
    fi
}

_dvcq_apt_install() {
    if [[ -z "${_DVCQ_APT_UPDATED:-}" ]]; then
        _dvcq_as_root apt-get update -q || dvcq_die "apt-get update failed"
        _DVCQ_APT_UPDATED=1
    fi
    _dvcq_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" || dvcq_die "apt-get install $* failed"
}

# The python that checks the store: the venv's (it has pymongo) when there is one.
_dvcq_python() {
    if [[ -x "$ROOT/.venv/bin/python" ]]; then
        echo "$ROOT/.venv/bin/python"
    else
        command -v python3
    fi
}

_dvcq_is_py311() {
    "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null
}

# Create $ROOT/.venv (Python 3.11) and install the locked dependencies (requirements-test.lock, hashes
# required), then the project itself without dependencies, whenever pyproject.toml or the lock changed.
ensure_venv() {
    local venv="$ROOT/.venv" lock="$ROOT/requirements-test.lock" py want stamp problems
    if [[ -x "$venv/bin/python" ]] && ! _dvcq_is_py311 "$venv/bin/python"; then
        dvcq_log "$venv is not Python 3.11: recreating it"
        rm -rf "$venv"
    fi
    if [[ ! -x "$venv/bin/python" ]]; then
        py=$(command -v python3.11 || command -v python3 || true)
        if [[ -z "$py" ]] || ! _dvcq_is_py311 "$py"; then
            dvcq_die "Python 3.11 is required (python3.11 or python3 on PATH)"
        fi
        dvcq_log "creating $venv"
        "$py" -m venv "$venv" || dvcq_die "could not create $venv"
        rm -f "$venv/.dvcq-install.sha256"
    fi
    stamp="$venv/.dvcq-install.sha256"
    want=$(cat "$ROOT/pyproject.toml" "$lock" | sha256sum | cut -d' ' -f1)
    if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
        dvcq_log "installing the locked dependencies and the project into $venv"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r "$lock" ||
            dvcq_die "pip install --require-hashes -r $lock failed"
        # An old setuptools develop install left <name>.egg-info in the tree; from the repository root (on
        # sys.path) its metadata would shadow the installed one, entry points included.
        rm -rf "$ROOT"/*.egg-info
        # The lock holds the build backend too (setuptools, the [build-system] pin), so nothing comes unhashed.
        "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT" ||
            dvcq_die "pip install --no-deps -e $ROOT failed"
        # A pin changed in pyproject.toml but not relocked (deploy/lock.sh) shows here, not later as an odd bug.
        if ! problems=$("$venv/bin/python" -m pip check 2>&1); then
            dvcq_die "the lock does not satisfy pyproject.toml (run deploy/lock.sh): $problems"
        fi
        echo "$want" >"$stamp"
    fi
    export VIRTUAL_ENV="$venv"
    export PATH="$venv/bin:$PATH"
}

# Export DVCQ_SECRET, generated once into var/secret when the caller did not set it.
ensure_secret() {
    if [[ -n "${DVCQ_SECRET:-}" ]]; then
        return 0
    fi
    local file="$DVCQ_VAR/secret"
    if [[ ! -s "$file" ]]; then
        mkdir -p "$DVCQ_VAR"
        (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(36))' >"$file")
    fi
    chmod 600 "$file"
    DVCQ_SECRET=$(<"$file")
    export DVCQ_SECRET
}

# --- ports and ownership ------------------------------------------------------------------------------------

# The pid of the process listening on TCP PORT (any address), empty when none or when ss cannot tell.
_dvcq_listener_pid() {
    ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1
}

# True when PID is ANCESTOR or runs below it (a wrapper script's child, a gunicorn worker).
_dvcq_descends_from() {
    local pid=$1 ancestor=$2
    while [[ "$pid" =~ ^[0-9]+$ ]] && ((pid > 1)); do
        [[ "$pid" == "$ancestor" ]] && return 0
        pid=$(sed -n 's/^[0-9]* (.*) . \([0-9]*\) .*/\1/p' "/proc/$pid/stat" 2>/dev/null)
    done
    return 1
}

# True when the listener on PORT is one of the given pids or one of their children.
_dvcq_listener_is() {
    local port=$1 listener pid
    shift
    listener=$(_dvcq_listener_pid "$port")
    [[ -n "$listener" ]] || return 1
    for pid in "$@"; do
        if [[ "$pid" =~ ^[0-9]+$ ]] && _dvcq_descends_from "$listener" "$pid"; then
            return 0
        fi
    done
    return 1
}

_dvcq_pidfile_pid() {
    cat "$DVCQ_RUN/$1.pid" 2>/dev/null || true
}

# _dvcq_free_port [COUNT]: COUNT (1) distinct TCP ports free on every address, one a line, picked at random below
# the kernel's ephemeral range (a port bind(0) hands out may be taken by an outgoing connection before the server
# binds it; tests/support.py free_ports does the same).
_dvcq_free_port() {
    python3 -c '
import random, socket, sys
low_eph = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
pick = random.SystemRandom()
ports = []
while len(ports) < int(sys.argv[1]):
    port = pick.randrange(max(1024, low_eph - 12000), low_eph)
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            continue
    if port not in ports:
        ports.append(port)
print(*ports, sep="\n")
' "${1:-1}"
}

# _dvcq_choose_port NAME PORT_VARIABLE DEFAULT URL_VARIABLE [OFFSET]: set DVCQ_PORT to the port component NAME
# listens on. The port of this checkout's running NAME when it runs; else the port PORT_VARIABLE names plus OFFSET
# (run instance: DEFAULT when unset) if nobody listens there; else, for the test instance without an explicit
# port, a free port. A port held by a process this checkout did not start stops the script with the port, the
# owner and the ways out.
_dvcq_choose_port() {
    local name=$1 var=$2 default=$3 urlvar=$4 offset=${5:-0} wanted owner what
    if _dvcq_pid_alive "$name" && [[ -s "$DVCQ_RUN/$name.port" ]]; then
        DVCQ_PORT=$(<"$DVCQ_RUN/$name.port")
        if _dvcq_listener_is "$DVCQ_PORT" "$(_dvcq_pidfile_pid "$name")"; then
            return 0
        fi
    fi
    wanted=${!var:-}
    if [[ -n "$wanted" ]]; then
        wanted=$((wanted + offset))
    elif [[ "$DVCQ_INSTANCE" == run ]]; then
        wanted=$default
    fi
    if [[ -z "$wanted" ]]; then
        DVCQ_PORT=$(_dvcq_free_port)
        return 0
    fi
    owner=$(_dvcq_listener_pid "$wanted")
    if [[ -n "$owner" ]] || _dvcq_port_open 127.0.0.1 "$wanted"; then
        what=${owner:+pid $owner ($(tr '\0' ' ' <"/proc/$owner/cmdline" 2>/dev/null | cut -c1-120))}
        dvcq_die "port $wanted ($name) is taken by ${what:-a process ss cannot name}, which this checkout did not start (no pid of it in $DVCQ_RUN). Stop it, set $var to a free port for this checkout's own $name, or set $urlvar to use that server on purpose."
    fi
    DVCQ_PORT=$wanted
}

# --- RabbitMQ -----------------------------------------------------------------------------------------------

# The RabbitMQ commands live in /usr/sbin, which a non-root PATH may lack.
_dvcq_sbin_on_path() {
    case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
}

# This checkout's RabbitMQ node: a name of its own per checkout and instance (the machine's default node
# `rabbit@host` is shared by everything on it, so it is never used), its data in /var/lib/rabbitmq/<node>: the
# packaged server runs the node as the `rabbitmq` user, which cannot enter a checkout under a mode-700 home.
_dvcq_rabbit_node() {
    local id
    id=$(printf '%s' "$DVCQ_DEPS" | sha256sum | cut -c1-8)
    echo "dvcq-$id-$DVCQ_INSTANCE@localhost"
}

_dvcq_rabbit_dir() {
    echo "/var/lib/rabbitmq/${1%@*}"
}

# The port first: it opens only when the node has booted, and each ping starts an Erlang VM of its own.
_dvcq_rabbit_ready() {
    _dvcq_port_open 127.0.0.1 "$2" && timeout 20 rabbitmq-diagnostics -n "$1" -q ping >/dev/null 2>&1
}

# A node starts Erlang's port mapper (epmd, one per machine) when none runs: then it is ours to stop.
# _dvcq_epmd_down prints 1 when none runs now; _dvcq_epmd_adopt WAS_DOWN records its pid once our node started it.
_dvcq_epmd_down() {
    [[ -z "$(_dvcq_listener_pid 4369)" ]] && ! _dvcq_port_open 127.0.0.1 4369 && echo 1 || true
}

_dvcq_epmd_adopt() {
    if [[ -n "$1" && ! -s "$DVCQ_RUN/epmd.pid" ]]; then
        _dvcq_listener_pid 4369 >"$DVCQ_RUN/epmd.pid"
    fi
}

# Stop the epmd our node started, unless a node (ours or another) is still registered with it.
_dvcq_epmd_release() {
    if [[ -s "$DVCQ_RUN/epmd.pid" ]] && ! epmd -names 2>/dev/null | grep -q '^name '; then
        stop_pidfile epmd
        rm -f "$DVCQ_RUN/epmd.pid"
    fi
}

# Use the caller's AMQP_URL, or install (apt) and start this checkout's RabbitMQ node; export AMQP_URL and
# RABBITMQ_NODENAME (rabbitmqctl and tests/support.py reach the node through it).
ensure_rabbitmq() {
    if [[ -n "${AMQP_URL:-}" ]]; then
        return 0
    fi
    _dvcq_dirs
    _dvcq_sbin_on_path
    if _dvcq_cluster_running; then
        dvcq_die "this checkout's RabbitMQ cluster runs: use it (deploy/run.sh --rabbitmq-cluster) or stop it first (deploy/rabbitmq-cluster.sh stop)"
    fi
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
        dvcq_log "installing rabbitmq-server (apt)"
        _dvcq_apt_install rabbitmq-server
    fi
    local node dir port dist epmd_was_down
    node=$(_dvcq_rabbit_node)
    dir=$(_dvcq_rabbit_dir "$node")
    _dvcq_choose_port rabbitmq DVCQ_AMQP_PORT 5672 AMQP_URL
    port=$DVCQ_PORT
    if ! _dvcq_rabbit_ready "$node" "$port"; then
        stop_rabbitmq # a half-dead node of ours from an earlier run
        epmd_was_down=$(_dvcq_epmd_down)
        dist=$(_dvcq_free_port)
        _dvcq_as_root mkdir -p "$dir"
        echo '[].' | _dvcq_as_root tee "$dir/enabled_plugins" >/dev/null # no management plugin: starts faster
        _dvcq_as_root chown -R rabbitmq:rabbitmq "$dir"
        echo "$port" >"$DVCQ_RUN/rabbitmq.port"
        dvcq_log "starting RabbitMQ node $node on 127.0.0.1:$port (data in $dir)"
        _dvcq_spawn rabbitmq env RABBITMQ_NODENAME="$node" RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$dist" \
            RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
            RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_PID_FILE="$dir/pid" \
            "$(command -v rabbitmq-server)"
        if ! _dvcq_wait_for 120 "RabbitMQ $node" rabbitmq _dvcq_rabbit_ready "$node" "$port"; then
            _dvcq_log_tail rabbitmq
            dvcq_die "RabbitMQ node $node did not answer on 127.0.0.1:$port within 120 s (logs: $dir/log, $DVCQ_LOG/rabbitmq.log)"
        fi
        _dvcq_epmd_adopt "$epmd_was_down"
    fi
    export RABBITMQ_NODENAME="$node"
    export AMQP_URL="amqp://guest:guest@127.0.0.1:$port/%2F"
}

# Stop this checkout's RabbitMQ node (and, for the test instance, remove its data).
stop_rabbitmq() {
    local node dir
    [[ -f "$DVCQ_RUN/rabbitmq.pid" ]] || return 0
    _dvcq_sbin_on_path
    node=$(_dvcq_rabbit_node)
    dir=$(_dvcq_rabbit_dir "$node")
    if _dvcq_pid_alive rabbitmq; then
        dvcq_log "stopping RabbitMQ node $node"
        timeout 60 rabbitmqctl -n "$node" -q stop >/dev/null 2>&1 || true
    fi
    stop_pidfile rabbitmq
    rm -f "$DVCQ_RUN/rabbitmq.port"
    _dvcq_epmd_release
    if [[ "$DVCQ_INSTANCE" == test ]]; then
        _dvcq_as_root rm -rf "$dir"
    fi
}

# --- RabbitMQ cluster ---------------------------------------------------------------------------------------

# The three-node cluster (`deploy/rabbitmq-cluster.sh`, `deploy/run.sh --rabbitmq-cluster`): nodes
# dvcq-<id>-r1..r3@localhost, each with its own AMQP, distribution and management ports, run like the single node
# by the packaged server as the `rabbitmq` user, so the three share that user's Erlang cookie
# (/var/lib/rabbitmq/.erlang.cookie) and nothing else on the machine can join without it. Their data lives in
# /var/lib/rabbitmq/dvcq-<id>-cluster/rN (the single node's reason: the `rabbitmq` user cannot enter a checkout
# under a mode-700 home); pid files, ports and logs under $DVCQ_RUN and $DVCQ_LOG as rabbitmq-rN.*. Ports: the
# run instance's AMQP ports are DVCQ_AMQP_PORT (5672) and the next two, its management ports 15672-15674; the
# test instance's are free ports. Each Erlang VM gets DVCQ_RABBITMQ_ERL_ARGS (one scheduler: three VMs share
# the machine).
DVCQ_RABBIT_CLUSTER_SIZE=3

_dvcq_cluster_node() {
    local id
    id=$(printf '%s' "$DVCQ_DEPS" | sha256sum | cut -c1-8)
    echo "dvcq-$id-r$1@localhost"
}

_dvcq_cluster_dir() {
    local node
    node=$(_dvcq_cluster_node 1)
    echo "/var/lib/rabbitmq/${node%-r1@*}-cluster"
}

# True when any node of this checkout's cluster runs.
_dvcq_cluster_running() {
    local n
    for ((n = 1; n <= DVCQ_RABBIT_CLUSTER_SIZE; n++)); do
        _dvcq_pid_alive "rabbitmq-r$n" && return 0
    done
    return 1
}

# _dvcq_cluster_ports: set DVCQ_CLUSTER_AMQP, DVCQ_CLUSTER_MGMT and DVCQ_CLUSTER_DIST (arrays indexed by node
# number) to the ports each node listens on (a running node of ours keeps its own), refusing ports someone else
# holds. Free ports are drawn in one go, so no two nodes get the same one.
_dvcq_cluster_ports() {
    local n mgmt owner size=$DVCQ_RABBIT_CLUSTER_SIZE fresh=()
    mapfile -t fresh < <(_dvcq_free_port $((3 * size)))
    DVCQ_CLUSTER_AMQP=() DVCQ_CLUSTER_MGMT=() DVCQ_CLUSTER_DIST=()
    for ((n = 1; n <= size; n++)); do
        DVCQ_CLUSTER_DIST[n]=${fresh[2 * size + n - 1]}
        if _dvcq_pid_alive "rabbitmq-r$n" && [[ -s "$DVCQ_RUN/rabbitmq-r$n.port" && -s "$DVCQ_RUN/rabbitmq-r$n.mgmt" ]]; then
            DVCQ_CLUSTER_AMQP[n]=$(<"$DVCQ_RUN/rabbitmq-r$n.port")
            DVCQ_CLUSTER_MGMT[n]=$(<"$DVCQ_RUN/rabbitmq-r$n.mgmt")
            continue
        fi
        if [[ "$DVCQ_INSTANCE" == run || -n "${DVCQ_AMQP_PORT:-}" ]]; then
            _dvcq_choose_port "rabbitmq-r$n" DVCQ_AMQP_PORT "$((5671 + n))" AMQP_URL "$((n - 1))"
            DVCQ_CLUSTER_AMQP[n]=$DVCQ_PORT
        else
            DVCQ_CLUSTER_AMQP[n]=${fresh[n - 1]}
        fi
        mgmt=${fresh[size + n - 1]}
        if [[ "$DVCQ_INSTANCE" == run ]]; then
            mgmt=$((15671 + n))
            owner=$(_dvcq_listener_pid "$mgmt")
            if [[ -n "$owner" ]] || _dvcq_port_open 127.0.0.1 "$mgmt"; then
                dvcq_die "port $mgmt (RabbitMQ management of node r$n) is taken by ${owner:+pid $owner}${owner:-a process ss cannot name}, which this checkout did not start; stop it first"
            fi
        fi
        DVCQ_CLUSTER_MGMT[n]=$mgmt
    done
}

# _dvcq_cluster_start_node N: spawn node rN on its ports of _dvcq_cluster_ports (returns at once).
_dvcq_cluster_start_node() {
    local n=$1 port=${DVCQ_CLUSTER_AMQP[$1]} mgmt=${DVCQ_CLUSTER_MGMT[$1]} node dir
    stop_pidfile "rabbitmq-r$n" # a half-dead node of ours from an earlier run
    node=$(_dvcq_cluster_node "$n")
    dir="$(_dvcq_cluster_dir)/r$n"
    _dvcq_as_root mkdir -p "$dir"
    echo '[rabbitmq_management].' | _dvcq_as_root tee "$dir/enabled_plugins" >/dev/null
    # cluster_nodes: a blank node joins r1 as it boots (peer discovery), without the CLI's stop/join/start
    printf "[{rabbit, [{cluster_nodes, {['%s'], disc}}]},\n {rabbitmq_management, [{tcp_config, [{ip, \"127.0.0.1\"}, {port, %d}]}]}].\n" \
        "$(_dvcq_cluster_node 1)" "$mgmt" | _dvcq_as_root tee "$dir/advanced.config" >/dev/null
    _dvcq_as_root chown -R rabbitmq:rabbitmq "$dir"
    echo "$port" >"$DVCQ_RUN/rabbitmq-r$n.port"
    echo "$mgmt" >"$DVCQ_RUN/rabbitmq-r$n.mgmt"
    dvcq_log "starting RabbitMQ node $node on 127.0.0.1:$port (management 127.0.0.1:$mgmt, data in $dir)"
    _dvcq_spawn "rabbitmq-r$n" env RABBITMQ_NODENAME="$node" RABBITMQ_NODE_PORT="$port" \
        RABBITMQ_DIST_PORT="${DVCQ_CLUSTER_DIST[n]}" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
        RABBITMQ_PID_FILE="$dir/pid" RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="${DVCQ_RABBITMQ_ERL_ARGS-+S 1:1}" \
        "$(command -v rabbitmq-server)"
}

# _dvcq_cluster_wait N: wait until node rN answers on its AMQP port.
_dvcq_cluster_wait() {
    local n=$1 node
    node=$(_dvcq_cluster_node "$n")
    if ! _dvcq_wait_for 300 "RabbitMQ $node" "rabbitmq-r$n" _dvcq_rabbit_ready "$node" "${DVCQ_CLUSTER_AMQP[n]}"; then
        _dvcq_log_tail "rabbitmq-r$n"
        dvcq_die "RabbitMQ node $node did not answer on 127.0.0.1:${DVCQ_CLUSTER_AMQP[n]} within 300 s (logs: $(_dvcq_cluster_dir)/r$n/log, $DVCQ_LOG/rabbitmq-r$n.log)"
    fi
}

_dvcq_cluster_boot() {
    _dvcq_cluster_start_node "$1"
    _dvcq_cluster_wait "$1"
}

# _dvcq_cluster_join N: make node rN a member of r1's cluster (its own data, if any, is reset).
_dvcq_cluster_join() {
    local n=$1 node
    node=$(_dvcq_cluster_node "$n")
    dvcq_log "joining $node to the cluster of $(_dvcq_cluster_node 1)"
    {
        rabbitmqctl -n "$node" -q stop_app && rabbitmqctl -n "$node" -q join_cluster "$(_dvcq_cluster_node 1)" &&
            rabbitmqctl -n "$node" -q start_app
    } >>"$DVCQ_LOG/rabbitmq-r$n.log" 2>&1 || dvcq_die "$node could not join the cluster (log: $DVCQ_LOG/rabbitmq-r$n.log)"
    _dvcq_cluster_wait "$n"
}

# The address list the clients take (AMQP_URL, comma-separated, vhost `/`), in node order.
_dvcq_cluster_urls() {
    local n urls=()
    for ((n = 1; n <= DVCQ_RABBIT_CLUSTER_SIZE; n++)); do
        urls+=("amqp://guest:guest@127.0.0.1:$(<"$DVCQ_RUN/rabbitmq-r$n.port")/%2F")
    done
    (
        IFS=,
        echo "${urls[*]}"
    )
}

# Use the caller's AMQP_URL, or start this checkout's three-node cluster (the nodes that do not run yet, all at
# once: a stopped cluster's nodes wait for each other at boot) and join r2 and r3 to r1 when they are not members
# yet; export AMQP_URL (the three addresses) and RABBITMQ_NODENAME (r1).
ensure_rabbitmq_cluster() {
    if [[ -n "${AMQP_URL:-}" ]]; then
        return 0
    fi
    _dvcq_dirs
    _dvcq_sbin_on_path
    if _dvcq_pid_alive rabbitmq; then
        dvcq_die "this checkout's single RabbitMQ node runs ($(_dvcq_rabbit_node)): stop it first (deploy/down.sh); the messages left in its queues stay in its data and come back with it"
    fi
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
        dvcq_log "installing rabbitmq-server (apt)"
        _dvcq_apt_install rabbitmq-server
    fi
    local n epmd_was_down started=() members
    _dvcq_cluster_ports
    epmd_was_down=$(_dvcq_epmd_down)
    # A new cluster: r1 first, so the others find it when they boot. An existing one: all at once, as a node
    # that was not the last to stop waits at boot for the one that was.
    if [[ ! -d "$(_dvcq_cluster_dir)/r1/mnesia" ]]; then
        _dvcq_cluster_boot 1
    fi
    for ((n = 1; n <= DVCQ_RABBIT_CLUSTER_SIZE; n++)); do
        if ! _dvcq_rabbit_ready "$(_dvcq_cluster_node "$n")" "${DVCQ_CLUSTER_AMQP[n]}"; then
            _dvcq_cluster_start_node "$n"
            started+=("$n")
        fi
    done
    for n in "${started[@]}"; do
        _dvcq_cluster_wait "$n"
    done
    _dvcq_epmd_adopt "$epmd_was_down"
    # A node that booted before r1 answered runs alone: join it by hand.
    members=$(timeout 60 rabbitmqctl -n "$(_dvcq_cluster_node 1)" -q cluster_status --formatter json 2>/dev/null || true)
    for ((n = 2; n <= DVCQ_RABBIT_CLUSTER_SIZE; n++)); do
        if [[ "$members" != *"\"$(_dvcq_cluster_node "$n")\""* ]]; then
            _dvcq_cluster_join "$n"
        fi
    done
    export RABBITMQ_NODENAME
    RABBITMQ_NODENAME=$(_dvcq_cluster_node 1)
    export AMQP_URL
    AMQP_URL=$(_dvcq_cluster_urls)
}

# _dvcq_cluster_stop_node N: stop node rN gracefully (its quorum queue replicas hand their leadership over).
_dvcq_cluster_stop_node() {
    local node
    node=$(_dvcq_cluster_node "$1")
    if _dvcq_pid_alive "rabbitmq-r$1"; then
        dvcq_log "stopping RabbitMQ node $node"
        timeout 90 rabbitmqctl -n "$node" -q stop >/dev/null 2>&1 || true
    fi
    stop_pidfile "rabbitmq-r$1"
    rm -f "$DVCQ_RUN/rabbitmq-r$1.mgmt"
}

# Stop one node of the cluster (rabbitmq-cluster.sh stop-node N): the other two keep every quorum queue going.
stop_rabbitmq_cluster_node() {
    [[ "${1:-}" =~ ^[1-9]$ ]] && (($1 <= DVCQ_RABBIT_CLUSTER_SIZE)) || dvcq_die "no node r${1:-} (1 to $DVCQ_RABBIT_CLUSTER_SIZE)"
    _dvcq_sbin_on_path
    _dvcq_cluster_stop_node "$1"
}

# Stop every node of this checkout's cluster (all at once, so none waits for a peer), and for the test instance
# remove their data.
stop_rabbitmq_cluster() {
    local n stopping=()
    _dvcq_sbin_on_path
    for ((n = 1; n <= DVCQ_RABBIT_CLUSTER_SIZE; n++)); do
        if [[ -f "$DVCQ_RUN/rabbitmq-r$n.pid" ]]; then
            _dvcq_cluster_stop_node "$n" &
            stopping+=($!)
        fi
    done
    # only these: the calling script's other background jobs are the servers it spawned
    ((${#stopping[@]} == 0)) || wait "${stopping[@]}"
    _dvcq_epmd_release
    if [[ "$DVCQ_INSTANCE" == test && -d "$(_dvcq_cluster_dir)" ]]; then
        _dvcq_as_root rm -rf "$(_dvcq_cluster_dir)"
    fi
}

# One line per node of this checkout's cluster: its name, running or stopped, its AMQP and management ports.
rabbitmq_cluster_status() {
    local n node state port mgmt
    _dvcq_sbin_on_path
    for ((n = 1; n <= DVCQ_RABBIT_CLUSTER_SIZE; n++)); do
        node=$(_dvcq_cluster_node "$n")
        port=$(cat "$DVCQ_RUN/rabbitmq-r$n.port" 2>/dev/null || echo -)
        mgmt=$(cat "$DVCQ_RUN/rabbitmq-r$n.mgmt" 2>/dev/null || echo -)
        state=stopped
        if _dvcq_pid_alive "rabbitmq-r$n" && _dvcq_rabbit_ready "$node" "$port"; then
            state=running
        fi
        printf '%s %s amqp=%s management=%s\n' "$node" "$state" "$port" "$mgmt"
    done
}

# --- PostgreSQL ---------------------------------------------------------------------------------------------

_dvcq_pg_bindir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    [[ -n "$dir" && -x "$dir/initdb" ]] && echo "$dir"
}

# _dvcq_pg_as_owner COMMAND...: run a PostgreSQL server command as the owner of the cluster's files.
# PostgreSQL refuses to run as root, and the scripts run as root here; handing the data directory to the
# `postgres` user would not do either, as CI clones the repository under directories of mode 700 that user
# cannot enter. So, as root, the command runs in a user namespace that maps root to the `postgres` uid
# (util-linux unshare): it is not euid 0 there, and it still owns, reads and writes root's files in var/.
# As any other user it simply runs as that user.
_dvcq_pg_as_owner() {
    if ((EUID != 0)); then
        "$@"
        return
    fi
    local user=postgres
    id -u "$user" >/dev/null 2>&1 || user=nobody
    unshare --user --map-user="$(id -u "$user")" --map-group="$(id -g "$user")" -- "$@"
}

# The pid of the postmaster running on DATA (from its postmaster.pid), empty when none runs.
_dvcq_pg_pid() {
    local pid
    pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null || true)
    if [[ "$pid" =~ ^[0-9]+$ ]] && _dvcq_alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres ]]; then
        echo "$pid"
    fi
}

# Use the caller's DVCQ_POSTGRESQL_URL, or install Debian's postgresql (apt) and run this checkout's cluster
# (data in $DVCQ_DEPS/postgresql, created once; TCP on 127.0.0.1 only, on a free port of its own, no unix
# socket) with the database `ferretdb`; export DVCQ_POSTGRESQL_URL.
ensure_postgresql() {
    if [[ -n "${DVCQ_POSTGRESQL_URL:-}" ]]; then
        return 0
    fi
    local bin data="$DVCQ_DEPS/postgresql" port pid psql
    if ! bin=$(_dvcq_pg_bindir); then
        dvcq_log "installing postgresql (apt)"
        _dvcq_apt_install postgresql
        bin=$(_dvcq_pg_bindir) || dvcq_die "postgresql installed, but no /usr/lib/postgresql/*/bin/initdb"
    fi
    _dvcq_dirs
    if [[ ! -s "$data/PG_VERSION" ]]; then
        dvcq_log "creating the PostgreSQL cluster in $data"
        rm -rf "$data"
        mkdir -p "$data"
        chmod 700 "$data"
        _dvcq_pg_as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
            >>"$DVCQ_LOG/postgresql.log" 2>&1 || {
            _dvcq_log_tail postgresql
            dvcq_die "initdb of $data failed (log: $DVCQ_LOG/postgresql.log; as root it runs under 'unshare --user', which this machine must allow, else set DVCQ_POSTGRESQL_URL)"
        }
        {
            echo "# dvcq (deploy/lib.sh): TCP on 127.0.0.1 only, no unix socket (its default directory is not ours)"
            echo "listen_addresses = '127.0.0.1'"
            echo "unix_socket_directories = ''"
            echo "max_connections = 300"
            if [[ "$DVCQ_INSTANCE" == test ]]; then
                # The test command's cluster only: its data is disposable, so durability is traded for speed.
                # Never for the run instance, whose data must survive a power cut.
                echo "fsync = off"
                echo "synchronous_commit = off"
                echo "full_page_writes = off"
            fi
        } >>"$data/postgresql.conf"
    fi
    pid=$(_dvcq_pg_pid "$data")
    if [[ -n "$pid" ]]; then
        port=$(sed -n 4p "$data/postmaster.pid")
    else
        port=$(_dvcq_free_port)
        dvcq_log "starting PostgreSQL on 127.0.0.1:$port (data in $data)"
        _dvcq_pg_as_owner "$bin/pg_ctl" -D "$data" -l "$DVCQ_LOG/postgresql.log" -o "-p $port" -w -t 60 start \
            >/dev/null || {
            _dvcq_log_tail postgresql
            dvcq_die "PostgreSQL did not start (log: $DVCQ_LOG/postgresql.log)"
        }
    fi
    psql=("$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -tA)
    if [[ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'")" != 1 ]]; then
        "${psql[@]}" -c "CREATE DATABASE ferretdb" || dvcq_die "could not create the database ferretdb"
    fi
    export DVCQ_POSTGRESQL_URL="postgres://postgres@127.0.0.1:$port/ferretdb"
}

# Stop this checkout's PostgreSQL cluster (fast shutdown: sessions are cut, committed data kept).
stop_postgresql() {
    local data="$DVCQ_DEPS/postgresql" bin
    [[ -n "$(_dvcq_pg_pid "$data")" ]] || return 0
    bin=$(_dvcq_pg_bindir) || return 0
    dvcq_log "stopping PostgreSQL ($data)"
    _dvcq_pg_as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null || dvcq_log "pg_ctl stop failed"
}

# --- FerretDB -----------------------------------------------------------------------------------------------

# Build the ferretdb binary into var/bin from the module source. A plain `go install` cannot be used: the module
# zip lacks build/version/version.txt, and the resulting binary panics at start.
build_ferretdb() {
    local build="$DVCQ_VAR/build" src="$DVCQ_VAR/build/ferretdb-src" mod dir
    if ! command -v go >/dev/null 2>&1; then
        [[ -x /usr/local/go/bin/go ]] || dvcq_die "Go is needed to build FerretDB ($DVCQ_FERRETDB_VERSION); install it or put ferretdb on PATH"
        PATH="$PATH:/usr/local/go/bin"
    fi
    _dvcq_dirs
    mkdir -p "$build"
    dvcq_log "building FerretDB $DVCQ_FERRETDB_VERSION (once; a few minutes)"
    mod=$(cd "$build" && go mod download -json "github.com/FerretDB/FerretDB@$DVCQ_FERRETDB_VERSION") ||
        dvcq_die "go mod download of FerretDB $DVCQ_FERRETDB_VERSION failed"
    dir=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])' <<<"$mod") ||
        dvcq_die "no Dir in the go mod download answer"
    [[ -d "$dir" ]] || dvcq_die "FerretDB module source missing at $dir"
    rm -rf "$src"
    cp -r "$dir" "$src"
    chmod -R u+w "$src"
    echo "$DVCQ_FERRETDB_VERSION" >"$src/build/version/version.txt"
    (cd "$src" && go build -buildvcs=false -o "$DVCQ_VAR/bin/ferretdb.tmp" ./cmd/ferretdb) ||
        dvcq_die "go build of FerretDB failed"
    mv -f "$DVCQ_VAR/bin/ferretdb.tmp" "$DVCQ_VAR/bin/ferretdb"
}

# The ferretdb binary: DVCQ_FERRETDB_BIN, else ferretdb on PATH, else var/bin/ferretdb (built once).
ferretdb_binary() {
    local bin=${DVCQ_FERRETDB_BIN:-$(command -v ferretdb || true)}
    if [[ -z "$bin" ]]; then
        bin="$DVCQ_VAR/bin/ferretdb"
        [[ -x "$bin" ]] || build_ferretdb >&2
    fi
    echo "$bin"
}

_dvcq_mongo_ping() {
    "$(_dvcq_python)" -c '
import sys
from pymongo import MongoClient
client = MongoClient(sys.argv[1], serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)
try:
    client.admin.command("ping")
finally:
    client.close()
' "$1" >/dev/null 2>&1
}

# Use the caller's MONGO_URL, or start FerretDB on this checkout's PostgreSQL (ensure_postgresql) and export
# its URL. A running FerretDB of ours is reused only while it talks to the same PostgreSQL.
ensure_ferretdb() {
    if [[ -n "${MONGO_URL:-}" ]]; then
        return 0
    fi
    local port bin url
    _dvcq_dirs
    _dvcq_choose_port ferretdb DVCQ_MONGO_PORT 27017 MONGO_URL
    port=$DVCQ_PORT
    ensure_postgresql
    url="mongodb://127.0.0.1:$port/"
    if ! _dvcq_pid_alive ferretdb || [[ "$(cat "$DVCQ_RUN/ferretdb.postgresql" 2>/dev/null)" != "$DVCQ_POSTGRESQL_URL" ]]; then
        stop_pidfile ferretdb
        bin=$(ferretdb_binary)
        mkdir -p "$DVCQ_DEPS/ferretdb-state"
        echo "$port" >"$DVCQ_RUN/ferretdb.port"
        echo "$DVCQ_POSTGRESQL_URL" >"$DVCQ_RUN/ferretdb.postgresql"
        dvcq_log "starting FerretDB on 127.0.0.1:$port (PostgreSQL backend: $DVCQ_POSTGRESQL_URL)"
        _dvcq_spawn ferretdb "$bin" --handler=postgresql --postgresql-url="$DVCQ_POSTGRESQL_URL" \
            --state-dir="$DVCQ_DEPS/ferretdb-state" --listen-addr="127.0.0.1:$port" --telemetry=disable \
            --debug-addr=- --log-level=error
    fi
    if ! _dvcq_wait_for 60 FerretDB ferretdb _dvcq_mongo_ping "$url"; then
        _dvcq_log_tail ferretdb
        dvcq_die "FerretDB did not answer ping at $url (waited up to 60 s; log: $DVCQ_LOG/ferretdb.log)"
    fi
    export MONGO_URL="$url"
}

# --- SMTP ---------------------------------------------------------------------------------------------------

# Use the caller's SMTP_URL, or start this checkout's SMTP server that keeps every mail in var/mail.
ensure_smtp() {
    if [[ -n "${SMTP_URL:-}" ]]; then
        return 0
    fi
    local port maildir="$DVCQ_DEPS/mail"
    _dvcq_dirs
    _dvcq_choose_port smtp DVCQ_SMTP_PORT 8025 SMTP_URL
    port=$DVCQ_PORT
    if ! _dvcq_pid_alive smtp; then
        echo "$port" >"$DVCQ_RUN/smtp.port"
        dvcq_log "starting the SMTP server on 127.0.0.1:$port (mail kept in $maildir)"
        _dvcq_spawn smtp "$(_dvcq_python)" "$ROOT/deploy/smtp_server.py" --host 127.0.0.1 --port "$port" \
            --maildir "$maildir"
    fi
    if ! _dvcq_wait_for 30 "SMTP server" smtp _dvcq_listener_is "$port" "$(_dvcq_pidfile_pid smtp)"; then
        _dvcq_log_tail smtp
        dvcq_die "the SMTP server did not listen on 127.0.0.1:$port (waited up to 30 s; log: $DVCQ_LOG/smtp.log)"
    fi
    export SMTP_URL="smtp://127.0.0.1:$port"
}

# Stop the process recorded in $DVCQ_RUN/NAME.pid: SIGTERM, up to 10 s of grace, then SIGKILL.
stop_pidfile() {
    local name=$1 pidfile="$DVCQ_RUN/$1.pid" pid deadline
    [[ -f "$pidfile" ]] || return 0
    pid=$(<"$pidfile")
    if [[ "$pid" =~ ^[0-9]+$ ]] && _dvcq_alive "$pid"; then
        dvcq_log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while _dvcq_alive "$pid" && ((SECONDS < deadline)); do
            sleep 0.2
        done
        if _dvcq_alive "$pid"; then
            dvcq_log "$name did not stop within 10 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile" "$DVCQ_RUN/$name.port"
}

# Stop every component this instance started (and nothing else): SMTP, FerretDB, PostgreSQL, RabbitMQ (its node
# or its cluster).
stop_stack_deps() {
    stop_pidfile smtp
    stop_pidfile ferretdb
    rm -f "$DVCQ_RUN/ferretdb.postgresql"
    stop_postgresql
    stop_rabbitmq
    stop_rabbitmq_cluster
}

# The browser the browser tests drive: Debian's chromium (Playwright's own browser download cannot be used here).
ensure_chromium() {
    if [[ ! -x /usr/bin/chromium ]]; then
        dvcq_log "installing chromium (apt)"
        _dvcq_apt_install chromium
    fi
}

# axe-core, the accessibility engine the browser tests inject into every page (WCAG 2.1 AA, issue 15 point 5):
# npm's package at a pinned version, fetched from the registry once into var/bin/ and checked against its
# published sha512 integrity (no node or npm needed).
AXE_VERSION=4.10.2
AXE_INTEGRITY=sha512-RE3mdQ7P3FRSe7eqCWoeQ/Z9QXrtniSjp1wUjt5nRC3WIpz5rSCve6o3fsZ2aCpJtrZjSZgjwXAoTO5k4tEI0w==
ensure_axe() {
    local dest="$DVCQ_VAR/bin/axe-$AXE_VERSION.min.js"
    [[ -s "$dest" ]] && return 0
    dvcq_log "fetching axe-core $AXE_VERSION (npm registry)"
    mkdir -p "$DVCQ_VAR/bin"
    "$(_dvcq_python)" - "$AXE_VERSION" "$AXE_INTEGRITY" "$dest" <<'PY' || dvcq_die "could not fetch axe-core $AXE_VERSION"
import base64, hashlib, io, os, sys, tarfile, urllib.request
version, integrity, dest = sys.argv[1:4]
url = f"https://registry.npmjs.org/axe-core/-/axe-core-{version}.tgz"
data = urllib.request.urlopen(url, timeout=120).read()
if "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode() != integrity:
    sys.exit(f"{url}: the download does not match its pinned integrity")
with tarfile.open(fileobj=io.BytesIO(data)) as tar:
    script = tar.extractfile("package/axe.min.js").read()
with open(dest + ".part", "wb") as out:
    out.write(script)
os.replace(dest + ".part", dest)
PY
}

# The reverse proxy in front of the services (shared/edge.py): Debian's Caddy. The package's own service is not
# used (each stack runs its Caddy with a configuration of its own).
ensure_caddy() {
    if ! command -v caddy >/dev/null 2>&1; then
        dvcq_log "installing caddy (apt)"
        _dvcq_apt_install caddy
    fi
}

# Everything the stack and the tests need: the venv, the signing key, the broker (this checkout's node, or its
# three-node cluster when DVCQ_RABBITMQ_CLUSTER=1), the store, the SMTP server, the reverse proxy. The run instance checks all its
# ports first, so a refusal starts nothing.
ensure_stack_deps() {
    ensure_venv
    ensure_secret
    if [[ "$DVCQ_INSTANCE" == run ]]; then
        if [[ -n "${AMQP_URL:-}" ]]; then
            :
        elif [[ "${DVCQ_RABBITMQ_CLUSTER:-}" == 1 ]]; then
            _dvcq_cluster_ports
        else
            _dvcq_choose_port rabbitmq DVCQ_AMQP_PORT 5672 AMQP_URL
        fi
        [[ -n "${MONGO_URL:-}" ]] || _dvcq_choose_port ferretdb DVCQ_MONGO_PORT 27017 MONGO_URL
        [[ -n "${SMTP_URL:-}" ]] || _dvcq_choose_port smtp DVCQ_SMTP_PORT 8025 SMTP_URL
    fi
    if [[ "${DVCQ_RABBITMQ_CLUSTER:-}" == 1 ]]; then
        ensure_rabbitmq_cluster
    else
        ensure_rabbitmq
    fi
    ensure_ferretdb
    ensure_caddy
    # the fault tests' own FerretDB (tests.support.OwnStore) takes a database in it even when MONGO_URL is given
    [[ "$DVCQ_INSTANCE" != test ]] || ensure_postgresql
    ensure_smtp
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    for _dvcq_fn in "$@"; do
        "$_dvcq_fn"
    done
fi
