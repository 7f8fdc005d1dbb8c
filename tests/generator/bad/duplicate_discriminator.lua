-- expect: message Pong: discriminator action=ping is already used by Ping
channel "t" { doc = "d", since = 1, transport = "websocket", inbound = { discriminator = "action" } }
message "Ping" {
    dir = "in", doc = "d", since = 1,
    fields = { { "action", literal "ping", required } },
    examples = { [[{"action": "ping"}]] },
}
message "Pong" {
    dir = "in", doc = "d", since = 1,
    fields = { { "action", literal "ping", required } },
    examples = { [[{"action": "ping"}]] },
}
