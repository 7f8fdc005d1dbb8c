-- schema/socketio.lua: the JSON the Engine.IO v4 and Socket.IO v5 layers
-- of the runtime (runtime/eio.c, runtime/sio.c) write themselves: the
-- handshake, the refusals of a transport request, and the answers to a
-- namespace CONNECT. The protocols served over them (realtime.lua) declare
-- their own messages; these are the framing every Socket.IO client reads.
-- Names and shapes are the reference server's (socket.io 4.8).

channel "socketio" {
    doc = [[Engine.IO v4 and Socket.IO v5 framing, as the runtime writes it: the
open packet of a new session, the error body of a refused transport request,
and the CONNECT and CONNECT_ERROR packets of a namespace.]],
    since = 1,
    transport = "http",
}

message "EngineIoOpen" {
    dir = "http",
    doc = [[The payload of the Engine.IO open packet ("0" and this): the session
and its heartbeat. Sent first on a new polling or WebSocket session.]],
    since = 1,
    fields = {
        { "sid", str { min = 1, max = 64 }, required, doc = "The session ID." },
        { "upgrades", array { str { min = 1, max = 16 }, max = 1 }, required,
          doc = "The transports the session may upgrade to: [\"websocket\"] on polling, [] on a WebSocket." },
        { "pingInterval", int { min = 1 }, required, doc = "Milliseconds between the server's pings." },
        { "pingTimeout", int { min = 1 }, required, doc = "Milliseconds the server waits for a pong." },
        { "maxPayload", int { min = 1 }, required, doc = "Largest payload (bytes) the server accepts." },
    },
    examples = {
        [[{"sid": "00000000002a3f9c1b7e5d24a8c0", "upgrades": ["websocket"], "pingInterval": 25000,
           "pingTimeout": 20000, "maxPayload": 1000000}]],
    },
}

message "EngineIoError" {
    dir = "http",
    doc = [[The body of a refused Engine.IO request (400 or 403), with the
reference server's codes: 0 unknown transport, 1 unknown session ID, 2 bad
handshake method, 3 bad request, 4 forbidden, 5 unsupported protocol version.]],
    since = 1,
    fields = {
        { "code", int { min = 0, max = 5 }, required, doc = "The reference server's error code." },
        { "message", str { max = 256 }, required, doc = "Its text, e.g. \"Session ID unknown\"." },
    },
    examples = { [[{"code": 1, "message": "Session ID unknown"}]] },
}

message "SocketIoConnect" {
    dir = "http",
    doc = [[The payload of a CONNECT packet from the server ("40" and this): the
namespace socket's ID, and the private session ID when connection state
recovery is on.]],
    since = 1,
    fields = {
        { "sid", str { min = 1, max = 64 }, required, doc = "The socket's ID in its namespace." },
        { "pid", str { min = 1, max = 64 }, optional, doc = "The private session ID, for recovery." },
    },
    examples = { [[{"sid": "ZlDVm2kmSg0ZGZt3AAAB"}]], [[{"sid": "ZlDVm2kmSg0ZGZt3AAAB", "pid": "a3f9c1b7e5d24a8c"}]] },
}

message "SocketIoConnectError" {
    dir = "http",
    doc = [[The payload of a CONNECT_ERROR packet ("44" and this): why the
namespace refused the connection, and the protocol's optional data.]],
    since = 1,
    fields = {
        { "message", str { max = 1024 }, required, doc = "Why, for people." },
        { "data", any, optional, doc = "The protocol's own details, any JSON." },
    },
    examples = { [[{"message": "Not authorized"}]], [[{"message": "Invalid namespace", "data": {"code": 3}}]] },
}
