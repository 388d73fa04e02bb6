#!/usr/bin/env bash
# Install everything the tests need on a fresh machine, then run every check the project has.
#
# System packages (Debian, as root), installed with apt-get when missing: PostgreSQL for the
# real-database tests; Debian's Chromium (driven by Playwright from /usr/bin/chromium — browsers are
# never downloaded) and CJK fonts for the dashboard's browser tests. A throwaway PostgreSQL cluster
# (scripts/pg.sh) runs for the duration of pytest; its URL is exported as ENFORCEHUB_TEST_PG_URL.
# Set ENFORCEHUB_TEST_PG_URL yourself to test against a server you run instead.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- system packages ---------------------------------------------------------------------------------
apt_packages=()
[ -n "${ENFORCEHUB_TEST_PG_URL:-}" ] || bash scripts/pg.sh bindir >/dev/null 2>&1 || apt_packages+=(postgresql)
[ -x /usr/bin/chromium ] || apt_packages+=(chromium)
fc-list 2>/dev/null | grep -qi 'cjk' || apt_packages+=(fonts-noto-cjk)
if [ "${#apt_packages[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== apt-get install ${apt_packages[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
    elif [[ " ${apt_packages[*]} " == *" chromium "* ]]; then
        echo "error: Debian's chromium is not installed and cannot be installed here (needs root and apt-get)." >&2
        echo "       Install it (apt-get install chromium) for the dashboard's browser tests." >&2
        exit 1
    elif [[ " ${apt_packages[*]} " == *" postgresql "* ]]; then
        echo "error: PostgreSQL is not installed and cannot be installed here (needs root and apt-get)." >&2
        echo "       Install PostgreSQL 15+ (Debian: apt-get install postgresql), set ENFORCEHUB_PG_BIN to" >&2
        echo "       its bin directory, or set ENFORCEHUB_TEST_PG_URL to a server you run." >&2
        exit 1
    fi
fi

# --- Python ------------------------------------------------------------------------------------------
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet -e '.[test]'

echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy

# --- PostgreSQL for the duration of pytest -----------------------------------------------------------
if [ -n "${ENFORCEHUB_TEST_PG_URL:-}" ]; then
    echo "== postgresql: ENFORCEHUB_TEST_PG_URL (${ENFORCEHUB_TEST_PG_URL%%://*}://…@${ENFORCEHUB_TEST_PG_URL##*@})"
    .venv/bin/python -c 'import os, sqlalchemy as sa
engine = sa.create_engine(os.environ["ENFORCEHUB_TEST_PG_URL"])
with engine.connect() as conn:
    print(conn.execute(sa.text("select version()")).scalar_one())' || echo "warning: cannot connect to it" >&2
else
    # A cluster of our own for this run (its own directory, and a free port when 54329 is taken),
    # so two runs on one machine never share or stop each other's server.
    pg_own_dir=""
    if [ -z "${ENFORCEHUB_PG_DIR:-}" ]; then
        pg_own_dir=$(mktemp -d /tmp/enforcehub-pg-test.XXXXXX)
        export ENFORCEHUB_PG_DIR=$pg_own_dir
    fi
    pg_was_running=0
    bash scripts/pg.sh status >/dev/null 2>&1 && pg_was_running=1
    stop_postgres() {
        if [ -n "$pg_own_dir" ]; then
            bash scripts/pg.sh destroy || true
        elif [ "$pg_was_running" = 0 ]; then
            bash scripts/pg.sh stop || true
        fi
    }
    trap stop_postgres EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    echo "== postgresql"
    if [ -n "$pg_own_dir" ]; then
        # If this script is killed (SIGKILL, a CI timeout), pg.sh's watchdog destroys the cluster.
        ENFORCEHUB_PG_OWNER_PID=$$ bash scripts/pg.sh start
    else
        bash scripts/pg.sh start
    fi
    ENFORCEHUB_TEST_PG_URL=$(bash scripts/pg.sh url)
    export ENFORCEHUB_TEST_PG_URL
fi

echo "== pytest"; .venv/bin/pytest "$@"
