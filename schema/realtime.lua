-- schema/realtime.lua: the Socket.IO service of seed 002 (action requests,
-- their responses, pushed updates and errors, one envelope for all).
--
-- Wire names and literals are exactly the document's. The envelope's data is
-- any JSON value (the document's `data?: any`) as far as the envelope goes;
-- what each action takes and returns is declared below with its `action`
-- (the channel's `actions` says where the name, data and result travel), so
-- the generator types it in C and TypeScript and the server checks it.
-- Where the document is silent (error codes, requestId of an error about an
-- unreadable message, lengths) see docs/decisions.md.

channel "realtime" {
    doc = [[Real-time actions and updates over Socket.IO (path /realtime). The
client authenticates with the REST API's JWT in the handshake's auth object and
names its session (and optionally an artifact) in the query. Every message is
a JSON text emitted as the Socket.IO event "message" (the server accepts a
JSON object too); both directions are keyed by "type": the client sends
REQUEST, the server answers RESPONSE or ERROR with the same requestId and pushes
UPDATE to every client of the company (or of one artifact).]],
    since = 1,
    transport = "socketio",
    path = "/realtime",
    unknown_fields = "reject",
    inbound = { discriminator = "type" },
    outbound = { discriminator = "type" },
    errors = {
        { "INVALID_MESSAGE", "Invalid message format",
          doc = "not JSON, or not a REQUEST envelope; the parser's path and reason follow in the message." },
        { "UNKNOWN_ACTION", "Unknown action", doc = "no action of that name." },
        { "ACTION_NOT_ALLOWED", "Action not allowed", doc = "the user's permissions do not allow the action." },
        { "INVALID_DATA", "Invalid data for action", doc = "data does not match what the action expects." },
        { "AUTH_REQUIRED", "Authentication required", doc = "the JWT expired while connected." },
        { "RATE_LIMITED", "Too many messages", doc = "message frequency throttled." },
        { "INTERNAL", "Internal error", doc = "the action failed on the server." },
        { "UNAUTHORIZED", "API key required", status = 401,
          doc = "Switchboard extension (operator API): no active operator API key in Authorization: Bearer." },
        { "INVALID_REQUEST", "", status = 400,
          doc = "Switchboard extension (operator API): the body does not match the schema; the text is the parser's PATH: REASON." },
        { "UNAVAILABLE", "Service unavailable", status = 503,
          doc = "Switchboard extension (operator API): the update could not be stored (database busy or full); nothing was delivered." },
        { "TOO_MANY_SUBSCRIPTIONS", "Too many subscriptions",
          doc = "the connection already follows 256 artifacts; unsubscribe from one first." },
    },
    -- A REQUEST names its action in `action` and carries the action's data in
    -- `data`; the RESPONSE echoes the action and carries the result in `data`.
    actions = {
        request = ref "RealtimeRequest", name = "action", data = "data",
        response = ref "RealtimeResponse", response_name = "action", result = "data",
        errors = { invalid = "INVALID_DATA", unknown = "UNKNOWN_ACTION", denied = "ACTION_NOT_ALLOWED",
                   internal = "INTERNAL" },
    },
    -- the operator API's error answers: {"code": NAME, "message": TEXT}
    http_errors = { body = ref "RealtimeHttpError", text = "message", name = "code",
                    auth_error = "UNAUTHORIZED", invalid_error = "INVALID_REQUEST" },
}

-- Connection ----------------------------------------------------------------

params "RealtimeConnectAuth" {
    doc = [[The Socket.IO handshake's auth object (io(url, { auth: { token } })).
A connection without a valid token is refused (connect_error).]],
    since = 1,
    fields = {
        { "token", str { min = 1, max = 8192 }, required, doc = "The REST API's JWT." },
        { "pid", str { min = 1, max = 64 }, optional,
          doc = [[Connection state recovery (socket.io-client 4.6+ adds it on a reconnect): the
private ID the server's last CONNECT reply offered.]] },
        { "offset", str { min = 1, max = 8192 }, optional,
          doc = [[Connection state recovery: the offset of the last UPDATE the client received
(socket.io-client sends the last string argument of the last event it got; one that is not an
offset recovers nothing, and the connection starts afresh).]] },
    },
}

params "RealtimeConnectQuery" {
    doc = [[The Socket.IO handshake's query parameters (io(url, { query: { sessionId,
artifactId } })). A connection without sessionId is refused (connect_error).]],
    since = 1,
    fields = {
        { "sessionId", str { min = 1, max = 256 }, required, doc = "Active session ID." },
        { "artifactId", str { min = 1, max = 256 }, optional,
          doc = "Artifact whose updates this connection also receives." },
    },
}

-- Shared payloads -----------------------------------------------------------

payload "RealtimeErrorInfo" {
    doc = "What went wrong (the envelope's error).",
    since = 1,
    fields = {
        { "code", str { min = 1, max = 64 }, required, doc = "Machine-readable code; the channel's errors name ours." },
        { "message", str { max = 1024 }, required, doc = "Human-readable message." },
    },
}

-- Client to server ----------------------------------------------------------

message "RealtimeRequest" {
    dir = "in",
    doc = "Execute an action; the server answers RESPONSE or ERROR with the same requestId.",
    since = 1,
    fields = {
        { "type", literal "REQUEST", required },
        { "requestId", str { min = 1, max = 128 }, required,
          doc = "Client-chosen ID, unique per connection (the document uses Date.now().toString())." },
        { "action", str { min = 1, max = 128 }, required, doc = "Name of the action to execute." },
        { "data", any, optional,
          doc = "The action's data, of the type its action declares (absent or null for an action without data)." },
    },
    examples = {
        [[{"type": "REQUEST", "requestId": "1700000000000", "action": "someAction", "data": {"key": "value"}}]],
        [[{"type": "REQUEST", "requestId": "req-1", "action": "processData", "data": {"input": "value"}}]],
        [[{"type": "REQUEST", "requestId": "req-2", "action": "whoami"}]],
    },
}

-- Server to client ----------------------------------------------------------

message "RealtimeResponse" {
    dir = "out",
    doc = "The result of a REQUEST, with its requestId.",
    since = 1,
    fields = {
        { "type", literal "RESPONSE", required },
        { "requestId", str { max = 128 }, required, doc = "The requestId of the REQUEST answered." },
        { "action", str { min = 1, max = 128 }, optional, doc = "The action executed." },
        { "data", any, optional,
          doc = "The action's result, of the type its action declares (absent for an action without result)." },
        { "error", ref "RealtimeErrorInfo", optional,
          doc = "Allowed by the document's envelope; Switchboard sends failures as ERROR instead." },
    },
    examples = {
        [[{"type": "RESPONSE", "requestId": "req-1", "action": "processData", "data": {"output": "value"}}]],
        [[{"type": "RESPONSE", "requestId": "1700000000000", "action": "someAction", "data": {"key": "value"}}]],
    },
}

message "RealtimeUpdate" {
    dir = "out",
    doc = [[A pushed update, to every client of a company or to those subscribed
to one artifact (artifactId). requestId is the server's own (the document uses
Date.now().toString() or names like update-1).]],
    since = 1,
    fields = {
        { "type", literal "UPDATE", required },
        { "requestId", str { max = 128 }, required, doc = "Server-chosen ID of the update." },
        { "action", str { min = 1, max = 128 }, optional, doc = "What changed: statusChange, companyUpdate, artifactUpdate, ..." },
        { "data", any, optional, doc = "The update, any JSON value." },
        { "error", ref "RealtimeErrorInfo", optional, doc = "Allowed by the document's envelope; not sent by Switchboard." },
    },
    examples = {
        [[{"type": "UPDATE", "requestId": "update-1", "action": "statusChange", "data": {"status": "completed"}}]],
        [[{"type": "UPDATE", "requestId": "1700000000123", "action": "companyUpdate",
           "data": {"companyId": "c-42", "name": "Acme Ltd"}}]],
        [[{"type": "UPDATE", "requestId": "1700000000456", "action": "artifactUpdate",
           "data": {"artifactId": "a-7", "status": "processing"}}]],
    },
}

