-- tests/schemadiff/base/t.lua: the schema that test_schema_diff.sh edits,
-- one field per line so that each case is one sed edit. Color is only
-- accepted (input), State only sent (output).

channel "t" {
    doc = "Diff test channel.",
    since = 1,
    transport = "websocket",
    path = "/ws/t",
    inbound = { discriminator = "action" },
    outbound = { discriminator = "type" },
    errors = {
        { "INVALID", "Invalid request: ", status = 400 },
        { "AUTH", "Authentication required", status = 401 },
        { "GONE", "Gone", status = 404 },
    },
    http_errors = { body = ref "HttpError", text = "error", auth_error = "AUTH", invalid_error = "INVALID" },
}

enumeration "Color" {
    doc = "A color the client sends.",
    since = 1,
    values = { "red", "green", "blue" },
}

enumeration "State" {
    doc = "A state the server sends.",
    since = 1,
    values = { "open", "closed" },
}

message "Send" {
    dir = "in",
    doc = "The client sends text.",
    since = 1,
    fields = {
        { "action", literal "send", required, doc = "Discriminator." },
        { "text", str { max = 100 }, required, doc = "Text." },
        { "note", str { max = 50 }, optional, doc = "Note." },
        { "count", int { min = 0, max = 10 }, required, doc = "Count." },
        { "color", ref "Color", required, doc = "Color." },
        { "tag", str { max = 20 }, nullable, doc = "Tag." },
        { "items", array { str { max = 10 }, max = 5 }, optional, doc = "Items." },
    },
    examples = { [[{"action": "send", "text": "hi", "count": 1, "color": "red", "tag": null}]] },
}

message "Ping" {
    dir = "in",
    doc = "Keepalive.",
    since = 1,
    fields = {
        { "action", literal "ping", required, doc = "Discriminator." },
    },
    examples = { [[{"action": "ping"}]] },
}

message "Sent" {
    dir = "out",
    doc = "The server confirms.",
    since = 1,
    fields = {
        { "type", literal "sent", required, doc = "Discriminator." },
        { "id", str { max = 36 }, required, doc = "ID." },
        { "state", ref "State", required, doc = "State." },
        { "reason", str { max = 100 }, nullable, doc = "Reason." },
        { "extra", str { max = 100 }, optional, doc = "Extra." },
    },
    examples = { [[{"type": "sent", "id": "1", "state": "open", "reason": null}]] },
}

message "HttpError" {
    dir = "http",
    doc = "Error body.",
    since = 1,
    fields = {
        { "error", str { max = 256 }, required, doc = "What went wrong." },
    },
    examples = { [[{"error": "Gone"}]] },
}

message "Item" {
    dir = "http",
    doc = "An item.",
    since = 1,
    fields = {
        { "id", str { max = 36 }, required, doc = "ID." },
        { "name", str { max = 50 }, required, doc = "Name." },
    },
    examples = { [[{"id": "1", "name": "a"}]] },
}

message "NewItem" {
    dir = "http",
    doc = "A new item.",
    since = 1,
    fields = {
        { "name", str { max = 50 }, required, doc = "Name." },
    },
    examples = { [[{"name": "a"}]] },
}

params "ItemPath" {
    doc = "Path of one item.",
    since = 1,
    fields = {
        { "id", str { max = 36 }, required, doc = "ID." },
    },
}

endpoint "GetItem" {
    doc = "One item.",
    since = 1,
    method = "GET",
    path = "/items/{id}",
    path_params = ref "ItemPath",
    response = ref "Item",
    errors = { "GONE" },
}

endpoint "AddItem" {
    doc = "Add an item.",
    since = 1,
    method = "POST",
    path = "/items",
    request = ref "NewItem",
    response = ref "Item",
    errors = {},
}
