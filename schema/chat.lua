-- schema/chat.lua: the WebSocket chat of seed 003 (rooms, send_message,
-- delivered/read status, unread counts).
--
-- Wire names, literals and error strings are exactly the document's. Where the
-- document is silent (lengths, room types, extensions) see docs/decisions.md.

channel "chat" {
    doc = [[Chat over one WebSocket per device: rooms, messages, delivered/read
status and unread counts. The client sends actions keyed by "action"; the server
sends events keyed by "type".]],
    since = 1,
    transport = "websocket",
    path = "/ws/chat",
    unknown_fields = "reject",
    inbound = { discriminator = "action" },
    outbound = { discriminator = "type" },
    errors = {
        { "INVALID_JSON", "Invalid JSON format" },
        { "NO_ACTION", "No action specified" },
        { "UNKNOWN_ACTION", "Unknown action: ", doc = "followed by the action as sent" },
        { "AUTH_REQUIRED", "Authentication required", status = 401 },
        { "ROOM_NOT_FOUND", "Room not found", status = 404 },
        { "MESSAGE_NOT_FOUND", "Message or room not found" },
        { "NOT_DIRECT_ROOM", "Room is not a direct room" },
        { "CHANNEL_LAYER", "Channel layer is not configured" },
        { "STORAGE", "Message could not be stored",
          doc = "Switchboard extension: the database refused the write (full, busy); nothing was delivered" },
        { "NOT_ALLOWED", "Not allowed",
          doc = "Switchboard extension: a send_message to oneself, or with neither text nor file_id" },
        { "RATE_LIMITED", "Rate limit exceeded",
          doc = "Switchboard extension: more messages or bytes a second than the server allows (--max-message-rate, --max-byte-rate); the connection is then closed with 1008" },
        { "TOO_MANY_INVALID", "Too many invalid messages",
          doc = "Switchboard extension: more invalid messages a minute than --max-invalid; the connection is then closed with 1008" },
        { "TOO_MANY_CONNECTIONS", "Too many connections",
          doc = "Switchboard extension: the user has --max-user-connections open already; the new one is closed with 1008" },
        { "UNAVAILABLE", "Service unavailable", status = 503,
          doc = "Switchboard extension (REST): the database could not be read, or memory ran out; try again" },
        { "INVALID_PARAMETER", "", status = 400,
          doc = "Switchboard extension (REST): a path or query parameter does not parse; the text is the parser's PATH: REASON alone" },
        { "CLIENT_ID_OTHER_ROOM", "client_message_id already used in another room",
          doc = "Switchboard extension: a send_message whose client_message_id the sender used before in another room; nothing was stored (a retry of the same message names the same room)" },
    },
    -- the REST endpoints' error answers: {"error": TEXT}
    http_errors = { body = ref "ChatHttpError", text = "error",
                    auth_error = "AUTH_REQUIRED", invalid_error = "INVALID_PARAMETER" },
}

-- Shared payloads -----------------------------------------------------------

enumeration "Role" {
    doc = "A user's role.",
    since = 1,
    values = { "TECHNICIAN", "ADMIN", "SUPER_ADMIN", "UNKNOWN" },
}

enumeration "RoomType" {
    doc = [[Kind of room. The document shows TECHNICIAN_DIRECT (two users);
SERVICE rooms belong to a service and its customer (docs/decisions.md).]],
    since = 1,
    values = { "TECHNICIAN_DIRECT", "SERVICE" },
}

enumeration "MessageStatus" {
    doc = "Delivery state of a message.",
    since = 1,
    values = { "delivered", "read" },
}

payload "Sender" {
    doc = "Who sent a message (SenderPayload).",
    since = 1,
    fields = {
        { "id", str { max = 64 }, optional_nullable, doc = "User ID." },
        { "full_name", str { max = 256 }, optional_nullable, doc = "Full name." },
        { "avatar", str { max = 2048, format = "uri" }, optional_nullable, doc = "Avatar URL." },
        { "role", ref "Role", optional_nullable, doc = "Role." },
    },
}

payload "LastMessage" {
    doc = "The newest message of a room, as listed with the room (LastMessagePayload).",
    since = 1,
    fields = {
        { "message_id", str { max = 64 }, required, doc = "Message ID." },
        { "text", str { max = 16384 }, optional_nullable, doc = "Message text." },
        { "timestamp", timestamp "iso8601", required, doc = "When it was sent (ISO-8601)." },
        { "is_sent", bool, required, doc = "True when the receiving user sent it." },
        { "is_system_message", bool, required, doc = "System message flag." },
        { "sender", ref "Sender", optional_nullable, doc = "Sender details." },
        { "file_id", str { max = 64 }, optional_nullable, doc = "Attached file ID." },
        { "replied_from_id", str { max = 64 }, optional_nullable, doc = "ID of the message this replies to." },
    },
}

