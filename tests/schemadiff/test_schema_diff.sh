#!/usr/bin/env bash
# test_schema_diff.sh BINARY: `switchboard schema diff` over a table of edits
# of base/t.lua. Each case is one sed script applied to a copy of the base,
# its verdict (BREAKING: exit 1, SAFE or NONE: exit 0) and its whole output.
# Then the git-revision form, in a temporary repository with two commits.
set -uo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# t NAME VERDICT SED_SCRIPT <<EXPECTED_OUTPUT
t() {
  local name=$1 verdict=$2 script=$3 want rc
  want=$(cat)
  mkdir -p "$tmp/$name"
  sed -e "$script" "$here/base/t.lua" >"$tmp/$name/t.lua"
  if cmp -s "$here/base/t.lua" "$tmp/$name/t.lua" && [ "$verdict" != NONE ]; then
    fail=$((fail + 1)); echo "FAIL $name: the edit changed nothing"; return
  fi
  "$bin" schema diff "$here/base" "$tmp/$name" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
  local want_rc=0
  [ "$verdict" = BREAKING ] && want_rc=1
  if [ "$rc" != "$want_rc" ]; then
    fail=$((fail + 1)); echo "FAIL $name: exit $rc, wanted $want_rc ($verdict)"; cat "$tmp/$name.err"
  elif [ "$(cat "$tmp/$name.out")" != "$want" ]; then
    fail=$((fail + 1)); echo "FAIL $name: output was:"; cat "$tmp/$name.out"; echo "wanted:"; echo "$want"
  else
    pass=$((pass + 1))
  fi
}

