-- schema/dashboard.lua: the case dashboard of seed 000 (three components at a
-- time, laid out and refreshed by server pushes over one WebSocket), plus the
-- plain HTTP side the document implies (GET init_data, the auth handshake).
--
-- Wire names and literals are exactly the document's. Where the document is
-- silent (the ping reply, positions of view_tall_3, component types other than
-- timeline/square/chat, the auth handshake bodies, lengths) see
-- docs/decisions.md.

channel "dashboard" {
    doc = [[The case dashboard: one WebSocket per open dashboard, opened with
case_id, fin_session_id and user_id as query parameters. The dashboard shows
three components at a time; which components, where, and what an IFRAME
component shows are all controlled by server pushes. Both directions are keyed
by "action".]],
    since = 1,
    transport = "websocket",
    path = "/api/v1/ws",
    unknown_fields = "reject",
    inbound = { discriminator = "action" },
    outbound = { discriminator = "action" },
    errors = {
        { "AUTH_REQUIRED", "Authentication required", status = 401,
          doc = "GET /api/v1/init_data without a valid fin_session_id for the case and user." },
        { "INVALID_REQUEST", "Invalid request: ", status = 400,
          doc = "a body or query parameter does not match the schema; the parser's PATH: REASON follows." },
        { "INVALID_TICKET", "Invalid or expired auth ticket", status = 401,
          doc = "auth_handshake with an unknown, used or expired ticket, or another case or user." },
    },
    http_errors = { body = ref "DashboardHttpError", text = "error",
                    auth_error = "AUTH_REQUIRED", invalid_error = "INVALID_REQUEST" },
}

-- Connection ----------------------------------------------------------------

params "DashboardConnectParams" {
    doc = [[Query parameters of the WebSocket upgrade request
(GET /api/v1/ws?case_id=...&fin_session_id=...&user_id=...) and of
GET /api/v1/init_data. The document's URL starts its query with "?&": an empty
parameter is ignored. fin_session_id comes from /auth_handshake; it is also
passed on to the individual components.]],
    since = 1,
    fields = {
        { "case_id", str { min = 1, max = 64 }, required, doc = "The case the dashboard shows (decimal in the document's URLs)." },
        { "fin_session_id", str { min = 1, max = 256 }, required, doc = "Session ID from /auth_handshake." },
        { "user_id", str { min = 1, max = 64 }, required, doc = "The user looking at the dashboard." },
    },
}

-- Shared payloads -----------------------------------------------------------

enumeration "DashboardComponentName" {
    doc = [[The front-end component that renders a dashboard slot (the values of
meta.dashboard_types). A schema edit extends the list.]],
    since = 1,
    values = {
        "ChatComponent",
        "TimelineComponent",
        "SquareComponent",
        "IFRAMEComponent",
        "WaterfallComponent",
        "ButterflyComponent",
        "BarchartComponent",
    },
}

enumeration "DashboardLayoutType" {
    doc = [[How the three components are laid out (the values of meta.layout_types).
view_standard_3: top_full over bottom_left and bottom_right. view_tall_3: left_full
beside top_right and bottom_right (or its mirror, right_full beside top_left and
bottom_left). A schema edit extends the list.]],
    since = 1,
    values = { "view_standard_3", "view_tall_3" },
}