payload "Counterpart" {
    doc = "The other user of a direct room (CounterpartPayload).",
    since = 1,
    fields = {
        { "user_id", str { max = 64 }, required, doc = "User ID." },
        { "full_name", str { max = 256 }, optional_nullable, doc = "Full name." },
        { "avatar", str { max = 2048, format = "uri" }, optional_nullable, doc = "Avatar URL." },
        { "role", ref "Role", required, doc = "Role." },
    },
}

payload "Service" {
    doc = "The service a service room belongs to (ServicePayload).",
    since = 1,
    fields = {
        { "id", str { max = 64 }, required, doc = "Service ID." },
        { "created_at", timestamp "iso8601", required, doc = "When the service was created." },
        { "status", str { max = 64 }, required, doc = "Service status." },
    },
}

payload "Customer" {
    doc = "The customer of a service room (CustomerPayload).",
    since = 1,
    fields = {
        { "full_name", str { max = 256 }, optional_nullable, doc = "Full name." },
        { "phone_number", str { max = 64 }, optional_nullable, doc = "Phone number." },
        { "address", str { max = 1024 }, optional_nullable, doc = "Address." },
    },
}

payload "Message" {
    doc = "A chat message as delivered in new_message.",
    since = 1,
    fields = {
        { "id", str { max = 64 }, required, doc = "Message ID." },
        { "is_sent", bool, required, doc = "True on the sender's own connections." },
        { "text", str { max = 16384 }, optional_nullable, doc = "Message text." },
        { "file_id", str { max = 64 }, optional_nullable, doc = "Attached file ID." },
        { "replied_from_id", str { max = 64 }, optional_nullable, doc = "ID of the message this replies to." },
        { "is_system_message", bool, required, doc = "System message flag." },
        { "timestamp", timestamp "unix", required, doc = "When it was stored (Unix seconds)." },
        { "sender", ref "Sender", optional_nullable, doc = "Sender details." },
        { "client_message_id", str { max = 64 }, optional,
          doc = "Switchboard extension: the client_message_id of the send_message that made it." },
    },
}

payload "Room" {
    doc = "A room as one user sees it: new_room's data, and an item of GET /api/v1/rooms.",
    since = 1,
    fields = {
        { "room_id", str { max = 64 }, required, doc = "Room ID." },
        { "type", ref "RoomType", required, doc = "Room type." },
        { "unread_messages_count", int { min = 0 }, required, doc = "Unread count." },
        { "last_message", ref "LastMessage", optional_nullable, doc = "Last message." },
        { "counterpart", ref "Counterpart", optional_nullable, doc = "Counterpart user (direct rooms)." },
        { "service", ref "Service", optional_nullable, doc = "Service details (service rooms)." },
        { "customer", ref "Customer", optional_nullable, doc = "Customer details (service rooms)." },
    },
}

-- Connection and REST (Switchboard extensions, docs/protocols/chat.md) -------

params "ChatConnectParams" {
    doc = [[Query parameters of the WebSocket URL /ws/chat. The token may come here
or as "Authorization: Bearer TOKEN".]],
    since = 1,
    fields = {
        { "token", str { max = 256 }, optional,
          doc = "The user's access token (empty: none, the Authorization header may carry it)." },
        { "since", int { min = 0 }, optional,
          doc = [[Missed-message recovery: the ID of the last message this client saw.
Every newer message of the user's rooms is sent (as new_message) right after
connecting, oldest first, at most 1000.]] },
    },
}

params "RoomMessagesPath" {
    doc = "Path parameters of GET /api/v1/rooms/{room_id}/messages.",
    since = 1,
    fields = {
        { "room_id", str { min = 1, max = 64 }, required, doc = "Room ID." },
    },
}

params "RoomMessagesQuery" {
    doc = "Query parameters of GET /api/v1/rooms/{room_id}/messages.",
    since = 1,
    fields = {
        { "before", int { min = 1 }, optional, doc = "Only messages older than this message ID." },
        { "limit", int { min = 1, max = 200 }, optional, doc = "Page size (default 50)." },
        { "token", str { max = 256 }, optional, doc = "Access token, if not sent as a Bearer header." },
    },
}

message "RoomsResponse" {
    dir = "http",
    doc = "GET /api/v1/rooms: the user's rooms, most recently active first.",
    since = 1,
    fields = {
        { "rooms", array { ref "Room", max = 100000 }, required, doc = "The rooms." },
    },
    examples = {
        [[{"rooms": [{"room_id": "1", "type": "TECHNICIAN_DIRECT", "unread_messages_count": 2,
           "last_message": {"message_id": "17", "text": "on my way", "timestamp": "2023-10-11T21:20:00Z",
                            "is_sent": false, "is_system_message": false,
                            "sender": {"id": "2", "full_name": "Bob", "avatar": null, "role": "TECHNICIAN"},
                            "file_id": null, "replied_from_id": null},
           "counterpart": {"user_id": "2", "full_name": "Bob", "avatar": null, "role": "TECHNICIAN"},
           "service": null, "customer": null}]}]],
    },
}

