-- expect: bad/channel_version_not_integer.lua:2: channel t: version must be an integer >= 1
channel "t" { doc = "d", since = 1, version = "2", transport = "websocket", inbound = { discriminator = "type" } }
message "A" { dir = "in", doc = "d", since = 1,
    fields = { { "type", literal "a", required } },
    examples = { [[{"type": "a"}]] } }
