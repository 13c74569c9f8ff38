#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the tests: initdb on a temporary directory, a loopback port,
# trust authentication, as a non-root user (PostgreSQL refuses to run as root; CI runs as root).
# Prints `export` lines: eval "$(bash tests/postgres/start.sh)". Stop it with tests/postgres/stop.sh.
# Installs Debian's postgresql package when it is missing.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "== installing postgresql" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

dir=$(mktemp -d /tmp/switchyard-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as=()
user=$(id -un)
if [ "$(id -u)" = 0 ]; then
  user=postgres
  id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  chown postgres "$dir"
  as=(runuser -u postgres --)
fi
chmod 700 "$dir"
"${as[@]}" "$bin/initdb" -D "$dir/data" -U "$user" --auth=trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
# Settings for tests: no fsync (a crash of the test database loses nothing that matters), enough connections
# for three replicas and the Swift tests' pools at once.
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
  start >&2 || { cat "$dir/server.log" >&2; exit 1; }
"$bin/psql" -h 127.0.0.1 -p "$port" -U "$user" -d postgres -qc "CREATE DATABASE switchyard_test" >&2
echo "export SWITCHYARD_TEST_POSTGRES='postgres://$user@127.0.0.1:$port/switchyard_test?sslmode=disable'"
echo "export SWITCHYARD_TEST_POSTGRES_DIR='$dir'"
echo "export SWITCHYARD_TEST_POSTGRES_BIN='$bin'"
