#!/usr/bin/env bash
# Stops the PostgreSQL tests/postgres/start.sh started and removes its directory.
set -uo pipefail
dir=${SWITCHYARD_TEST_POSTGRES_DIR:-}
bin=${SWITCHYARD_TEST_POSTGRES_BIN:-}
[ -n "$dir" ] && [ -d "$dir" ] || exit 0
as=()
[ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
rm -rf "$dir"