message "MessagesResponse" {
    dir = "http",
    doc = "GET /api/v1/rooms/{room_id}/messages: history, newest first.",
    since = 1,
    fields = {
        { "room_id", str { max = 64 }, required, doc = "Room ID." },
        { "messages", array { ref "Message", max = 200 }, required, doc = "Newest first." },
        { "has_more", bool, required, doc = "True when older messages exist (ask with before = the last ID)." },
    },
    examples = {
        [[{"room_id": "1", "messages": [{"id": "17", "is_sent": false, "text": "on my way", "file_id": null,
           "replied_from_id": null, "is_system_message": false, "timestamp": 1697059200,
           "sender": {"id": "2", "full_name": "Bob", "avatar": null, "role": "TECHNICIAN"}}],
           "has_more": false}]],
    },
}

message "ChatHttpError" {
    dir = "http",
    doc = "The body of every error answer of the chat's REST endpoints.",
    since = 1,
    fields = {
        { "error", str { max = 1024 }, required, doc = "What went wrong." },
    },
    examples = { [[{"error": "Authentication required"}]], [[{"error": "Room not found"}]] },
}

endpoint "ListRooms" {
    doc = "The user's rooms with unread counts and last message.",
    since = 1,
    method = "GET",
    path = "/api/v1/rooms",
    response = ref "RoomsResponse",
    errors = { "AUTH_REQUIRED", "UNAVAILABLE" },
}

endpoint "RoomMessages" {
    doc = "A room's history, newest first, paged with before and limit.",
    since = 1,
    method = "GET",
    path = "/api/v1/rooms/{room_id}/messages",
    path_params = ref "RoomMessagesPath",
    query = ref "RoomMessagesQuery",
    response = ref "MessagesResponse",
    errors = { "AUTH_REQUIRED", "ROOM_NOT_FOUND", "INVALID_PARAMETER", "UNAVAILABLE" },
}

-- Client to server ----------------------------------------------------------

message "SendMessageEvent" {
    dir = "in",
    doc = [[Send a message to a room, or to a user with receiver_id and no room_id:
the direct room is found or created and both sides get new_room.]],
    since = 1,
    fields = {
        { "action", literal "send_message", required },
        { "room_id", str { max = 64 }, optional_nullable, doc = "Room ID." },
        { "service_id", str { max = 64 }, optional_nullable, doc = "Service ID." },
        { "receiver_id", str { max = 64 }, optional_nullable, doc = "Receiver user ID." },
        { "text", str { max = 16384 }, optional_nullable, doc = "Message text." },
        { "file_id", str { max = 64 }, optional_nullable, doc = "File ID." },
        { "replied_to_id", str { max = 64 }, optional_nullable, doc = "Replied-to message ID." },
        { "client_message_id", str { min = 1, max = 64 }, optional,
          doc = [[Switchboard extension: a client-chosen ID; a retried send with the
same ID is stored and delivered once.]] },
    },
    examples = {
        [[{"action": "send_message", "room_id": "123", "service_id": "456", "receiver_id": "789",
           "text": "Hello, how are you?", "file_id": null, "replied_to_id": null}]],
        [[{"action": "send_message", "receiver_id": "789", "text": "hi", "client_message_id": "c-1"}]],
    },
}

message "MarkDeliveredEvent" {
    dir = "in",
    doc = "Mark a message as delivered.",
    since = 1,
    fields = {
        { "action", literal "mark_delivered", required },
        { "message_id", str { max = 64 }, required, doc = "Message ID." },
    },
    examples = { [[{"action": "mark_delivered", "message_id": "msg_001"}]] },
}

message "MarkReadEvent" {
    dir = "in",
    doc = "Mark a message (and every older one in its room) as read.",
    since = 1,
    fields = {
        { "action", literal "mark_read", required },
        { "message_id", str { max = 64 }, required, doc = "Message ID." },
    },
    examples = { [[{"action": "mark_read", "message_id": "msg_001"}]] },
}

message "HeartbeatEvent" {
    dir = "in",
    doc = "Check server connectivity.",
    since = 1,
    fields = {
        { "action", literal "heartbeat", required },
    },
    examples = { [[{"action": "heartbeat"}]] },
}

message "NewRoomEvent" {
    dir = "in",
    doc = "Ask for the new_room event of a direct room the user belongs to.",
    since = 1,
    fields = {
        { "action", literal "new_room", required },
        { "room_id", str { max = 64 }, required, doc = "Room ID." },
    },
    examples = { [[{"action": "new_room", "room_id": "123"}]] },
}