t unchanged NONE 's/doc = "Text."/doc = "Other text."/' </dev/null
t removed_field BREAKING '/"note", str/d' <<'EOF'
BREAKING t.Send.note: field removed
EOF
t removed_enum_value_input BREAKING 's/"red", "green", "blue"/"red", "green"/' <<'EOF'
BREAKING t.Send.color: enum value "blue" removed
EOF
t removed_enum_value_output SAFE 's/"open", "closed"/"open"/' <<'EOF'
SAFE t.Sent.state: enum value "closed" removed
EOF
t added_enum_value_input SAFE 's/"red", "green", "blue"/"red", "green", "blue", "black"/' <<'EOF'
SAFE t.Send.color: enum value "black" added
EOF
t added_enum_value_output BREAKING 's/"open", "closed"/"open", "closed", "pending"/' <<'EOF'
BREAKING t.Sent.state: enum value "pending" added
EOF
t new_optional_field_input SAFE '/"note", str/a { "mood", str { max = 9 }, optional, doc = "Mood." },' <<'EOF'
SAFE t.Send.mood: optional field added
EOF
t new_required_field_input BREAKING '/"note", str/a { "mood", str { max = 9 }, required, doc = "Mood." },
s/"text": "hi",/"text": "hi", "mood": "ok",/' <<'EOF'
BREAKING t.Send.mood: required field added
EOF
t new_field_output SAFE '/"extra", str/a { "more", str { max = 9 }, optional, doc = "More." },' <<'EOF'
SAFE t.Sent.more: optional field added
EOF
t optional_to_required_input BREAKING 's/"note", str { max = 50 }, optional/"note", str { max = 50 }, required/
s/"text": "hi",/"text": "hi", "note": "n",/' <<'EOF'
BREAKING t.Send.note: presence changed (optional → required)
EOF
t required_to_optional_input SAFE 's/"text", str { max = 100 }, required/"text", str { max = 100 }, optional/' <<'EOF'
SAFE t.Send.text: presence changed (required → optional)
EOF
t required_to_optional_output BREAKING '/message "Sent"/,/^}/s/"id", str { max = 36 }, required/"id", str { max = 36 }, optional/' <<'EOF'
BREAKING t.Sent.id: presence changed (required → optional)
EOF
t max_lowered_input BREAKING 's/"text", str { max = 100 }/"text", str { max = 50 }/' <<'EOF'
BREAKING t.Send.text: max lowered (100 → 50)
EOF
t max_raised_input SAFE 's/"text", str { max = 100 }/"text", str { max = 200 }/' <<'EOF'
SAFE t.Send.text: max raised (100 → 200)
EOF
t max_lowered_output SAFE '/message "Sent"/,/^}/s/"id", str { max = 36 }/"id", str { max = 20 }/' <<'EOF'
SAFE t.Sent.id: max lowered (36 → 20)
EOF
t min_raised_input BREAKING 's/int { min = 0, max = 10 }/int { min = 1, max = 10 }/' <<'EOF'
BREAKING t.Send.count: min raised (0 → 1)
EOF
t array_max_lowered_input BREAKING 's/array { str { max = 10 }, max = 5 }/array { str { max = 10 }, max = 3 }/' <<'EOF'
BREAKING t.Send.items: max lowered (5 → 3)
EOF
t pattern_added_input BREAKING 's/"text", str { max = 100 }/"text", str { max = 100, pattern = "^[a-z]+$" }/' <<'EOF'
BREAKING t.Send.text: pattern added (none → ^[a-z]+$)
EOF
t format_added_input BREAKING 's/"note", str { max = 50 }/"note", str { max = 50, format = "uri" }/' <<'EOF'
BREAKING t.Send.note: format added (none → uri)
EOF
t nullable_to_nonnull_output SAFE 's/"reason", str { max = 100 }, nullable/"reason", str { max = 100 }, required/
s/"reason": null/"reason": "r"/' <<'EOF'
SAFE t.Sent.reason: presence changed (nullable → required)
EOF
t nullable_to_nonnull_input BREAKING 's/"tag", str { max = 20 }, nullable/"tag", str { max = 20 }, required/
s/"tag": null/"tag": "x"/' <<'EOF'
BREAKING t.Send.tag: presence changed (nullable → required)
EOF
t nonnull_to_nullable_output BREAKING 's/"extra", str { max = 100 }, optional/"extra", str { max = 100 }, optional_nullable/' <<'EOF'
BREAKING t.Sent.extra: presence changed (optional → optional_nullable)
EOF
t discriminator_value_changed BREAKING 's/literal "ping"/literal "pong"/;s/"action": "ping"/"action": "pong"/' <<'EOF'
BREAKING t.Ping: discriminator value changed (ping → pong)
EOF
t type_changed BREAKING 's/"count", int { min = 0, max = 10 }/"count", str { max = 10 }/;s/"count": 1/"count": "1"/' <<'EOF'
BREAKING t.Send.count: type changed (int → str)
EOF
t removed_message BREAKING '/^message "Ping"/,/^}/d' <<'EOF'
BREAKING t.Ping: message removed
EOF
t new_message SAFE '$a message "Bye" { dir = "in", doc = "Bye.", since = 2, fields = { { "action", literal "bye", required, doc = "D." } }, examples = { [[{"action": "bye"}]] } }' <<'EOF'
SAFE t: version changed (1 → 2)
SAFE t.Bye: message added
EOF
t removed_endpoint BREAKING '/^endpoint "GetItem"/,/^}/d' <<'EOF'
BREAKING t.GetItem: endpoint removed
EOF
t new_error SAFE 's/{ "GONE", "Gone", status = 404 },/&\n        { "BUSY", "Busy", status = 503 },/;/^endpoint "AddItem"/,/^}/s/errors = {}/errors = { "BUSY" }/' <<'EOF'
SAFE t.AddItem: error BUSY added
SAFE t.BUSY: error added
EOF
t error_text_changed BREAKING 's/"Gone", status = 404/"Not found", status = 404/;s/"error": "Gone"/"error": "Not found"/' <<'EOF'
BREAKING t.GONE: error text changed (Gone → Not found)
EOF
t response_field_removed BREAKING '/^message "Item"/,/^}/{/"name", str/d};s/{"id": "1", "name": "a"}/{"id": "1"}/' <<'EOF'
BREAKING t.Item.name: field removed
EOF
t request_max_lowered BREAKING '/^message "NewItem"/,/^}/s/max = 50/max = 20/' <<'EOF'
BREAKING t.NewItem.name: max lowered (50 → 20)
EOF
t endpoint_path_changed BREAKING 's|path = "/items",|path = "/things",|' <<'EOF'
BREAKING t.AddItem: path changed (/items → /things)
EOF
t auth_dropped SAFE '/^endpoint "AddItem"/,/^}/s/method = "POST",/method = "POST", auth = false,/' <<'EOF'
SAFE t.AddItem: auth changed (true → false)
SAFE t.AddItem: error AUTH removed
EOF

