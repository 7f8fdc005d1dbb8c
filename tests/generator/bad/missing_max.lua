-- expect: message Ping, field name: str needs max (bytes, integer >= 1)
channel "t" { doc = "d", since = 1, transport = "websocket", inbound = { discriminator = "action" } }
message "Ping" {
    dir = "in", doc = "d", since = 1,
    fields = {
        { "action", literal "ping", required },
        { "name", str {}, required },
    },
    examples = { [[{"action": "ping", "name": "x"}]] },
}