-- Server to client ----------------------------------------------------------

message "NewRoomPayload" {
    dir = "out",
    doc = "Sent for new or joined rooms.",
    since = 1,
    fields = {
        { "type", literal "new_room", required },
        { "data", ref "Room", required },
    },
    examples = {
        [[{"type": "new_room", "data": {"room_id": "123", "type": "TECHNICIAN_DIRECT",
           "unread_messages_count": 0, "last_message": null,
           "counterpart": {"user_id": "789", "full_name": "John Doe",
                           "avatar": "https://example.com/avatar.jpg", "role": "TECHNICIAN"},
           "service": null, "customer": null}}]],
    },
}

message "NewMessagePayload" {
    dir = "out",
    doc = "Sent to every connection of every room member for each new message.",
    since = 1,
    fields = {
        { "type", literal "new_message", required },
        { "data", object {
            { "room_id", str { max = 64 }, required, doc = "Room ID." },
            { "service_id", str { max = 64 }, optional_nullable, doc = "Service ID." },
            { "message", ref "Message", required, doc = "The message." },
        }, required },
    },
    examples = {
        [[{"type": "new_message", "data": {"room_id": "123", "service_id": "456",
           "message": {"id": "msg_001", "is_sent": true, "text": "Hello, how are you?",
                       "file_id": null, "replied_from_id": null, "is_system_message": false,
                       "timestamp": 1697059200, "sender": null}}}]],
    },
}

message "MessageStatusPayload" {
    dir = "out",
    doc = "Sent to the sender's connections when a message is delivered or read.",
    since = 1,
    fields = {
        { "type", literal "message_status", required },
        { "data", object {
            { "service_id", str { max = 64 }, optional_nullable, doc = "Service ID." },
            { "message_id", str { max = 64 }, required, doc = "Message ID." },
            { "status", ref "MessageStatus", required, doc = "delivered or read." },
        }, required },
    },
    examples = {
        [[{"type": "message_status", "data": {"service_id": "456", "message_id": "msg_001", "status": "delivered"}}]],
        [[{"type": "message_status", "data": {"service_id": "456", "message_id": "msg_001", "status": "read"}}]],
    },
}

message "HeartbeatResponsePayload" {
    dir = "out",
    doc = [[Confirms connectivity. The document shows status at the top level in its
example and under data in its event list: the server sends both, clients may
read either (docs/decisions.md).]],
    since = 1,
    one_of_required = { "status", "data" },
    fields = {
        { "type", literal "heartbeat_response", required },
        { "status", str { max = 16 }, optional, doc = "Usually \"ok\"." },
        { "data", object {
            { "status", str { max = 16 }, required, doc = "Usually \"ok\"." },
        }, optional },
    },
    examples = {
        [[{"type": "heartbeat_response", "status": "ok"}]],
        [[{"type": "heartbeat_response", "data": {"status": "ok"}}]],
        [[{"type": "heartbeat_response", "status": "ok", "data": {"status": "ok"}}]],
    },
}

message "UnreadMessageCountPayload" {
    dir = "out",
    doc = "Sent for unread message count updates (UpdateUnreadMessageCountPayload).",
    since = 1,
    fields = {
        { "type", literal "unread_message_count", required },
        { "data", object {
            { "room_id", str { max = 64 }, required, doc = "Room ID." },
            { "unread_count", int { min = 0 }, required, doc = "Unread message count." },
        }, required },
    },
    examples = { [[{"type": "unread_message_count", "data": {"room_id": "123", "unread_count": 3}}]] },
}

message "ErrorPayload" {
    dir = "out",
    doc = [[Sent for errors. The document shows the message in error and in
data.error: the server sends both, clients may read either (docs/decisions.md).]],
    since = 1,
    one_of_required = { "error", "data" },
    fields = {
        { "type", literal "error", required },
        { "error", str { max = 1024 }, optional, doc = "Error message." },
        { "data", object {
            { "error", str { max = 1024 }, required, doc = "Error message." },
        }, optional },
    },
    examples = {
        [[{"type": "error", "error": "Room not found"}]],
        [[{"type": "error", "error": "Message or room not found"}]],
        [[{"type": "error", "error": "Room is not a direct room"}]],
        [[{"type": "error", "error": "Invalid JSON format"}]],
        [[{"type": "error", "error": "No action specified"}]],
        [[{"type": "error", "error": "Unknown action: <action>"}]],
        [[{"type": "error", "error": "Authentication required"}]],
        [[{"type": "error", "error": "Channel layer is not configured"}]],
        [[{"type": "error", "data": {"error": "Room not found"}}]],
    },
}
