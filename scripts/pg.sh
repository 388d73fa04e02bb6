#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: scripts/pg.sh start|stop|url|status|destroy|bindir
#
#   start    create the cluster if needed (installing Debian's postgresql with apt when it is missing
#            and we are root), start it on 127.0.0.1 and wait until it accepts connections. Idempotent.
#   stop     stop it (fast shutdown). Idempotent.
#   url      print postgresql+psycopg://USER:PASS@127.0.0.1:PORT/enforcehub
#   status   exit 0 when it is running, 3 when it is not
#   destroy  stop it and delete its directory
#   bindir   print the PostgreSQL bin directory that would be used (exit 1 if there is none)
#
# Environment:
#   ENFORCEHUB_PG_DIR      cluster directory (default /tmp/enforcehub-pg); owned by the postgres user
#   ENFORCEHUB_PG_PORT     TCP port; default 54329, or any free port when 54329 is taken
#   ENFORCEHUB_PG_BIN      PostgreSQL bin directory (default: newest /usr/lib/postgresql/*/bin)
#   ENFORCEHUB_PG_TIMEOUT  seconds to wait for the server to accept connections (default 60)
#   ENFORCEHUB_PG_OWNER_PID  when set, `start` also leaves a watchdog that destroys the cluster once
#                          that process is gone (a test run killed by SIGKILL or a timeout leaves no server)
#
# The cluster is for tests only: fsync and full_page_writes are off (the crash tests kill the hub,
# never PostgreSQL), synchronous_commit keeps its default. As root, every PostgreSQL program runs
# as the `postgres` OS user (initdb refuses root); otherwise as the calling user.
set -euo pipefail

PG_ROOT=${ENFORCEHUB_PG_DIR:-/tmp/enforcehub-pg}
SELF=$(readlink -f "$0")
DEFAULT_PORT=54329
TIMEOUT=${ENFORCEHUB_PG_TIMEOUT:-60}
DB_NAME=enforcehub
DB_USER=enforcehub
OS_USER=postgres

die() {
    echo "pg.sh: error: $*" >&2
    exit 1
}
say() { echo "pg.sh: $*" >&2; }

is_root() { [ "$(id -u)" = 0 ]; }

# --- finding (and installing) PostgreSQL -------------------------------------------------------------

find_bindir() {
    if [ -n "${ENFORCEHUB_PG_BIN:-}" ]; then
        [ -x "$ENFORCEHUB_PG_BIN/postgres" ] && [ -x "$ENFORCEHUB_PG_BIN/initdb" ] && {
            echo "$ENFORCEHUB_PG_BIN"
            return 0
        }
        return 1
    fi
    local dir best=""
    # Newest major version first (sort -V: 9.6 < 10 < 15 < 16).
    for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
        if [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            best=$dir
            break
        fi
    done
    if [ -z "$best" ] && command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir 2>/dev/null || true)
        [ -n "$dir" ] && [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] && best=$dir
    fi
    [ -n "$best" ] && echo "$best"
}

install_postgresql() {
    is_root || die "PostgreSQL is not installed and we are not root. Install it (Debian/Ubuntu:" \
        "sudo apt-get install -y postgresql) or point ENFORCEHUB_PG_BIN at its bin directory."
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is not" \
        "available. Install PostgreSQL (15 or newer) or set ENFORCEHUB_PG_BIN to its bin directory."
    say "PostgreSQL is not installed: apt-get install postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null || die "apt-get install postgresql failed"
}

BIN=""
need_bindir() {
    BIN=$(find_bindir) || BIN=""
    if [ -z "$BIN" ]; then
        [ -n "${ENFORCEHUB_PG_BIN:-}" ] && die "ENFORCEHUB_PG_BIN=$ENFORCEHUB_PG_BIN has no postgres/initdb"
        install_postgresql
        BIN=$(find_bindir) || die "PostgreSQL was installed but no /usr/lib/postgresql/*/bin/postgres found"
    fi
}

# --- running things as the cluster's owner -----------------------------------------------------------

ensure_os_user() {
    is_root || return 0
    id -u "$OS_USER" >/dev/null 2>&1 && return 0
    say "creating the system user $OS_USER"
    if command -v useradd >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
            --shell /bin/bash "$OS_USER"
    else
        adduser --system --group --home /var/lib/postgresql --no-create-home --shell /bin/bash "$OS_USER"
    fi
}

