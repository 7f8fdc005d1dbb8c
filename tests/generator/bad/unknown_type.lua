-- expect: bad/unknown_type.lua:3: message Ping, field target: unknown type 'Nowhere'
channel "t" { doc = "d", since = 1, transport = "websocket", inbound = { discriminator = "action" } }
message "Ping" {
    dir = "in",
    doc = "d",
    since = 1,
    fields = {
        { "action", literal "ping", required },
        { "target", ref "Nowhere", required },
    },
    examples = { [[{"action": "ping", "target": 1}]] },
}
