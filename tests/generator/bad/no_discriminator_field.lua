-- expect: message Ping: needs a required literal field 'action' (the union's discriminator)
channel "t" { doc = "d", since = 1, transport = "websocket", inbound = { discriminator = "action" } }
message "Ping" {
    dir = "in", doc = "d", since = 1,
    fields = { { "kind", literal "ping", required } },
    examples = { [[{"kind": "ping"}]] },
}