# Run a PostgreSQL program as the cluster owner, from a directory it can read (initdb and pg_ctl
# refuse to start from an unreadable working directory such as /root).
as_owner() {
    if is_root; then
        (cd / && runuser -u "$OS_USER" -- "$@")
    else
        (cd / && "$@")
    fi
}

# --- cluster layout ----------------------------------------------------------------------------------

DATA=$PG_ROOT/data
SOCK=$PG_ROOT/sock
LOG=$PG_ROOT/postgres.log
PORT_FILE=$PG_ROOT/port
PASS_FILE=$PG_ROOT/password

port_in_use() {
    # Bash's /dev/tcp connects: a listener (ours or anybody's) answers.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

kernel_free_port() {
    local py
    for py in python3 python; do
        if command -v "$py" >/dev/null 2>&1; then
            "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
            return 0
        fi
    done
    local p
    for p in $(seq 54330 54429); do
        port_in_use "$p" || {
            echo "$p"
            return 0
        }
    done
    die "no free TCP port found"
}

choose_port() {
    if [ -n "${ENFORCEHUB_PG_PORT:-}" ]; then
        port_in_use "$ENFORCEHUB_PG_PORT" && die "ENFORCEHUB_PG_PORT=$ENFORCEHUB_PG_PORT is already in use"
        echo "$ENFORCEHUB_PG_PORT"
    elif [ -s "$PORT_FILE" ] && ! port_in_use "$(cat "$PORT_FILE")"; then
        cat "$PORT_FILE"
    elif ! port_in_use "$DEFAULT_PORT"; then
        echo "$DEFAULT_PORT"
    else
        kernel_free_port
    fi
}

running() {
    [ -n "$BIN" ] || BIN=$(find_bindir) || return 1
    [ -f "$DATA/PG_VERSION" ] || return 1
    as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

log_tail() {
    echo "---- last lines of $LOG ----" >&2
    tail -n 40 "$LOG" >&2 2>/dev/null || echo "(no log)" >&2
    echo "----" >&2
}

psql_admin() {
    as_owner "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$(cat "$PORT_FILE")" -U postgres "$@"
}

init_cluster() {
    mkdir -p "$PG_ROOT"
    if is_root; then
        chown "$OS_USER:" "$PG_ROOT"
    fi
    chmod 700 "$PG_ROOT"
    as_owner test -w "$PG_ROOT" || die "$PG_ROOT is not writable by $OS_USER (is a parent directory" \
        "private to root? use ENFORCEHUB_PG_DIR=/tmp/something)"
    say "initdb $DATA"
    # No locale: byte-order collation, like SQLite's, so both backends sort text the same way.
    as_owner "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --no-locale --auth-local=trust \
        --auth-host=scram-sha-256 --no-instructions >"$PG_ROOT/initdb.log" 2>&1 || {
        cat "$PG_ROOT/initdb.log" >&2
        die "initdb failed"
    }
    as_owner mkdir -p "$SOCK"
    # A password for the TCP role, made once and kept next to the cluster (readable by its owner).
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$PASS_FILE"
    chmod 600 "$PASS_FILE"
    echo "include 'enforcehub.conf'" | as_owner tee -a "$DATA/postgresql.conf" >/dev/null
}

write_conf() {
    local port=$1
    as_owner tee "$DATA/enforcehub.conf" >/dev/null <<EOF
# Written by scripts/pg.sh on every start: a throwaway cluster for tests.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$SOCK'
max_connections = 200
shared_buffers = 128MB
fsync = off
full_page_writes = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

ensure_role_and_db() {
    local password
    password=$(cat "$PASS_FILE")
    psql_admin -d postgres -v pw="$password" <<'SQL' >/dev/null
SELECT format('CREATE ROLE enforcehub LOGIN CREATEDB PASSWORD %L', :'pw')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'enforcehub') \gexec
SELECT format('ALTER ROLE enforcehub PASSWORD %L', :'pw') \gexec
GRANT pg_signal_backend TO enforcehub;
SELECT 'CREATE DATABASE enforcehub OWNER enforcehub'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'enforcehub') \gexec
SQL
}

