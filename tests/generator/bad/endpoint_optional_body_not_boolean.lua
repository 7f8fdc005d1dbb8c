-- expect: endpoint E: optional_body must be true or false
channel "t" { doc = "d", since = 1, transport = "http",
    errors = { { "AUTH", "Auth", status = 401 }, { "BAD", "Bad: ", status = 400 } },
    http_errors = { body = ref "Err", text = "error", auth_error = "AUTH", invalid_error = "BAD" } }
message "Err" { dir = "http", doc = "d", since = 1, fields = { { "error", str { max = 64 }, required } },
    examples = { [[{"error": "x"}]] } }
message "Out" { dir = "http", doc = "d", since = 1, fields = { { "ok", bool, required } },
    examples = { [[{"ok": true}]] } }
endpoint "E" { doc = "d", since = 1, method = "POST", path = "/a", optional_body = "yes", request = ref "Out",
    response = ref "Out", errors = {} }
