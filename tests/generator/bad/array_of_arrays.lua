-- expect: bad/array_of_arrays.lua:3: message Ping, field grid: arrays of arrays are not supported; wrap the inner array in an object
channel "t" { doc = "d", since = 1, transport = "websocket", inbound = { discriminator = "action" } }
message "Ping" {
    dir = "in", doc = "d", since = 1,
    fields = {
        { "action", literal "ping", required },
        { "grid", array { array { int {}, max = 3 }, max = 3 }, required },
    },
    examples = { [[{"action": "ping", "grid": []}]] },
}
