-- expect: endpoint E: needs errors = { NAME, ... }
channel "t" { doc = "d", since = 1, transport = "http",
    errors = { { "AUTH", "Auth", status = 401 }, { "BAD", "Bad: ", status = 400 }, { "WS_ONLY", "ws" } },
    http_errors = { body = ref "Err", text = "error", auth_error = "AUTH", invalid_error = "BAD" } }
message "Err" { dir = "http", doc = "d", since = 1, fields = { { "error", str { max = 64 }, required } },
    examples = { [[{"error": "x"}]] } }
message "Out" { dir = "http", doc = "d", since = 1, fields = { { "ok", bool, required } },
    examples = { [[{"ok": true}]] } }
payload "NotParams" { doc = "d", since = 1, fields = { { "id", str { max = 8 }, required } } }
endpoint "E" { doc = "d", since = 1, method = "GET", path = "/a", response = ref "Out" }
