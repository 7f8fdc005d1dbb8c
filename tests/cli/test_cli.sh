#!/usr/bin/env bash
# test_cli.sh BINARY: `switchboard schema`, `validate` and `apikey`, as a user runs them.
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

# validate --batch: one verdict line per input line, in order, exit 0
printf '%s\n' '{"action":"mark_read","message_id":"m1"}' '{"action":"fly"}' '{"action":"mark_read"' \
  '{ "message_id" : "m2", "action": "mark_read" }' >"$tmp/batch.jsonl"
check "validate batch" 0 "$bin" validate --batch chat:in "$tmp/batch.jsonl"
expect_out "validate batch verdicts" 'ok {"action":"mark_read","message_id":"m1"}
error: action: unknown value "fly"
error: $: invalid JSON at byte 21: unexpected end of input
ok {"action":"mark_read","message_id":"m2"}'
# an unknown discriminator holding a newline is still one verdict line (was two)
printf '%s\n' '{"action":"a\nb"}' '{"action":"fly"}' >"$tmp/batch.jsonl"
check "validate batch control bytes" 0 "$bin" validate --batch chat:in "$tmp/batch.jsonl"
expect_out "validate batch control bytes verdicts" 'error: action: unknown value "a\x0Ab"
error: action: unknown value "fly"'
check "validate batch unknown target" 2 "$bin" validate --batch nope "$tmp/batch.jsonl"

# apikey: add prints ID TAB NAME TAB KEY once; the database keeps only the key's hash
db="$tmp/keys/db.sqlite"
check "apikey add" 0 "$bin" apikey add --name ci --db "$db"
key=$(cut -f3 "$tmp/out")
grep -qP '^1\tci\tsbk_[0-9a-f]{64}$' "$tmp/out" && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL apikey add: $(cat "$tmp/out")"; }
check "apikey add second" 0 "$bin" apikey add --name "deploy bot" --db "$db"
grep -qP '^2\tdeploy bot\tsbk_[0-9a-f]{64}$' "$tmp/out" && [ "$(cut -f3 "$tmp/out")" != "$key" ] &&
  pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL apikey add second: $(cat "$tmp/out")"; }
check "apikey duplicate name" 1 "$bin" apikey add --name ci --db "$db"
expect_err "apikey duplicate message" \
  "switchboard apikey add: a key named 'ci' exists (revoked keys keep their names); choose another name"
[ ! -s "$tmp/out" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: a key printed for a duplicate"; }
check "apikey list" 0 "$bin" apikey list --db "$db"
if awk -F'\t' 'NR == 1 && $0 != "ID\tNAME\tCREATED\tLAST_USED\tREVOKED" { bad = 1 }
    NR > 1 && (NF != 5 || $3 !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z$/ || $4 != "-" || $5 != "-") { bad = 1 }
    END { exit bad || NR != 3 }' "$tmp/out"; then pass=$((pass + 1)); else
  fail=$((fail + 1)); echo "FAIL apikey list:"; cat "$tmp/out"; fi
hash=$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)
if grep -q -e "$key" -e "${key#sbk_}" -e "$hash" "$tmp/out"; then
  fail=$((fail + 1)); echo "FAIL apikey list shows a key or a hash"; else pass=$((pass + 1)); fi
# the key's text is nowhere in the database (nor its WAL), its hash is
[ "$(sqlite3 "$db" "SELECT key_hash FROM core_api_keys WHERE name = 'ci'")" = "$hash" ] &&
  pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL apikey: stored hash is not SHA-256 of the key"; }
if cat "$db"* | grep -a -q -e "${key#sbk_}"; then
  fail=$((fail + 1)); echo "FAIL apikey: the key is in the database file"; else pass=$((pass + 1)); fi
[ "$(sqlite3 "$db" "SELECT count(*) FROM core_api_keys WHERE instr(key_hash, '${key#sbk_}') OR instr(name, '${key#sbk_}')")" = 0 ] &&
  pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL apikey: the key is in a row"; }
check "apikey revoke" 0 "$bin" apikey revoke --name ci --db "$db"
expect_out "apikey revoke output" "$(printf '1\tci\trevoked')"
check "apikey revoke again" 0 "$bin" apikey revoke --name ci --db "$db"
check "apikey revoke unknown" 1 "$bin" apikey revoke --name nobody --db "$db"
expect_err "apikey revoke unknown message" "switchboard apikey revoke: no key named 'nobody'"
check "apikey list after revoke" 0 "$bin" apikey list --db "$db"
awk -F'\t' '$1 == 1 && $5 ~ /Z$/ { r = 1 } $1 == 2 && $5 == "-" { a = 1 } END { exit !(r && a) }' "$tmp/out" &&
  pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL apikey list after revoke:"; cat "$tmp/out"; }
check "apikey revoked name stays taken" 1 "$bin" apikey add --name ci --db "$db"
SB_DB="$db" check "apikey SB_DB" 0 "$bin" apikey list
[ "$(wc -l <"$tmp/out")" = 3 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL apikey SB_DB"; }
check "apikey no subcommand" 2 "$bin" apikey
check "apikey unknown subcommand" 2 "$bin" apikey rotate --name ci --db "$db"
check "apikey add no name" 2 "$bin" apikey add --db "$db"
check "apikey add empty name" 2 "$bin" apikey add --name "" --db "$db"
check "apikey add tab in name" 2 "$bin" apikey add --name "$(printf 'a\tb')" --db "$db"
check "apikey list with name" 2 "$bin" apikey list --name ci --db "$db"
check "apikey missing value" 2 "$bin" apikey add --name
check "apikey help" 0 "$bin" apikey --help
check "help names apikey" 0 "$bin" --help
grep -q 'switchboard apikey add --name NAME' "$tmp/out" && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL --help does not name apikey"; }

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
