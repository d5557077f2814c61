#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the tests (make test starts and stops it).
#   bash tests/pg_server.sh start   -> prints its URL, or nothing when PostgreSQL is not installed
#   bash tests/pg_server.sh stop
set -u
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
dir=${PG_TEST_DIR:-/tmp/dpn_msc_pg_test}
port=${PG_TEST_PORT:-55432}
as_owner() {  # initdb and postgres refuse to run as root
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}
case "${1:-}" in
  start)
    [ -n "$bin" ] && [ -x "$bin/initdb" ] || exit 0
    # A server left running from an earlier start (by hand, or a run that was killed) would
    # keep the port: stop it before its folder is wiped.
    if [ -d "$dir/data" ]; then
      as_owner "$bin/pg_ctl -D $dir/data -m fast stop >/dev/null 2>&1"
    fi
    rm -rf "$dir" && mkdir -p "$dir" || exit 0
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb -D $dir/data -A trust -U postgres >/dev/null" || exit 0
    as_owner "$bin/pg_ctl -D $dir/data -l $dir/log -w -o '-p $port -k $dir -c listen_addresses=127.0.0.1' start >/dev/null" || exit 0
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    if [ -n "$bin" ] && [ -d "$dir/data" ]; then
      as_owner "$bin/pg_ctl -D $dir/data -m fast stop >/dev/null 2>&1"
    fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 1 ;;
esac
