-- expect: bad/typo_presence.lua:8: unknown name 'requird' in schema
channel "t" { doc = "d", since = 1, transport = "websocket", inbound = { discriminator = "action" } }
message "Ping" {
    dir = "in",
    doc = "d",
    since = 1,
    fields = {
        { "action", literal "ping", requird },
    },
    examples = { [[{"action": "ping"}]] },
}
