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
        { "FORBIDDEN", "fin_session_id is not for this case and user", status = 403,
          doc = "a valid fin_session_id used for another case or user (the WebSocket answers the same)." },
        { "NOT_FOUND", "Not found: ", status = 404,
          doc = "an operator endpoint names a component the case's dashboard does not have, or a component, view or chat room has nothing yet; what follows says which." },
        { "VERSION_CONFLICT", "Version conflict: ", status = 409,
          doc = "PUT dashboard based on a version that is no longer current; the body's version is the current one." },
        { "INVALID_DASHBOARD", "Invalid dashboard: ", status = 422,
          doc = "a dashboard or component change that parses but does not fit the layout (slots, IDs, sources); PATH: REASON follows." },
        { "VERSION_REQUIRED", "Version required: send the version the change is based on (body version or If-Match)", status = 428,
          doc = "PUT dashboard without a version in the body or an If-Match header." },
        { "API_KEY_REQUIRED", "Operator API key required", status = 401,
          doc = "an operator endpoint without a valid Authorization: Bearer operator API key." },
        { "UNAVAILABLE", "Service unavailable", status = 503,
          doc = "storage failed; nothing was changed, retry." },
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
        { "case_id", str { min = 1, max = 64, pattern = "^[^/]+$" }, required, doc = "The case the dashboard shows (decimal in the document's URLs)." },
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
        { "id", str { min = 1, max = 64, pattern = "^[^/]+$" }, required,
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
        { "case_id", str { min = 1, max = 64, pattern = "^[^/]+$" }, required, doc = "The case the dashboard will show." },
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
        { "case_id", str { min = 1, max = 64, pattern = "^[^/]+$" }, required, doc = "Must match the ticket's case." },
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
        { "version", int { min = 0 }, optional,
          doc = "VERSION_CONFLICT only: the dashboard's current version, to base a retry on." },
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
    errors = { "AUTH_REQUIRED", "INVALID_REQUEST", "FORBIDDEN", "UNAVAILABLE" },
}