url() {
    [ -s "$PORT_FILE" ] && [ -s "$PASS_FILE" ] || die "no cluster in $PG_ROOT: run scripts/pg.sh start first"
    echo "postgresql+psycopg://$DB_USER:$(cat "$PASS_FILE")@127.0.0.1:$(cat "$PORT_FILE")/$DB_NAME"
}

start_watchdog() {
    local owner=$1
    kill -0 "$owner" 2>/dev/null || die "ENFORCEHUB_PG_OWNER_PID=$owner is not a running process"
    # Detached (own session, no inherited output): it must not keep the caller's pipes open.
    setsid bash -c '
        while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
        if [ -d "$2" ]; then
            echo "pg.sh watchdog: process $1 is gone; destroying $2" >&2
            ENFORCEHUB_PG_DIR=$2 exec bash "$3" destroy
        fi' pg-watchdog "$owner" "$PG_ROOT" "$SELF" </dev/null >/dev/null 2>&1 &
}

cmd_start() {
    local started_at=${EPOCHREALTIME/./} port version major

    need_bindir
    ensure_os_user
    version=$("$BIN/postgres" --version)
    if running; then
        say "already running: $version on 127.0.0.1:$(cat "$PORT_FILE") ($PG_ROOT)"
        return 0
    fi
    if [ ! -f "$DATA/PG_VERSION" ]; then
        init_cluster
    elif major=$("$BIN/postgres" --version | awk '{print $3}' | cut -d. -f1) &&
        [ "$(cat "$DATA/PG_VERSION")" != "$major" ]; then
        die "$DATA was made by PostgreSQL $(cat "$DATA/PG_VERSION"), not by $BIN: run scripts/pg.sh destroy"
    fi
    port=$(choose_port)
    echo "$port" >"$PORT_FILE"
    write_conf "$port"
    local out
    if ! out=$(as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t "$TIMEOUT" start 2>&1); then
        log_tail
        echo "$out" >&2
        die "PostgreSQL failed to start on 127.0.0.1:$port (see the log above; timeout ${TIMEOUT}s, $BIN)"
    fi
    local deadline=$((SECONDS + TIMEOUT))
    until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -t 2; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log_tail
            die "PostgreSQL is not accepting TCP connections on 127.0.0.1:$port after ${TIMEOUT}s"
        fi
        sleep 0.2
    done
    ensure_role_and_db || {
        log_tail
        die "could not create the role and database $DB_NAME"
    }
    # The real check: the test role logs in over TCP with its password.
    PGPASSWORD=$(cat "$PASS_FILE") "$BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U "$DB_USER" -d "$DB_NAME" \
        -c 'select 1' >/dev/null || {
        log_tail
        die "the $DB_USER role cannot log in over TCP"
    }
    [ -z "${ENFORCEHUB_PG_OWNER_PID:-}" ] || start_watchdog "$ENFORCEHUB_PG_OWNER_PID"
    local ms=$(((${EPOCHREALTIME/./} - started_at) / 1000))
    say "$version ready on 127.0.0.1:$port in $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s ($PG_ROOT)"
}

cmd_stop() {
    BIN=$(find_bindir) || BIN=""
    if [ -z "$BIN" ] || [ ! -f "$DATA/PG_VERSION" ]; then
        return 0
    fi
    if running; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w -t "$TIMEOUT" stop >/dev/null || {
            log_tail
            die "PostgreSQL did not stop"
        }
        say "stopped ($PG_ROOT)"
    fi
}

cmd_destroy() {
    cmd_stop
    case "$PG_ROOT" in
    "" | / | /tmp | /var | /home | /root) die "refusing to delete $PG_ROOT" ;;
    esac
    [ -d "$PG_ROOT" ] || return 0
    # Only delete what pg.sh made.
    [ -f "$DATA/PG_VERSION" ] || [ -f "$PASS_FILE" ] || [ -z "$(ls -A "$PG_ROOT")" ] ||
        die "$PG_ROOT does not look like a pg.sh cluster; not deleting it"
    rm -rf "$PG_ROOT"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
url) url ;;
status)
    if running; then
        echo "running on 127.0.0.1:$(cat "$PORT_FILE") ($PG_ROOT)"
    else
        echo "not running ($PG_ROOT)"
        exit 3
    fi
    ;;
destroy) cmd_destroy ;;
bindir) find_bindir || exit 1 ;;
*)
    echo "usage: scripts/pg.sh start|stop|url|status|destroy|bindir" >&2
    exit 2
    ;;
esac
