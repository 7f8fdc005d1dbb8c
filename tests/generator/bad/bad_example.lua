-- expect: message Ping: example 1 does not match its message: count: out of range
channel "t" { doc = "d", since = 1, transport = "websocket", inbound = { discriminator = "action" } }
message "Ping" {
    dir = "in", doc = "d", since = 1,
    fields = {
        { "action", literal "ping", required },
        { "count", int { min = 0, max = 10 }, required },
    },
    examples = { [[{"action": "ping", "count": 11}]] },
}
