#!/usr/bin/env bash
# test_cli.sh BINARY: `switchboard schema` and `switchboard validate`, as a user runs them.
set -uo pipefail
bin=$1
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # check NAME EXPECTED_RC CMD... ; stdout/stderr land in $tmp/out, $tmp/err
  local name=$1 want=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" = "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $name: exit $rc, wanted $want"; sed 's/^/  err: /' "$tmp/err"
  fi
}
expect_out() { # expect_out NAME EXACT_TEXT
  if [ "$(cat "$tmp/out")" = "$2" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $1: stdout was:"; cat "$tmp/out"; echo "wanted:"; echo "$2"
  fi
}
expect_err() { # expect_err NAME EXACT_LINE
  if [ "$(cat "$tmp/err")" = "$2" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $1: stderr was:"; cat "$tmp/err"; echo "wanted:"; echo "$2"
  fi
}

# schema: one line per message, NAME TAB CHANNEL TAB DIR TAB DISC=VALUE or -
check "schema" 0 "$bin" schema
grep -qP '^SendMessageEvent\tchat\tin\taction=send_message$' "$tmp/out" && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL schema: no SendMessageEvent line"; }
grep -qP '^NewRoomPayload\tchat\tout\ttype=new_room$' "$tmp/out" && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL schema: no NewRoomPayload line"; }
if awk -F'\t' 'NF != 4 || ($3 != "in" && $3 != "out" && $3 != "http") { bad = 1 } END { exit bad }' "$tmp/out"; then
  pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL schema: malformed line"; fi
if awk -F'\t' '$3 == "http" && $4 != "-" { bad = 1 } END { exit bad }' "$tmp/out"; then
  pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL schema: http message with a discriminator"; fi

# validate: valid input is printed canonical (schema field order, compact)
printf '{ "message_id" : "m1",\n "action": "mark_read" }' >"$tmp/in.json"
check "validate by name" 0 "$bin" validate MarkReadEvent "$tmp/in.json"
expect_out "validate canonical" '{"action":"mark_read","message_id":"m1"}'
check "validate by union from stdin" 0 "$bin" validate chat:in - <"$tmp/in.json"
expect_out "validate union canonical" '{"action":"mark_read","message_id":"m1"}'
check "validate stdin by default" 0 "$bin" validate chat:in <"$tmp/in.json"

# invalid: one line "error: PATH: REASON" on stderr, exit 1
echo '{"type":"new_message","data":{"room_id":"1","message":{"id":"m","is_sent":true,"is_system_message":false,"timestamp":"x"}}}' >"$tmp/bad.json"
check "invalid nested" 1 "$bin" validate chat:out "$tmp/bad.json"
expect_err "invalid nested message" "error: data.message.timestamp: expected integer, got string"
check "invalid empty out" 1 "$bin" validate chat:out "$tmp/bad.json"
[ ! -s "$tmp/out" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: stdout not empty on error"; }
echo '{"action":"fly"}' | check "unknown action" 1 "$bin" validate chat:in
expect_err "unknown action message" 'error: action: unknown value "fly"'
echo '{"room_id":"1"}' | check "no action" 1 "$bin" validate chat:in
expect_err "no action message" 'error: action: missing discriminator'
echo '{"action":"mark_read"' | check "broken JSON" 1 "$bin" validate chat:in
grep -q '^error: ' "$tmp/err" && [ "$(wc -l <"$tmp/err")" = 1 ] && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL broken JSON: not one error line"; cat "$tmp/err"; }

# usage errors and unreadable input: exit 2
check "no args" 2 "$bin"
check "validate no target" 2 "$bin" validate
check "unknown target" 2 "$bin" validate NoSuchMessage "$tmp/in.json"
check "unknown union" 2 "$bin" validate chat:sideways "$tmp/in.json"
check "missing file" 2 "$bin" validate chat:in "$tmp/does-not-exist.json"
check "too many args" 2 "$bin" validate chat:in a b
check "unknown command" 2 "$bin" frobnicate

# the size limit: 1 MiB documents
head -c 1100000 /dev/zero | tr '\0' ' ' >"$tmp/big.json"
check "over the size limit" 1 "$bin" validate chat:in "$tmp/big.json"
grep -q '^error: \$: ' "$tmp/err" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL size: $(cat "$tmp/err")"; }

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
