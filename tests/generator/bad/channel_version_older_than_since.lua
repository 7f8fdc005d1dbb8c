-- expect: bad/channel_version_older_than_since.lua:6: channel t: since = 3 is newer than the channel's version 2
channel "t" { doc = "d", since = 1, version = 2, transport = "websocket", inbound = { discriminator = "type" } }
message "A" { dir = "in", doc = "d", since = 1,
    fields = { { "type", literal "a", required } },
    examples = { [[{"type": "a"}]] } }
message "B" { dir = "in", doc = "d", since = 3,
    fields = { { "type", literal "b", required } },
    examples = { [[{"type": "b"}]] } }
