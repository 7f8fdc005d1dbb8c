-- expect: message Ping: missing since (a schema version, integer >= 1)
channel "t" { doc = "d", since = 1, transport = "websocket", inbound = { discriminator = "action" } }
message "Ping" {
    dir = "in", doc = "d",
    fields = { { "action", literal "ping", required } },
    examples = { [[{"action": "ping"}]] },
}