message "RealtimeError" {
    dir = "out",
    doc = [[A REQUEST failed, or a message could not be read. requestId is the
failed request's, or "" when the message had none that could be read. error is
required here (the document's envelope has it optional).]],
    since = 1,
    fields = {
        { "type", literal "ERROR", required },
        { "requestId", str { max = 128 }, required, doc = "The failed request's ID, or \"\"." },
        { "action", str { min = 1, max = 128 }, optional, doc = "The failed request's action, when known." },
        { "data", any, optional, doc = "Details, any JSON value." },
        { "error", ref "RealtimeErrorInfo", required, doc = "What went wrong." },
    },
    examples = {
        [[{"type": "ERROR", "requestId": "req-1", "action": "processData",
           "error": {"code": "UNKNOWN_ACTION", "message": "Unknown action"}}]],
        [[{"type": "ERROR", "requestId": "", "error": {"code": "INVALID_MESSAGE", "message": "Invalid message format"}}]],
    },
}

-- Operator API (server-side updates) ----------------------------------------

message "RealtimeHttpError" {
    dir = "http",
    doc = "The body of every error answer of the operator API.",
    since = 1,
    fields = {
        { "code", str { min = 1, max = 64 }, required, doc = "The error's name (the channel's errors)." },
        { "message", str { max = 1024 }, required, doc = "What went wrong; for INVALID_REQUEST the field path and the reason." },
    },
    examples = {
        [[{"code": "UNAUTHORIZED", "message": "API key required"}]],
        [[{"code": "INVALID_REQUEST", "message": "company_id: missing"}]],
    },
}

message "RealtimeUpdateRequest" {
    dir = "http",
    doc = [[The seed's sendUpdate(companyId, msg, artifactId) over HTTP: an UPDATE
for every client of a company, or only those following one artifact.]],
    since = 1,
    fields = {
        { "company_id", str { min = 1, max = 256 }, required, doc = "The company whose clients get the update." },
        { "artifact_id", str { min = 1, max = 256 }, optional,
          doc = "Only the clients following this artifact (connected with it, or subscribed with subscribeArtifact)." },
        { "action", str { min = 1, max = 128 }, required, doc = "The UPDATE's action: statusChange, companyUpdate, ..." },
        { "data", any, optional, doc = "The UPDATE's data, any JSON value." },
        { "requestId", str { min = 1, max = 128 }, optional,
          doc = "The UPDATE's requestId; the server makes one when absent." },
    },
    examples = {
        [[{"company_id": "c-42", "action": "statusChange", "data": {"status": "completed"}, "requestId": "update-1"}]],
        [[{"company_id": "c-42", "artifact_id": "a-7", "action": "artifactUpdate", "data": {"status": "processing"}}]],
    },
}

message "RealtimeUpdateAccepted" {
    dir = "http",
    doc = [[The update is stored (for connection state recovery) and handed to every
connection of the company (or of the artifact) connected when it was accepted.]],
    since = 1,
    fields = {
        { "requestId", str { min = 1, max = 128 }, required, doc = "The UPDATE's requestId." },
        { "offset", str { min = 1, max = 32 }, required,
          doc = "Its position in the company's stream: what a recovering client names to get what followed." },
        { "delivered", int { min = 0 }, required, doc = "Connections it was handed to." },
    },
    examples = {
        [[{"requestId": "update-1", "offset": "17", "delivered": 3}]],
    },
}

message "RealtimeUpstreamRequest" {
    dir = "http",
    doc = [[What the server POSTs to --realtime-upstream for a proxied action, with
"Authorization: Bearer <the caller's token>" and "X-Request-Id". The upstream
answers 2xx with the result as its JSON body, or an error status.]],
    since = 1,
    fields = {
        { "action", str { min = 1, max = 128 }, required, doc = "The action's name." },
        { "requestId", str { min = 1, max = 128 }, required, doc = "The REQUEST's requestId." },
        { "data", any, optional, doc = "The REQUEST's data, checked against the action's schema; absent when it had none." },
    },
    examples = {
        [[{"action": "processData", "requestId": "req-1", "data": {"input": "value"}}]],
    },
}

endpoint "PublishUpdate" {
    doc = "Push an UPDATE to a company's clients (or one artifact's), answered after it is stored.",
    since = 1,
    method = "POST",
    path = "/api/v1/realtime/updates",
    request = ref "RealtimeUpdateRequest",
    response = ref "RealtimeUpdateAccepted",
    errors = { "UNAUTHORIZED", "INVALID_REQUEST", "UNAVAILABLE" },
}

-- Actions ---------------------------------------------------------------------
--
-- What a REQUEST may ask for. The seed names one action, processData, which
-- the server forwards upstream; the others are Switchboard's own, served in
-- C by handlers/realtime*.c. A permission is a string the caller's token must
-- grant; the seed says actions use "the same action permissions as the REST
-- API", so processData's is its own name.

action "ping" {
    doc = [[Round trip and clock check: the server's time. A client may use it
to keep the connection warm or to measure latency.]],
    since = 1,
    result = {
        { "time", timestamp "unix_ms", required, doc = "The server's clock when it answered." },
    },
    examples = { { result = [[{"time": 1700000000000}]] } },
}

action "whoami" {
    doc = [[Who this connection is: the token's user and company, the session and
artifact of the handshake, the artifacts it follows and the permissions its
token grants.]],
    since = 1,
    result = {
        { "userId", str { max = 256 }, required, doc = "The token's user." },
        { "companyId", str { max = 256 }, required, doc = "The token's company: updates to it reach this connection." },
        { "sessionId", str { min = 1, max = 256 }, required, doc = "The handshake's sessionId." },
        { "artifactId", str { min = 1, max = 256 }, optional,
          doc = "The handshake's artifactId, when the connection gave one." },
        { "subscriptions", array { str { min = 1, max = 256 }, max = 256 }, required,
          doc = "Artifacts this connection follows (its handshake artifact and those of subscribeArtifact)." },
        { "permissions", array { str { min = 1, max = 128 }, max = 256 }, required,
          doc = "What the token grants: the permissions that actions require." },
    },
    examples = {
        { result = [[{"userId": "u-1", "companyId": "c-42", "sessionId": "s-9", "artifactId": "a-7",
                      "subscriptions": ["a-7"], "permissions": ["processData"]}]] },
        { result = [[{"userId": "u-2", "companyId": "c-42", "sessionId": "s-10", "subscriptions": [],
                      "permissions": []}]] },
    },
}

action "subscribeArtifact" {
    doc = [[Follow an artifact: its UPDATEs reach this connection from now on.
Subscribing twice is not an error. The token must give access to the artifact
(ACTION_NOT_ALLOWED otherwise), and a connection follows at most 256.]],
    since = 1,
    data = {
        { "artifactId", str { min = 1, max = 256 }, required, doc = "The artifact to follow." },
    },
    result = {
        { "artifactId", str { min = 1, max = 256 }, required, doc = "The artifact now followed." },
    },
    errors = { "ACTION_NOT_ALLOWED", "TOO_MANY_SUBSCRIPTIONS" },
    examples = { { data = [[{"artifactId": "a-7"}]], result = [[{"artifactId": "a-7"}]] } },
}

action "unsubscribeArtifact" {
    doc = [[Stop following an artifact. Unsubscribing from one the connection
does not follow is not an error. The handshake's artifact can be unsubscribed
too.]],
    since = 1,
    data = {
        { "artifactId", str { min = 1, max = 256 }, required, doc = "The artifact to stop following." },
    },
    result = {
        { "artifactId", str { min = 1, max = 256 }, required, doc = "The artifact no longer followed." },
    },
    examples = { { data = [[{"artifactId": "a-7"}]], result = [[{"artifactId": "a-7"}]] } },
}

action "processData" {
    doc = [[The seed's example action: process the input. Served upstream: the
server checks the data and the permission, forwards the request to the
configured upstream URL and relays its answer.]],
    since = 1,
    proxy = true,
    permission = "processData",
    data = {
        { "input", str { max = 4096 }, required, doc = "What to process." },
    },
    result = any,
    examples = { { data = [[{"input": "value"}]], result = [[{"output": "value"}]] } },
}