# usage errors: exit 2
"$bin" schema diff "$here/base" >/dev/null 2>&1
[ $? = 2 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL one argument: not exit 2"; }
"$bin" schema diff "$here/base" "$tmp/no-such-thing" >/dev/null 2>"$tmp/usage.err"
[ $? = 2 ] && grep -q 'neither a folder' "$tmp/usage.err" && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL unknown NEW: not exit 2"; cat "$tmp/usage.err"; }

# git revisions: a repository whose schema/ loses a field in its second commit
repo="$tmp/repo"
mkdir -p "$repo/schema"
cp "$here/base/t.lua" "$repo/schema/t.lua"
git -C "$repo" init -q &&
  git -C "$repo" -c user.name=t -c user.email=t@t add schema &&
  git -C "$repo" -c user.name=t -c user.email=t@t commit -qm one &&
  git -C "$repo" tag v1 &&
  sed -i '/"note", str/d' "$repo/schema/t.lua" &&
  git -C "$repo" -c user.name=t -c user.email=t@t commit -qam two || { echo "FAIL: git setup"; exit 1; }
(cd "$repo/schema" && "$bin" schema diff v1 HEAD) >"$tmp/git.out" 2>"$tmp/git.err"
rc=$?
if [ $rc = 1 ] && [ "$(cat "$tmp/git.out")" = "BREAKING t.Send.note: field removed" ]; then
  pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL git v1 HEAD: exit $rc"; cat "$tmp/git.out" "$tmp/git.err"; fi
(cd "$repo" && "$bin" schema diff HEAD~1 schema) >"$tmp/git.out" 2>"$tmp/git.err"
rc=$?
if [ $rc = 1 ] && [ "$(cat "$tmp/git.out")" = "BREAKING t.Send.note: field removed" ]; then
  pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL git HEAD~1 folder: exit $rc"; cat "$tmp/git.out" "$tmp/git.err"; fi
(cd "$repo" && "$bin" schema diff HEAD HEAD~1) >"$tmp/git.out" 2>"$tmp/git.err"
rc=$?
if [ $rc = 0 ] && [ "$(cat "$tmp/git.out")" = "SAFE t.Send.note: optional field added" ]; then
  pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL git HEAD HEAD~1: exit $rc"; cat "$tmp/git.out" "$tmp/git.err"; fi
(cd "$repo" && "$bin" schema diff nosuchrev HEAD) >/dev/null 2>&1
[ $? = 2 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL unknown revision: not exit 2"; }

# snapshot and compat: a breaking change needs a new version and its snapshot
s="$tmp/snap"
mkdir -p "$s"
cp "$here/base/t.lua" "$s/t.lua"
step() { # step NAME EXPECTED_RC CMD...
  local name=$1 want=$2; shift 2
  "$@" >"$tmp/step.out" 2>"$tmp/step.err"
  local rc=$?
  if [ "$rc" = "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $name: exit $rc, wanted $want"; cat "$tmp/step.out" "$tmp/step.err"; fi
}
step "compat without snapshot" 1 "$bin" schema compat "$s"
grep -q 'no snapshot of version 1' "$tmp/step.err" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: no-snapshot message"; }
step "snapshot v1" 0 "$bin" schema snapshot "$s"
[ -f "$s/snapshots/t.v1.json" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: no t.v1.json"; }
step "compat v1" 0 "$bin" schema compat "$s"
step "diff snapshot folder" 0 "$bin" schema diff "$s/snapshots/t.v1.json" "$s"
sed -i 's/"red", "green", "blue"/"red", "green", "blue", "black"/' "$s/t.lua"
step "compat safe change, stale snapshot" 1 "$bin" schema compat "$s"
grep -q 'out of date' "$tmp/step.err" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: stale message"; cat "$tmp/step.err"; }
step "snapshot safe change" 0 "$bin" schema snapshot "$s"
step "compat after safe snapshot" 0 "$bin" schema compat "$s"
sed -i '/"note", str/d' "$s/t.lua"
step "compat breaking without version" 1 "$bin" schema compat "$s"
grep -q '^BREAKING t.Send.note: field removed$' "$tmp/step.err" && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL: compat names the change"; cat "$tmp/step.err"; }
step "snapshot refuses breaking" 1 "$bin" schema snapshot "$s"
grep -q 'version = 2' "$tmp/step.err" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: snapshot advice"; }
sed -i "0,/^    since = 1,\$/s//    since = 1,\n    version = 2,/" "$s/t.lua"
step "compat new version without snapshot" 1 "$bin" schema compat "$s"
step "snapshot v2" 0 "$bin" schema snapshot "$s"
[ -f "$s/snapshots/t.v1.json" ] && [ -f "$s/snapshots/t.v2.json" ] && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL: v1 and v2 snapshots"; }
step "compat v2" 0 "$bin" schema compat "$s"
step "diff v1 v2 snapshots" 1 "$bin" schema diff "$s/snapshots/t.v1.json" "$s/snapshots/t.v2.json"
[ "$(cat "$tmp/step.out")" = "SAFE t: version changed (1 → 2)
BREAKING t.Send.note: field removed" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL v1 v2:"; cat "$tmp/step.out"; }
echo 'channel "u" { doc = "d", since = 1, transport = "http" }' >"$s/u.lua"
step "compat new channel without snapshot" 1 "$bin" schema compat "$s"
step "snapshot new channel" 0 "$bin" schema snapshot "$s"
step "compat new channel" 0 "$bin" schema compat "$s"
step "diff one channel's snapshot with a folder of two" 0 "$bin" schema diff "$s/snapshots/t.v2.json" "$s"
[ ! -s "$tmp/step.out" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: snapshot vs folder:"; cat "$tmp/step.out"; }
rm "$s/u.lua"
step "compat removed channel" 1 "$bin" schema compat "$s"
grep -q '^BREAKING u: channel removed' "$tmp/step.err" && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL: removed channel message"; cat "$tmp/step.err"; }
rm "$s"/snapshots/u.v*.json
step "compat removed channel confirmed" 0 "$bin" schema compat "$s"

echo "schema_diff: $pass passed, $fail failed"
[ "$fail" = 0 ]
