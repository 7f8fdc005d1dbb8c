#!/usr/bin/env bash
# smoke.sh BINARY: the server under valgrind's memcheck through a short
# session and a SIGTERM. libwebsockets is not built with the sanitizers, so
# this is what sees memory errors inside it (lws_context_deprecate's
# use-after-free was found this way). Fails on any error or leak.
#
# With SB_TEST_DB=postgres (and SB_TEST_PG_URL_FILE: the cluster's URL, as
# the pg_cluster fixture writes it) the server runs on a fresh PostgreSQL
# database instead: its handler calls then run on a coroutine (runtime/coro.c),
# whose stack switches valgrind follows too.
set -uo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
pgdb=
pgbase=
cleanup() {
  kill -9 $pid 2>/dev/null
  [ -n "$pgdb" ] && psql -X -q -d "${pgbase}postgres" -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
db="$dir/db.sqlite"
dbargs=(--db "$db")
if [ "${SB_TEST_DB:-sqlite}" = postgres ]; then
  pgbase=$(cat "${SB_TEST_PG_URL_FILE:?SB_TEST_DB=postgres needs SB_TEST_PG_URL_FILE}")
  pgbase=${pgbase%/}/
  pgdb="sb_valgrind_$$"
  psql -X -q -v ON_ERROR_STOP=1 -d "${pgbase}postgres" \
    -c "CREATE DATABASE $pgdb TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" ||
    { echo "cannot create the database"; exit 1; }
  db="${pgbase}${pgdb}"
  dbargs=(--db "$db" --data-dir "$dir")
fi
valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
  --error-exitcode=99 "$bin" serve --port 0 "${dbargs[@]}" --idle-timeout 0 \
  >"$dir/out" 2>"$dir/err" &
pid=$!
port=
for _ in $(seq 100); do
  port=$(grep -o 'event=listen bind=[^ ]* port=[0-9]*' "$dir/err" | sed 's/.*port=//')
  [ -n "$port" ] && break
  sleep 0.2
done
[ -n "$port" ] || { echo "server did not start"; cat "$dir/err"; exit 1; }
if [ -n "$pgdb" ] && ! grep -q 'engine=postgres' "$dir/err"; then
  echo "not on PostgreSQL"; cat "$dir/err"; exit 1
fi
a=$(sed -n 1p "$dir/demo-tokens.txt" | cut -f4)
b=$(sed -n 2p "$dir/demo-tokens.txt" | cut -f4)
timeout 60 node "$here/session.mjs" "$port" "$a" "$b" || { echo "session failed"; exit 1; }
# the realtime protocol: its demo key and secret are beside the database
key=$(grep -o 'sbk_[0-9a-f]*' "$dir/demo-realtime.txt")
rt=$("$bin" realtime token --user vg-user --company vg-company --session vg "${dbargs[@]}")
timeout 90 node "$here/realtime_session.mjs" "$port" "$rt" "$key" ||
  { echo "realtime session failed"; exit 1; }
# the therapy protocol: demo people, codes in sms.jsonl beside the database
timeout 90 node "$here/therapy_session.mjs" "$port" "$dir" "$key" ||
  { echo "therapy session failed"; exit 1; }
# the dashboard: demo case 1, the operator key beside the database
timeout 90 node "$here/dashboard_session.mjs" "$port" "$dir" ||
  { echo "dashboard session failed"; exit 1; }
kill -TERM $pid
wait $pid
rc=$?
if [ $rc -ne 0 ]; then
  echo "valgrind: exit $rc"
  grep '^==' "$dir/err" | head -60
  exit 1
fi
grep -o 'event=postgres_stats.*' "$dir/err"
echo "valgrind: clean (session, shutdown, 0 errors${pgdb:+, on PostgreSQL})"
