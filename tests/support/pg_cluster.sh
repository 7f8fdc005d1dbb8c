#!/usr/bin/env bash
# pg_cluster.sh start|stop|down|up DIR: one throwaway PostgreSQL cluster for a test run
# (ctest's pg_cluster fixture: tests/CMakeLists.txt).
#
#   start  initdb (trust, UTF8, C locale) into a fresh temp directory, start the server
#          on 127.0.0.1 at a free port, its unix socket inside that directory, fsync
#          on; write the URL base (postgres://sb@127.0.0.1:PORT/) to DIR/url and the
#          temp directory to DIR/datadir. A cluster left running by a killed run is
#          stopped first.
#   stop   stop it (fast) and remove the temp directory and DIR's files.
#   down   stop the server only (fast: clients are disconnected), keeping the data;
#   up     start it again on the same port (what a PostgreSQL restart test needs).
#
# The server refuses to run as root: as root, everything that touches the cluster
# runs as the `postgres` system user (the postgresql package creates it).
# Environment: SB_PG_BIN (default /usr/lib/postgresql/15/bin, else pg_config's).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|down|up DIR" >&2; exit 2; }

bin=${SB_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$bin/initdb" ] && command -v pg_config >/dev/null; then bin=$(pg_config --bindir); fi
[ -x "$bin/initdb" ] || { echo "pg_cluster: no initdb in $bin (apt-get install postgresql)" >&2; exit 1; }

as_pg=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || { echo "pg_cluster: running as root and no postgres user" >&2; exit 1; }
  as_pg=(runuser -u postgres --)
fi

stop() {
  local data
  data=$(cat "$dir/datadir" 2>/dev/null || true)
  if [ -n "$data" ] && [ -d "$data" ]; then
    "${as_pg[@]}" "$bin/pg_ctl" stop -D "$data/data" -m fast -w >/dev/null 2>&1 || true
    rm -rf "$data"
  fi
  rm -f "$dir/url" "$dir/datadir"
}

# a port nobody listens on (the server's own bind is the real test: retried below)
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

pg_ctl_start() { # DATA: the settings are in its postgresql.auto.conf
  "${as_pg[@]}" "$bin/pg_ctl" start -D "$1/data" -w -t 30 -l "$1/server.log" >/dev/null 2>&1
}

case $cmd in
down)
  data=$(cat "$dir/datadir")
  "${as_pg[@]}" "$bin/pg_ctl" stop -D "$data/data" -m fast -w >/dev/null
  echo "pg_cluster: down"
  ;;
up)
  data=$(cat "$dir/datadir")
  pg_ctl_start "$data" || { tail -n 5 "$data/server.log" >&2; exit 1; }
  echo "pg_cluster: up"
  ;;
stop)
  stop
  echo "pg_cluster: stopped"
  ;;
start)
  mkdir -p "$dir"
  stop
  data=$(mktemp -d /tmp/sb-pg-XXXXXX)
  echo "$data" >"$dir/datadir"
  [ ${#as_pg[@]} -eq 0 ] || chown postgres "$data"
  "${as_pg[@]}" "$bin/initdb" -D "$data/data" -A trust -U sb -E UTF8 --locale=C >"$data/initdb.log" 2>&1 ||
    { cat "$data/initdb.log" >&2; exit 1; }
  "${as_pg[@]}" mkdir -p "$data/sock"
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    "${as_pg[@]}" tee "$data/data/postgresql.auto.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data/sock'
fsync = on
max_connections = 300
shared_buffers = '32MB'
EOF
    if pg_ctl_start "$data"; then
      echo "postgres://sb@127.0.0.1:$port/" >"$dir/url"
      echo "pg_cluster: $(cat "$dir/url") (data in $data)"
      exit 0
    fi
    echo "pg_cluster: attempt $attempt on port $port failed:" >&2
    tail -n 5 "$data/server.log" >&2 || true
  done
  exit 1
  ;;
*)
  echo "usage: $0 start|stop|down|up DIR" >&2
  exit 2
  ;;
esac
