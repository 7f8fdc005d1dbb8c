-- expect: action ping: needs at least one example { data = [[JSON]], result = [[JSON]] }
channel "t" { doc = "d", since = 1, transport = "socketio", inbound = { discriminator = "type" },
    outbound = { discriminator = "type" },
    errors = { { "BAD_DATA", "Bad data" }, { "NO_SUCH", "No such action" }, { "DENIED", "Denied" }, { "FAILED", "Failed" } },
    actions = { request = ref "Req", name = "action", data = "data", response = ref "Resp", result = "data",
                errors = { invalid = "BAD_DATA", unknown = "NO_SUCH", denied = "DENIED", internal = "FAILED" } } }
message "Req" { dir = "in", doc = "d", since = 1,
    fields = { { "type", literal "REQ", required }, { "action", str { min = 1, max = 32 }, required },
               { "data", any, optional } },
    examples = { [[{"type": "REQ", "action": "ping"}]] } }
message "Resp" { dir = "out", doc = "d", since = 1,
    fields = { { "type", literal "RESP", required }, { "data", any, optional } },
    examples = { [[{"type": "RESP"}]] } }
action "ping" { doc = "d", since = 1 }