enumeration "DashboardComponentType" {
    doc = [[What a component shows, independent of how it is rendered (the
document's "chat" is shown by an IFRAMEComponent). timeline, square and chat are
the document's; the others are one per component kind (docs/decisions.md).]],
    since = 1,
    values = { "timeline", "square", "chat", "iframe", "waterfall", "butterfly", "barchart" },
}

enumeration "DashboardPosition" {
    doc = [[Where a component sits. top_full, bottom_left and bottom_right are the
document's (view_standard_3); the others complete the three-component layouts:
bottom_full for a flipped standard view, left_full/right_full with
top_right/bottom_right or top_left/bottom_left for view_tall_3.]],
    since = 1,
    values = {
        "top_full", "bottom_full", "left_full", "right_full",
        "top_left", "top_right", "bottom_left", "bottom_right",
    },
}

payload "DashboardMeta" {
    doc = "What this server knows: every component name and layout type it may send.",
    since = 1,
    fields = {
        { "dashboard_types", array { ref "DashboardComponentName", max = 64 }, required,
          doc = "Every component name the server may use." },
        { "layout_types", array { ref "DashboardLayoutType", max = 64 }, required,
          doc = "Every layout type the server may use." },
    },
}

payload "DashboardSettings" {
    doc = "Dashboard-wide settings (dsettings).",
    since = 1,
    fields = {
        { "layout_type", ref "DashboardLayoutType", required, doc = "The layout in use." },
        { "custom_layout", any, required,
          doc = [[A JSON object of unspecified shape (the document only shows {}):
kept as raw JSON (any), so the schema does not check that it is an object.
The server sends {} when there is no custom layout.]] },
    },
}

payload "DashboardComponent" {
    doc = "One component of the dashboard and where it sits.",
    since = 1,
    fields = {
        { "type", ref "DashboardComponentType", required, doc = "What the component shows." },
        { "id", str { min = 1, max = 64 }, required,
          doc = "Component ID, unique in the dashboard; the document's are <type>_<n> (timeline_1)." },
        { "position", ref "DashboardPosition", required, doc = "Where it sits in the layout." },
        { "component_name", ref "DashboardComponentName", required, doc = "The front-end component that renders it." },
        { "src", str { max = 2048, format = "uri" }, nullable,
          doc = "URL an IFRAMEComponent loads; null for components that do not load a URL." },
    },
}

-- Client to server ----------------------------------------------------------

message "RequestInitData" {
    dir = "in",
    doc = "Optional: ask for init_data again (the server also sends it on connect).",
    since = 1,
    fields = {
        { "action", literal "request_init_data", required },
    },
    examples = { [[{"action": "request_init_data"}]] },
}

message "RequestPing" {
    dir = "in",
    doc = "Optional ping; the server answers with pong (PongReply).",
    since = 1,
    fields = {
        { "action", literal "request_ping", required },
    },
    examples = { [[{"action": "request_ping"}]] },
}

-- Server to client ----------------------------------------------------------

message "InitData" {
    dir = "out",
    doc = [[The whole dashboard: what the server may send (meta), the layout and
its components (data). Sent on connect and on request_init_data; also the body
of GET /api/v1/init_data.]],
    since = 1,
    fields = {
        { "action", literal "init_data", required },
        { "meta", ref "DashboardMeta", required, doc = "Known component names and layout types." },
        { "data", object {
            { "dsettings", ref "DashboardSettings", required, doc = "Dashboard-wide settings." },
            { "components", array { ref "DashboardComponent", max = 16 }, required,
              doc = "The components shown, three at a time in the document's layouts." },
        }, required },
    },
    examples = {
        [[{
    "action": "init_data",
    "meta": {
        "dashboard_types": [
            "ChatComponent",
            "TimelineComponent",
            "SquareComponent",
            "IFRAMEComponent",
            "WaterfallComponent",
            "ButterflyComponent",
            "BarchartComponent"
        ],
        "layout_types": [
            "view_standard_3",
            "view_tall_3"
        ]
    },
    "data": {
        "dsettings": {
            "layout_type": "view_standard_3",
            "custom_layout": {}
        },
        "components": [
            {
                "type": "timeline",
                "id": "timeline_1",
                "position": "top_full",
                "component_name": "TimelineComponent",
                "src": null
            },
            {
                "type": "square",
                "id": "square_1",
                "position": "bottom_right",
                "component_name": "SquareComponent",
                "src": null
            },
            {
                "type": "chat",
                "id": "chat_1",
                "position": "bottom_left",
                "component_name": "IFRAMEComponent",
                "src": "http://core.epventures.com/api/v1/get_chat?case_id=1"
            }
        ]
    }
}]],
        [[{"action": "init_data",
           "meta": {"dashboard_types": ["ChatComponent", "TimelineComponent", "SquareComponent",
                                        "IFRAMEComponent", "WaterfallComponent", "ButterflyComponent",
                                        "BarchartComponent"],
                    "layout_types": ["view_standard_3", "view_tall_3"]},
           "data": {"dsettings": {"layout_type": "view_tall_3", "custom_layout": {}},
                    "components": [
                        {"type": "waterfall", "id": "waterfall_1", "position": "left_full",
                         "component_name": "WaterfallComponent", "src": null},
                        {"type": "barchart", "id": "barchart_1", "position": "top_right",
                         "component_name": "BarchartComponent", "src": null},
                        {"type": "chat", "id": "chat_1", "position": "bottom_right",
                         "component_name": "IFRAMEComponent",
                         "src": "https://core.epventures.com/api/v1/get_chat?case_id=1"}]}}]],
    },
}

message "RequestComponentRefresh" {
    dir = "out",
    doc = "Server asks the client to refresh one component.",
    since = 1,
    fields = {
        { "action", literal "request_component_refresh", required },
        { "data", object {
            { "component_id", str { min = 1, max = 64 }, required, doc = "ID of the component to refresh." },
            { "key", str { min = 1, max = 64 }, required,
              doc = [[Opaque refresh key; the component passes it on when it reloads
(the document's looks like a UTC time to the microsecond, YYYYMMDDhhmmssffffff).]] },
        }, required },
    },
    examples = {
        [[{
    "action": "request_component_refresh",
    "data": {
        "component_id": "timeline_1",
        "key": "20231130064924408779"
    }
}]],
    },
}

message "RequestIframeUrl" {
    dir = "out",
    doc = [[Server sets the URL an IFRAME component shows. (The document's example
names timeline_1, a TimelineComponent in its init_data; kept verbatim: the
server does not check the component's kind.)]],
    since = 1,
    fields = {
        { "action", literal "request_iframe_url", required },
        { "data", object {
            { "component_id", str { min = 1, max = 64 }, required, doc = "ID of the component." },
            { "iframe_source", str { min = 1, max = 2048, format = "uri" }, required, doc = "The URL to load." },
        }, required },
    },
    examples = {
        [[{
    "action": "request_iframe_url",
    "data": {
        "component_id": "timeline_1",
        "iframe_source": "https://core.epventures.com/api/v1/get_chat?case_id=1"
    }
}]],
    },
}

message "PongReply" {
    dir = "out",
    doc = [[Answer to request_ping. The document names no reply; Switchboard sends
action "pong" with the server's clock (docs/decisions.md).]],
    since = 1,
    fields = {
        { "action", literal "pong", required },
        { "data", object {
            { "server_time", timestamp "unix_ms", required, doc = "Server clock, Unix milliseconds." },
        }, required },
    },
    examples = { [[{"action": "pong", "data": {"server_time": 1701326964408}}]] },
}

-- HTTP ----------------------------------------------------------------------

message "RequestForAuthRequest" {
    dir = "http",
    doc = [[Body of POST /request_for_auth: ask for a one-time auth ticket for a
user and case. The document only names this endpoint; this contract is
Switchboard's proposal, to be validated with the core team (docs/decisions.md).
Meant to be called by the core backend, not by browsers.]],
    since = 1,
    fields = {
        { "case_id", str { min = 1, max = 64 }, required, doc = "The case the dashboard will show." },
        { "user_id", str { min = 1, max = 64 }, required, doc = "The user who will open it." },
    },
    examples = { [[{"case_id": "1", "user_id": "42"}]] },
}

message "RequestForAuthResponse" {
    dir = "http",
    doc = "Answer to POST /request_for_auth: a one-time ticket for /auth_handshake.",
    since = 1,
    fields = {
        { "auth_ticket", str { min = 1, max = 256 }, required,
          doc = "One-time ticket; valid once, for expires_in seconds." },
        { "expires_in", int { min = 1, max = 3600 }, required, doc = "Seconds until the ticket expires (60)." },
    },
    examples = { [[{"auth_ticket": "t-7f3c9a1e5b2d4c6e", "expires_in": 60}]] },
}

message "AuthHandshakeRequest" {
    dir = "http",
    doc = [[Body of POST /auth_handshake: exchange a ticket from /request_for_auth
for the fin_session_id that the WebSocket and the components take. Same
caveat as RequestForAuthRequest: Switchboard's proposal.]],
    since = 1,
    fields = {
        { "auth_ticket", str { min = 1, max = 256 }, required, doc = "Ticket from /request_for_auth." },
        { "case_id", str { min = 1, max = 64 }, required, doc = "Must match the ticket's case." },
        { "user_id", str { min = 1, max = 64 }, required, doc = "Must match the ticket's user." },
    },
    examples = { [[{"auth_ticket": "t-7f3c9a1e5b2d4c6e", "case_id": "1", "user_id": "42"}]] },
}

message "AuthHandshakeResponse" {
    dir = "http",
    doc = "Answer to POST /auth_handshake: the session for the WebSocket and the components.",
    since = 1,
    fields = {
        { "fin_session_id", str { min = 1, max = 256 }, required,
          doc = "Pass as fin_session_id to /api/v1/ws, /api/v1/init_data and the components." },
        { "expires_in", int { min = 1 }, required, doc = "Seconds the session stays valid without use." },
    },
    examples = { [[{"fin_session_id": "fs-2c1d8e0b9a7f4e3d", "expires_in": 86400}]] },
}

message "DashboardHttpError" {
    dir = "http",
    doc = "The body of every error answer of the dashboard's HTTP endpoints.",
    since = 1,
    fields = {
        { "error", str { max = 1024 }, required, doc = "What went wrong." },
    },
    examples = { [[{"error": "Authentication required"}]], [[{"error": "Invalid request: case_id: missing required field"}]] },
}

endpoint "GetInitData" {
    doc = [[The init_data message over plain HTTP ("possible to add get endpoint
too"), e.g. to validate the format. Takes the query parameters of
DashboardConnectParams (case_id, fin_session_id, user_id).]],
    since = 1,
    method = "GET",
    path = "/api/v1/init_data",
    query = ref "DashboardConnectParams",
    response = ref "InitData",
    errors = { "AUTH_REQUIRED", "INVALID_REQUEST" },
}

endpoint "RequestForAuth" {
    doc = "Get a one-time auth ticket for a user and case (Switchboard's proposal).",
    since = 1,
    method = "POST",
    path = "/request_for_auth",
    auth = false,
    request = ref "RequestForAuthRequest",
    response = ref "RequestForAuthResponse",
    errors = { "INVALID_REQUEST" },
}

endpoint "AuthHandshake" {
    doc = "Exchange an auth ticket for a fin_session_id (Switchboard's proposal).",
    since = 1,
    method = "POST",
    path = "/auth_handshake",
    auth = false,
    request = ref "AuthHandshakeRequest",
    response = ref "AuthHandshakeResponse",
    errors = { "INVALID_REQUEST", "INVALID_TICKET" },
}
