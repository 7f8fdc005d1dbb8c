-- expect: message Ping: example 1: invalid JSON at byte 19: expected ',' or '}'
channel "t" { doc = "d", since = 1, transport = "websocket", inbound = { discriminator = "action" } }
message "Ping" {
    dir = "in", doc = "d", since = 1,
    fields = { { "action", literal "ping", required } },
    examples = { [[{"action": "ping" "x": 1}]] },
}