endpoint "RequestForAuth" {
    doc = [[Get a one-time auth ticket for a user and case (Switchboard's proposal).
For the core backend only: it takes an operator API key (Authorization: Bearer).]],
    since = 1,
    method = "POST",
    path = "/request_for_auth",
    auth = "operator",
    request = ref "RequestForAuthRequest",
    response = ref "RequestForAuthResponse",
    errors = { "INVALID_REQUEST", "API_KEY_REQUIRED", "UNAVAILABLE" },
}

endpoint "AuthHandshake" {
    doc = "Exchange an auth ticket for a fin_session_id (Switchboard's proposal).",
    since = 1,
    method = "POST",
    path = "/auth_handshake",
    auth = false,
    request = ref "AuthHandshakeRequest",
    response = ref "AuthHandshakeResponse",
    errors = { "INVALID_REQUEST", "INVALID_TICKET", "UNAVAILABLE" },
}

-- Component data, views and the case's chat (fin_session_id) ------------------

params "DashboardSessionQuery" {
    doc = [[Query parameters of the endpoints a dashboard's components call:
the case and the fin_session_id the dashboard was opened with. user_id is
optional here (the session knows its user); when given it must match.]],
    since = 1,
    fields = {
        { "case_id", str { min = 1, max = 64, pattern = "^[^/]+$" }, required, doc = "The case." },
        { "fin_session_id", str { min = 1, max = 256 }, required, doc = "Session ID from /auth_handshake." },
        { "user_id", str { min = 1, max = 64 }, optional, doc = "The session's user, if the caller knows it." },
        { "key", str { max = 64 }, optional,
          doc = "The key of the request_component_refresh being answered (passed on, not checked)." },
    },
}

params "ComponentPath" {
    doc = "Path parameters of GET /api/v1/components/{component_id}.",
    since = 1,
    fields = {
        { "component_id", str { min = 1, max = 64 }, required, doc = "Component ID (timeline_1)." },
    },
}

endpoint "GetComponentData" {
    doc = [[The data a component shows, exactly the JSON an operator stored with
PUT /api/v1/cases/{case_id}/components/{component_id}/data: what a client
fetches after request_component_refresh. 404 while the component has none.]],
    since = 1,
    method = "GET",
    path = "/api/v1/components/{component_id}",
    path_params = ref "ComponentPath",
    query = ref "DashboardSessionQuery",
    response = any,
    errors = { "AUTH_REQUIRED", "INVALID_REQUEST", "FORBIDDEN", "NOT_FOUND", "UNAVAILABLE" },
}

payload "ViewButton" {
    doc = "One button of the button view: a link.",
    since = 1,
    fields = {
        { "label", str { min = 1, max = 100 }, required, doc = "The button's text." },
        { "url", str { min = 1, max = 2048, format = "uri" }, required, doc = "Where it leads (opened in a new tab)." },
    },
}

payload "FaqItem" {
    doc = "One question of the FAQ view and its answer (plain text).",
    since = 1,
    fields = {
        { "question", str { min = 1, max = 500 }, required, doc = "The question." },
        { "answer", str { min = 1, max = 8000 }, required, doc = "The answer, plain text (line breaks kept)." },
    },
}

message "ButtonView" {
    dir = "http",
    doc = [[The document's "button view" of a case: a title and a list of link
buttons, set by an operator, shown by the page /api/v1/button_view (an IFRAME
component's src). A case with none set has an empty title and no buttons.]],
    since = 1,
    fields = {
        { "title", str { max = 200 }, required, doc = "Heading of the view (may be empty)." },
        { "buttons", array { ref "ViewButton", max = 32 }, required, doc = "The buttons, in order." },
    },
    examples = { [[{"title": "Next steps", "buttons": [{"label": "Upload documents", "url": "https://example.com/upload"}]}]] },
}

message "FaqView" {
    dir = "http",
    doc = [[The document's "FAQ view" of a case: questions and answers set by an
operator, shown by the page /api/v1/faq_view. A case with none set has an
empty title and no items.]],
    since = 1,
    fields = {
        { "title", str { max = 200 }, required, doc = "Heading of the view (may be empty)." },
        { "items", array { ref "FaqItem", max = 64 }, required, doc = "The questions, in order." },
    },
    examples = { [[{"title": "FAQ", "items": [{"question": "How long does it take?", "answer": "About two weeks."}]}]] },
}

endpoint "GetButtonView" {
    doc = "The case's button view (what the page /api/v1/button_view shows).",
    since = 1,
    method = "GET",
    path = "/api/v1/views/buttons",
    query = ref "DashboardSessionQuery",
    response = ref "ButtonView",
    errors = { "AUTH_REQUIRED", "INVALID_REQUEST", "FORBIDDEN", "UNAVAILABLE" },
}

endpoint "GetFaqView" {
    doc = "The case's FAQ view (what the page /api/v1/faq_view shows).",
    since = 1,
    method = "GET",
    path = "/api/v1/views/faq",
    query = ref "DashboardSessionQuery",
    response = ref "FaqView",
    errors = { "AUTH_REQUIRED", "INVALID_REQUEST", "FORBIDDEN", "UNAVAILABLE" },
}

message "ChatAccessResponse" {
    dir = "http",
    doc = [[Answer to GET /api/v1/chat_access: what the chat page (/api/v1/get_chat)
needs to join the case's room on the seed-003 chat: a short-lived chat access
token for the dashboard's user (whose user_id is a chat user's ID), the room,
and how long the token may be used to connect.]],
    since = 1,
    fields = {
        { "token", str { min = 1, max = 256 }, required,
          doc = "Chat access token: /ws/chat?token= and the chat's REST history (?token=)." },
        { "room_id", int { min = 1 }, required, doc = "The case's chat room." },
        { "user_id", int { min = 1 }, required, doc = "The chat user the token is for." },
        { "expires_in", int { min = 1 }, required, doc = "Seconds the token stays valid for new connections." },
    },
    examples = { [[{"token": "c0ffee", "room_id": 3, "user_id": 42, "expires_in": 3600}]] },
}

endpoint "ChatAccess" {
    doc = [[A chat access token for the case's room, for the page of
/api/v1/get_chat. 404 when the case has no chat room (PUT .../chat) or the
dashboard's user is not a member of it.]],
    since = 1,
    method = "GET",
    path = "/api/v1/chat_access",
    query = ref "DashboardSessionQuery",
    response = ref "ChatAccessResponse",
    errors = { "AUTH_REQUIRED", "INVALID_REQUEST", "FORBIDDEN", "NOT_FOUND", "UNAVAILABLE" },
}

-- Operator API: "Authorization: Bearer <operator API key>" (switchboard apikey
-- add), checked by dashboard_http_authenticate_operator. Every change is
-- answered after its commit and pushed to every open dashboard of the case.

params "CasePath" {
    doc = "Path parameters of /api/v1/cases/{case_id}/...",
    since = 1,
    fields = {
        { "case_id", str { min = 1, max = 64, pattern = "^[^/]+$" }, required, doc = "The case." },
    },
}

params "CaseComponentPath" {
    doc = "Path parameters of /api/v1/cases/{case_id}/components/{component_id}/...",
    since = 1,
    fields = {
        { "case_id", str { min = 1, max = 64, pattern = "^[^/]+$" }, required, doc = "The case." },
        { "component_id", str { min = 1, max = 64 }, required, doc = "The component." },
    },
}

message "DashboardState" {
    dir = "http",
    doc = [[A case's dashboard as the operator API sees it: what init_data carries
in data, plus the version every change is based on (0: never changed, the
default dashboard). Also sent as the ETag ("<version>").]],
    since = 1,
    fields = {
        { "case_id", str { min = 1, max = 64, pattern = "^[^/]+$" }, required, doc = "The case." },
        { "version", int { min = 0 }, required, doc = "Bumped by every change of layout, components or an iframe src." },
        { "dsettings", ref "DashboardSettings", required, doc = "Dashboard-wide settings." },
        { "components", array { ref "DashboardComponent", max = 16 }, required, doc = "The components." },
    },
    examples = { [[{"case_id": "1", "version": 2,
                   "dsettings": {"layout_type": "view_tall_3", "custom_layout": {}},
                   "components": [
                       {"type": "waterfall", "id": "waterfall_1", "position": "left_full",
                        "component_name": "WaterfallComponent", "src": null},
                       {"type": "barchart", "id": "barchart_1", "position": "top_right",
                        "component_name": "BarchartComponent", "src": null},
                       {"type": "chat", "id": "chat_1", "position": "bottom_right",
                        "component_name": "IFRAMEComponent",
                        "src": "http://127.0.0.1:8080/api/v1/get_chat?case_id=1"}]}]] },
}

message "DashboardPutRequest" {
    dir = "http",
    doc = [[Body of PUT /api/v1/cases/{case_id}/dashboard: the new layout and
components, and the version they are based on (or If-Match: "<version>").
The components must fill the layout's three slots, once each
(docs/protocols/dashboard.md).]],
    since = 1,
    fields = {
        { "version", int { min = 0 }, optional, doc = "The version this change is based on (else If-Match)." },
        { "dsettings", ref "DashboardSettings", required, doc = "Dashboard-wide settings." },
        { "components", array { ref "DashboardComponent", max = 16 }, required, doc = "The components." },
    },
    examples = { [[{"version": 1, "dsettings": {"layout_type": "view_standard_3", "custom_layout": {}},
                   "components": [
                       {"type": "barchart", "id": "barchart_1", "position": "top_full",
                        "component_name": "BarchartComponent", "src": null},
                       {"type": "square", "id": "square_1", "position": "bottom_right",
                        "component_name": "SquareComponent", "src": null},
                       {"type": "chat", "id": "chat_1", "position": "bottom_left",
                        "component_name": "IFRAMEComponent",
                        "src": "http://127.0.0.1:8080/api/v1/get_chat?case_id=1"}]}]] },
}

message "ComponentRefreshRequest" {
    dir = "http",
    doc = [[Body of POST .../components/{component_id}/refresh (may be empty):
the key to push; default, the time now as the document writes it
(YYYYMMDDhhmmssffffff, UTC).]],
    since = 1,
    fields = {
        { "key", str { min = 1, max = 64 }, optional, doc = "The refresh key to push." },
    },
    examples = { [[{}]], [[{"key": "20231130064924408779"}]] },
}

message "ComponentPushResponse" {
    dir = "http",
    doc = "Answer to the refresh and data endpoints: what was pushed.",
    since = 1,
    fields = {
        { "case_id", str { min = 1, max = 64, pattern = "^[^/]+$" }, required, doc = "The case." },
        { "component_id", str { min = 1, max = 64 }, required, doc = "The component." },
        { "key", str { min = 1, max = 64 }, required, doc = "The key of the request_component_refresh pushed." },
        { "pushed", bool, required,
          doc = "false when the component is not in the case's dashboard (data stored, nothing pushed)." },
    },
    examples = { [[{"case_id": "1", "component_id": "timeline_1", "key": "20231130064924408779", "pushed": true}]] },
}

message "IframeRequest" {
    dir = "http",
    doc = "Body of POST .../components/{component_id}/iframe: the URL the IFRAME component loads.",
    since = 1,
    fields = {
        { "iframe_source", str { min = 1, max = 2048, format = "uri" }, required, doc = "The URL to load." },
    },
    examples = { [[{"iframe_source": "https://core.epventures.com/api/v1/get_chat?case_id=1"}]] },
}

message "IframeResponse" {
    dir = "http",
    doc = "Answer to POST .../iframe: the src stored (a change of the dashboard: new version).",
    since = 1,
    fields = {
        { "case_id", str { min = 1, max = 64, pattern = "^[^/]+$" }, required, doc = "The case." },
        { "component_id", str { min = 1, max = 64 }, required, doc = "The component." },
        { "iframe_source", str { min = 1, max = 2048 }, required, doc = "The URL pushed." },
        { "version", int { min = 1 }, required, doc = "The dashboard's new version." },
    },
    examples = { [[{"case_id": "1", "component_id": "chat_1", "iframe_source": "https://example.com/", "version": 3}]] },
}

message "ViewUpdateResponse" {
    dir = "http",
    doc = "Answer to PUT .../views/buttons and .../views/faq.",
    since = 1,
    fields = {
        { "case_id", str { min = 1, max = 64, pattern = "^[^/]+$" }, required, doc = "The case." },
        { "key", str { min = 1, max = 64 }, required,
          doc = "The key of the request_component_refresh pushed to the components showing the view." },
        { "pushed", int { min = 0 }, required, doc = "How many components of the case show this view (each got a refresh)." },
    },
    examples = { [[{"case_id": "1", "key": "20231130064924408779", "pushed": 1}]] },
}

message "CaseChatRequest" {
    dir = "http",
    doc = "Body of PUT /api/v1/cases/{case_id}/chat: the seed-003 chat room of the case.",
    since = 1,
    fields = {
        { "room_id", int { min = 1 }, required, doc = "A chat room ID." },
    },
    examples = { [[{"room_id": 3}]] },
}

message "CaseChatResponse" {
    dir = "http",
    doc = "Answer to PUT /api/v1/cases/{case_id}/chat.",
    since = 1,
    fields = {
        { "case_id", str { min = 1, max = 64, pattern = "^[^/]+$" }, required, doc = "The case." },
        { "room_id", int { min = 1 }, required, doc = "Its chat room." },
    },
    examples = { [[{"case_id": "1", "room_id": 3}]] },
}

endpoint "GetDashboard" {
    doc = "A case's dashboard and its version (ETag), to base a PUT on.",
    since = 1,
    method = "GET",
    path = "/api/v1/cases/{case_id}/dashboard",
    auth = "operator",
    path_params = ref "CasePath",
    response = ref "DashboardState",
    errors = { "INVALID_REQUEST", "API_KEY_REQUIRED", "UNAVAILABLE" },
}

endpoint "PutDashboard" {
    doc = [[Replace a case's layout and components; pushes init_data to every open
dashboard of the case. The change must be based on the current version.]],
    since = 1,
    method = "PUT",
    path = "/api/v1/cases/{case_id}/dashboard",
    auth = "operator",
    path_params = ref "CasePath",
    request = ref "DashboardPutRequest",
    response = ref "DashboardState",
    errors = { "INVALID_REQUEST", "API_KEY_REQUIRED", "VERSION_CONFLICT", "VERSION_REQUIRED",
               "INVALID_DASHBOARD", "UNAVAILABLE" },
}

endpoint "RefreshComponent" {
    doc = "Push request_component_refresh for a component of the case's dashboard.",
    since = 1,
    method = "POST",
    path = "/api/v1/cases/{case_id}/components/{component_id}/refresh",
    auth = "operator",
    optional_body = true,
    path_params = ref "CaseComponentPath",
    request = ref "ComponentRefreshRequest",
    response = ref "ComponentPushResponse",
    errors = { "INVALID_REQUEST", "API_KEY_REQUIRED", "NOT_FOUND", "UNAVAILABLE" },
}

endpoint "SetIframe" {
    doc = "Store an IFRAME component's src and push request_iframe_url.",
    since = 1,
    method = "POST",
    path = "/api/v1/cases/{case_id}/components/{component_id}/iframe",
    auth = "operator",
    path_params = ref "CaseComponentPath",
    request = ref "IframeRequest",
    response = ref "IframeResponse",
    errors = { "INVALID_REQUEST", "API_KEY_REQUIRED", "NOT_FOUND", "INVALID_DASHBOARD", "UNAVAILABLE" },
}

endpoint "PutComponentData" {
    doc = [[Store the data a component shows (any JSON, kept verbatim) and push
request_component_refresh for it when the case's dashboard has it.]],
    since = 1,
    method = "PUT",
    path = "/api/v1/cases/{case_id}/components/{component_id}/data",
    auth = "operator",
    path_params = ref "CaseComponentPath",
    request = any,
    response = ref "ComponentPushResponse",
    errors = { "INVALID_REQUEST", "API_KEY_REQUIRED", "UNAVAILABLE" },
}

endpoint "PutButtonView" {
    doc = "Set the case's button view; refreshes the components that show it.",
    since = 1,
    method = "PUT",
    path = "/api/v1/cases/{case_id}/views/buttons",
    auth = "operator",
    path_params = ref "CasePath",
    request = ref "ButtonView",
    response = ref "ViewUpdateResponse",
    errors = { "INVALID_REQUEST", "API_KEY_REQUIRED", "UNAVAILABLE" },
}

endpoint "PutFaqView" {
    doc = "Set the case's FAQ view; refreshes the components that show it.",
    since = 1,
    method = "PUT",
    path = "/api/v1/cases/{case_id}/views/faq",
    auth = "operator",
    path_params = ref "CasePath",
    request = ref "FaqView",
    response = ref "ViewUpdateResponse",
    errors = { "INVALID_REQUEST", "API_KEY_REQUIRED", "UNAVAILABLE" },
}

endpoint "PutCaseChat" {
    doc = "Link the case to its seed-003 chat room (what /api/v1/get_chat shows).",
    since = 1,
    method = "PUT",
    path = "/api/v1/cases/{case_id}/chat",
    auth = "operator",
    path_params = ref "CasePath",
    request = ref "CaseChatRequest",
    response = ref "CaseChatResponse",
    errors = { "INVALID_REQUEST", "API_KEY_REQUIRED", "NOT_FOUND", "UNAVAILABLE" },
}
