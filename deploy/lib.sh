# shellcheck shell=bash
# Helpers for the local stack: sourced by run.sh, down.sh and test.sh (which set -euo pipefail themselves).
# Every piece of state lives under $ROOT/var/. A component whose URL the caller already set
# (AMQP_URL, MONGO_URL, SMTP_URL) is used as it is and never started here.
# Also runnable as `bash deploy/lib.sh FUNCTION...` to call single helpers.

dvcq_root() {
    (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
}

ROOT="$(dvcq_root)"
DVCQ_VAR="$ROOT/var"
DVCQ_FERRETDB_VERSION="v1.24.2"

dvcq_log() {
    printf '[dvcq] %s\n' "$*" >&2
}

dvcq_die() {
    printf '[dvcq] error: %s\n' "$*" >&2
    exit 1
}

_dvcq_dirs() {
    mkdir -p "$DVCQ_VAR/run" "$DVCQ_VAR/log" "$DVCQ_VAR/bin"
}

# True when something accepts TCP connections on HOST PORT.
_dvcq_port_open() {
    # shellcheck disable=SC2016 # $0 and $1 expand in the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# _dvcq_wait_for SECONDS WHAT NAME COMMAND...: poll COMMAND until it succeeds; fail when the deadline passes or,
# unless NAME is -, when the process recorded in var/run/NAME.pid is gone.
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

# True when the pid recorded in var/run/NAME.pid is a live process.
_dvcq_pid_alive() {
    local pidfile="$DVCQ_VAR/run/$1.pid" pid
    [[ -f "$pidfile" ]] || return 1
    pid=$(<"$pidfile")
    [[ "$pid" =~ ^[0-9]+$ ]] && _dvcq_alive "$pid"
}

# _dvcq_spawn NAME COMMAND...: start COMMAND in its own session (a Ctrl-C in the terminal does not reach it),
# output to var/log/NAME.log, pid to var/run/NAME.pid.
_dvcq_spawn() {
    local name=$1
    shift
    _dvcq_dirs
    setsid nohup "$@" >>"$DVCQ_VAR/log/$name.log" 2>&1 </dev/null &
    echo $! >"$DVCQ_VAR/run/$name.pid"
}

_dvcq_log_tail() {
    tail -n 20 "$DVCQ_VAR/log/$1.log" >&2 2>/dev/null || true
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

# The RabbitMQ commands live in /usr/sbin, which a non-root PATH may lack.
_dvcq_sbin_on_path() {
    case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
}

_dvcq_rabbit_ping() {
    timeout 20 rabbitmq-diagnostics -q ping >/dev/null 2>&1
}

# Use the caller's AMQP_URL, or install (apt) and start the local RabbitMQ and export its URL.
ensure_rabbitmq() {
    if [[ -n "${AMQP_URL:-}" ]]; then
        return 0
    fi
    _dvcq_dirs
    _dvcq_sbin_on_path
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
        dvcq_log "installing rabbitmq-server (apt)"
        _dvcq_apt_install rabbitmq-server
    fi
    if ! _dvcq_rabbit_ping; then
        dvcq_log "starting RabbitMQ"
        _dvcq_as_root rabbitmq-server -detached >>"$DVCQ_VAR/log/rabbitmq.log" 2>&1 ||
            dvcq_die "rabbitmq-server -detached failed (see $DVCQ_VAR/log/rabbitmq.log)"
        touch "$DVCQ_VAR/run/rabbitmq.started-by-dvcq"
        _dvcq_wait_for 90 RabbitMQ - _dvcq_rabbit_ping ||
            dvcq_die "RabbitMQ did not answer 'rabbitmq-diagnostics ping' within 90 s (logs: /var/log/rabbitmq/)"
    fi
    export AMQP_URL="amqp://guest:guest@127.0.0.1:5672/%2F"
}

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

# Use the caller's MONGO_URL, or start FerretDB (SQLite backend, data in var/ferretdb) and export its URL.
ensure_ferretdb() {
    if [[ -n "${MONGO_URL:-}" ]]; then
        return 0
    fi
    local port="${DVCQ_MONGO_PORT:-27017}" bin data="$DVCQ_VAR/ferretdb" url watch=-
    url="mongodb://127.0.0.1:$port/"
    if _dvcq_pid_alive ferretdb; then
        watch=ferretdb
    elif ! _dvcq_port_open 127.0.0.1 "$port"; then
        bin=$(command -v ferretdb || true)
        if [[ -z "$bin" ]]; then
            bin="$DVCQ_VAR/bin/ferretdb"
            [[ -x "$bin" ]] || build_ferretdb
        fi
        mkdir -p "$data"
        dvcq_log "starting FerretDB on 127.0.0.1:$port (data in $data)"
        _dvcq_spawn ferretdb "$bin" --handler=sqlite --sqlite-url="file:$data/" --state-dir="$data" \
            --listen-addr="127.0.0.1:$port" --telemetry=disable --debug-addr=- --log-level=error
        watch=ferretdb
    fi
    if ! _dvcq_wait_for 60 FerretDB "$watch" _dvcq_mongo_ping "$url"; then
        _dvcq_log_tail ferretdb
        dvcq_die "no MongoDB-compatible server answered ping at $url (waited up to 60 s; log: $DVCQ_VAR/log/ferretdb.log)"
    fi
    export MONGO_URL="$url"
}

# Use the caller's SMTP_URL, or start the local SMTP server that keeps every mail in var/mail.
ensure_smtp() {
    if [[ -n "${SMTP_URL:-}" ]]; then
        return 0
    fi
    local port="${DVCQ_SMTP_PORT:-8025}" watch=-
    if _dvcq_pid_alive smtp; then
        watch=smtp
    elif ! _dvcq_port_open 127.0.0.1 "$port"; then
        dvcq_log "starting the SMTP server on 127.0.0.1:$port (mail kept in $DVCQ_VAR/mail)"
        _dvcq_spawn smtp "$(_dvcq_python)" "$ROOT/deploy/smtp_server.py" --host 127.0.0.1 --port "$port" \
            --maildir "$DVCQ_VAR/mail"
        watch=smtp
    fi
    if ! _dvcq_wait_for 30 "SMTP server" "$watch" _dvcq_port_open 127.0.0.1 "$port"; then
        _dvcq_log_tail smtp
        dvcq_die "no SMTP server listened on 127.0.0.1:$port (waited up to 30 s; log: $DVCQ_VAR/log/smtp.log)"
    fi
    export SMTP_URL="smtp://127.0.0.1:$port"
}

# Stop the process recorded in var/run/NAME.pid: SIGTERM, up to 10 s of grace, then SIGKILL.
stop_pidfile() {
    local name=$1 pidfile="$DVCQ_VAR/run/$1.pid" pid deadline
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
    rm -f "$pidfile"
}

# The browser the browser tests drive: Debian's chromium (Playwright's own browser download cannot be used here).
ensure_chromium() {
    if [[ ! -x /usr/bin/chromium ]]; then
        dvcq_log "installing chromium (apt)"
        _dvcq_apt_install chromium
    fi
}

# Everything the stack and the tests need: the venv, the signing key, the broker, the store, the SMTP server.
ensure_stack_deps() {
    ensure_venv
    ensure_secret
    ensure_rabbitmq
    ensure_ferretdb
    ensure_smtp
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    for _dvcq_fn in "$@"; do
        "$_dvcq_fn"
    done
fi
