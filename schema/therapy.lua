-- schema/therapy.lua: the group therapy web app of seed 001 (SMS one-time-code
-- login, the home page's therapy sessions and assessments, and the session
-- chat as AJAX polling: saveActions sends the client's queued actions,
-- getActions returns every action since the last one the client saw).
--
-- Wire names and literals are exactly the document's. The document's JSON is
-- not valid JSON (comments, `"target" 123333`, `100us`, single quotes,
-- trailing commas): the schema keeps its intent and the examples are valid
-- JSON with realistic values where it shows placeholders. Every other choice
-- (paths, time_to_complete, server_time, the error body, the login bodies) is
-- in docs/decisions.md.

channel "therapy" {
    doc = [[Group therapy sessions over plain HTTP (AJAX). A participant logs in
with phone and last name and a 6-digit SMS code, which creates a server-side
session; the home page lists their therapy sessions and open assessments; in a
session the client polls every 5 seconds: saveActions posts its queued actions
(keyed by "type"), getActions returns every action since last_action_id (keyed
by "type"). Every endpoint except login and code verification needs the
session.]],
    since = 1,
    transport = "http",
    unknown_fields = "reject",
    inbound = { discriminator = "type",
                doc = "The items of a saveActions request body." },
    outbound = { discriminator = "type",
                 doc = "The items of a getActions answer's actions." },
    errors = {
        { "AUTH_REQUIRED", "Authentication required",
          status = 401, doc = "Any endpoint but login and verification, without a logged-in session." },
        { "CODE_RESEND_TOO_SOON", "Please wait one minute before requesting a new code",
          status = 429, doc = "login again within 1 minute of the last code sent." },
        { "TOO_MANY_CODES", "Too many codes requested, try again later",
          status = 429, doc = "a 4th code requested within 1 hour." },
        { "INVALID_CODE", "Invalid code, please start over",
          status = 401, doc = "wrong, expired or already used code; the pending login is dropped." },
        { "NOT_ALLOWED_IN_SESSION", "You are not allowed in this session",
          status = 403, doc = "the user is not a participant of the therapy session." },
        { "NO_CURRENT_SESSION", "No therapy session entered",
          status = 409, doc = "getActions or saveActions before enterTherapySession." },
        { "INVALID_REQUEST", "Invalid request: ",
          status = 400, doc = "the body does not match the schema; the parser's PATH: REASON follows." },
        { "TOO_MANY_ATTEMPTS", "Too many attempts, please start over later",
          status = 429, doc = [[verifyCode on a login whose one try is used (a parallel or repeated
check), or after 3 failed codes for the phone within the hour (even with the right code).]] },
        { "RATE_LIMITED", "Too many requests, try again later",
          status = 429, doc = "the per-address or server-wide cap on codes sent or checked (SMS pumping, spraying)." },
        { "CSRF_FAILED", "Request refused: ",
          status = 403, doc = [[a state-changing call from another site (Origin, Sec-Fetch-Site) or
without the session's X-CSRF-Token header; the reason follows.]] },
        { "ACTION_REFUSED", "Action refused: ",
          status = 403, doc = [[a saveActions item the user may not do: PATH: REASON follows (another
user's name in user, a message that is not in the session or not visible, deleting another's message).]] },
        { "NOT_FOUND", "Not found: ",
          status = 404, doc = "operator endpoints: the therapy session or participant does not exist." },
        { "UNAVAILABLE", "Service temporarily unavailable, please retry",
          status = 503, doc = "the database could not be read or written; nothing was changed." },
    },
    -- every error answer: {"result": TEXT, "error": NAME} (+ retry_after, set by the handler)
    http_errors = { body = ref "TherapyErrorResponse", text = "result", name = "error",
                    auth_error = "AUTH_REQUIRED", invalid_error = "INVALID_REQUEST" },
}

-- Shared payloads -----------------------------------------------------------

enumeration "ReactionIcon" {
    doc = "A reaction's icon.",
    since = 1,
    values = { "heart", "smile", "sad", "angry" },
}

enumeration "NoticeSender" {
    doc = [[Who a notice is from; the document writes "system | Therapist" (one of
the two). A schema edit extends the list.]],
    since = 1,
    values = { "system", "Therapist" },
}

enumeration "AssessmentStatus" {
    doc = "Whether the participant has completed an assessment.",
    since = 1,
    values = { "complete", "incomplete" },
}

enumeration "ParticipantRole" {
    doc = "A participant's role in a therapy session.",
    since = 1,
    values = { "therapist", "participant" },
}

payload "Assessment" {
    doc = "An assessment (survey) of a therapy session for one participant.",
    since = 1,
    fields = {
        { "name", str { min = 1, max = 256 }, required, doc = "Assessment name, e.g. post-session_survey." },
        { "status", ref "AssessmentStatus", required, doc = "complete or incomplete." },
        { "url", str { min = 1, max = 2048, format = "uri" }, optional,
          doc = "Where to complete it: sent when status is incomplete, absent when complete." },
    },
}

payload "TherapySessionSummary" {
    doc = "A therapy session on the user's home page, with the user's assessments.",
    since = 1,
    fields = {
        { "id", int { min = 1 }, required,
          doc = "Therapy session ID (ts_id) (not in the document's sketch; needed to enter the session)." },
        { "name", str { min = 1, max = 256 }, required, doc = "Session name." },
        { "date", timestamp "iso8601", required, doc = "When the session starts (ISO-8601)." },
        { "assessments", array { ref "Assessment", max = 64 }, required, doc = "The user's assessments for it." },
    },
}

payload "TherapySessionMetadata" {
    doc = "What describes a therapy session (the document says only \"metadata\").",
    since = 1,
    fields = {
        { "id", int { min = 1 }, required, doc = "Therapy session ID (ts_id)." },
        { "name", str { min = 1, max = 256 }, required, doc = "Session name." },
        { "date", timestamp "iso8601", required, doc = "When the session starts (ISO-8601)." },
    },
}

payload "Participant" {
    doc = "A participant of a therapy session.",
    since = 1,
    fields = {
        { "id", str { min = 1, max = 64 }, required, doc = "User ID as used in actions (user, recipients), e.g. P456." },
        { "name", str { max = 256 }, required, doc = "Display name." },
        { "role", ref "ParticipantRole", required, doc = "therapist or participant." },
    },
}

-- Client to server: the items of saveActions ----------------------------------

message "ClientMessageAction" {
    dir = "in",
    doc = [[Post a message: to everyone (recipients empty) or privately to the
listed users; target is the message it replies to, or null.]],
    since = 1,
    fields = {
        { "client_ts", str { max = 64, format = "date-time" }, required,
          doc = "When the user acted, client clock (ISO-8601; at most 64 bytes, since the client writes it)." },
        { "type", literal "message", required },
        { "user", str { min = 1, max = 64 }, required,
          doc = "Sender's user ID: the logged-in user's (the server checks)." },
        { "recipients", array { str { min = 1, max = 64 }, max = 100 }, required,
          doc = "User IDs of a private message; empty for everyone." },
        { "body", str { max = 16384 }, required, doc = "Message text." },
        { "character_history", array { str { max = 32 }, max = 32768 }, required,
          doc = [[Every keystroke while composing, in order: usually one character each;
up to 32 bytes so that named keys (e.g. Backspace) fit.]] },
        { "time_to_complete", str { min = 3, max = 32, pattern = "^[0-9]+ms$" }, required,
          doc = [[How long composing took: decimal milliseconds followed by "ms", e.g.
"671ms" (kept as the document's string).]] },
        { "target", int { min = 1 }, optional_nullable, doc = "ID of the message this replies to, or null." },
    },
    examples = {
        [[{"client_ts": "2023-08-02T22:02:53.375Z", "type": "message", "user": "P456", "recipients": [],
           "body": "abcd", "character_history": ["a", "b", "c", "d"], "time_to_complete": "671ms",
           "target": 12333}]],
        [[{"client_ts": "2023-08-02T22:02:53.375Z", "type": "message", "user": "123XYZ", "recipients": ["P456"],
           "body": "abcd", "character_history": ["a", "b", "c", "d"], "time_to_complete": "671ms",
           "target": null}]],
    },
}

message "ClientReactionAction" {
    dir = "in",
    doc = "React to a message with an icon.",
    since = 1,
    fields = {
        { "client_ts", str { max = 64, format = "date-time" }, required,
          doc = "When the user acted, client clock (ISO-8601; at most 64 bytes, since the client writes it)." },
        { "type", literal "reaction", required },
        { "target", int { min = 1 }, required, doc = "ID of the message reacted to." },
        { "user", str { min = 1, max = 64 }, required,
          doc = "Reacting user's ID: the logged-in user's (the server checks)." },
        { "icon", ref "ReactionIcon", required, doc = "heart, smile, sad or angry." },
    },
    examples = {
        [[{"client_ts": "2023-08-02T22:02:53.375Z", "type": "reaction", "target": 123333, "user": "P456",
           "icon": "heart"}]],
    },
}

message "ClientDeleteAction" {
    dir = "in",
    doc = "Delete a message (which messages a user may delete is the handler's rule).",
    since = 1,
    fields = {
        { "client_ts", str { max = 64, format = "date-time" }, required,
          doc = "When the user acted, client clock (ISO-8601; at most 64 bytes, since the client writes it)." },
        { "type", literal "delete", required },
        { "target", int { min = 1 }, required, doc = "ID of the message to delete." },
    },
    examples = { [[{"client_ts": "2023-08-02T22:02:53.375Z", "type": "delete", "target": 123333}]] },
}

message "ClientMessageReadAction" {
    dir = "in",
    doc = [[Mark a message as read by the user (not in the document's saveActions
sketch, which lists message_read only among the server's actions: added so that
a client can report reads). Once per user and message: a repeat returns the
first one's ID.]],
    since = 1,
    fields = {
        { "client_ts", str { max = 64, format = "date-time" }, required,
          doc = "When the user read it, client clock (ISO-8601)." },
        { "type", literal "message_read", required },
        { "target", int { min = 1 }, required, doc = "ID of the message read." },
        { "user", str { min = 1, max = 64 }, required,
          doc = "Reader's user ID: the logged-in user's (the server checks)." },
    },
    examples = {
        [[{"client_ts": "2023-08-02T21:47:56.601Z", "type": "message_read", "target": 12345, "user": "P456"}]],
    },
}

-- Server to client: the items of getActions -----------------------------------

message "MessageAction" {
    dir = "out",
    doc = "A message, as stored.",
    since = 1,
    fields = {
        { "id", int { min = 1 }, required,
          doc = "Action ID: increasing, so that last_action_id and max_id order actions." },
        { "type", literal "message", required },
        { "user", str { min = 1, max = 64 }, required, doc = "Sender's user ID." },
        { "body", str { max = 16384 }, required, doc = "Message text." },
        { "recipients", array { str { min = 1, max = 64 }, max = 100 }, required,
          doc = "User IDs of a private message; empty for everyone." },
        { "target", int { min = 1 }, nullable, doc = "ID of the message this replies to, or null." },
        { "callout", array { str { min = 1, max = 64 }, max = 100 }, required,
          doc = "User IDs called out (mentioned) in the message; may be empty." },
        { "timestamp", timestamp "iso8601", required, doc = "When the server stored it (ISO-8601)." },
    },
    examples = {
        [[{"id": 12345, "type": "message", "user": "P123", "body": "Foo", "recipients": [], "target": 12333,
           "callout": ["123xyz", "P456"], "timestamp": "2023-08-02T21:47:51.102Z"}]],
        [[{"id": 12351, "type": "message", "user": "123XYZ", "body": "abcd", "recipients": ["P456"],
           "target": null, "callout": [], "timestamp": "2023-08-02T22:02:55.013Z"}]],
    },
}

message "DeleteAction" {
    dir = "out",
    doc = "A message was deleted.",
    since = 1,
    fields = {
        { "id", int { min = 1 }, required, doc = "Action ID." },
        { "type", literal "delete", required },
        { "target", int { min = 1 }, required, doc = "ID of the deleted message." },
        { "timestamp", timestamp "iso8601", required, doc = "When the server stored it (ISO-8601)." },
    },
    examples = {
        [[{"id": 12346, "type": "delete", "target": 12340, "timestamp": "2023-08-02T21:47:52.250Z"}]],
    },
}

message "NoticeAction" {
    dir = "out",
    doc = "A notice from the system or the therapist, e.g. that someone left.",
    since = 1,
    fields = {
        { "id", int { min = 1 }, required, doc = "Action ID." },
        { "type", literal "notice", required },
        { "body", str { max = 16384 }, required, doc = "Notice text." },
        { "sender", ref "NoticeSender", required, doc = "system or Therapist." },
        { "recipients", array { str { min = 1, max = 64 }, max = 100 }, required,
          doc = "User IDs it is for; empty for everyone." },
        { "timestamp", timestamp "iso8601", required, doc = "When the server stored it (ISO-8601)." },
    },
    examples = {
        [[{"id": 12347, "type": "notice", "body": "Foo has left the session", "sender": "system",
           "recipients": [], "timestamp": "2023-08-02T21:47:54.871Z"}]],
    },
}

message "MessageReadAction" {
    dir = "out",
    doc = "A user has read a message.",
    since = 1,
    fields = {
        { "id", int { min = 1 }, required, doc = "Action ID." },
        { "type", literal "message_read", required },
        { "target", int { min = 1 }, required, doc = "ID of the message read." },
        { "user", str { min = 1, max = 64 }, required, doc = "Reader's user ID." },
        { "timestamp", timestamp "iso8601", required, doc = "When the server stored it (ISO-8601)." },
    },
    examples = {
        [[{"id": 12348, "type": "message_read", "target": 12345, "user": "P456",
           "timestamp": "2023-08-02T21:47:56.697Z"}]],
    },
}

message "ReactionAction" {
    dir = "out",
    doc = [[A user reacted to a message. target is an integer like every other
message ID (the document's example shows the string "12345").]],
    since = 1,
    fields = {
        { "id", int { min = 1 }, required, doc = "Action ID." },
        { "type", literal "reaction", required },
        { "target", int { min = 1 }, required, doc = "ID of the message reacted to." },
        { "icon", ref "ReactionIcon", required, doc = "heart, smile, sad or angry." },
        { "user", str { min = 1, max = 64 }, required, doc = "Reacting user's ID." },
        { "timestamp", timestamp "iso8601", required, doc = "When the server stored it (ISO-8601)." },
    },
    examples = {
        [[{"id": 12349, "type": "reaction", "target": 12345, "icon": "heart", "user": "P456",
           "timestamp": "2023-08-02T21:47:56.697Z"}]],
    },
}

message "WhiteboardAction" {
    dir = "out",
    doc = "The session's whiteboard changed: the client reloads it.",
    since = 1,
    fields = {
        { "id", int { min = 1 }, required, doc = "Action ID." },
        { "type", literal "whiteboard", required },
        { "timestamp", timestamp "iso8601", required, doc = "When the server stored it (ISO-8601)." },
    },
    examples = { [[{"id": 12350, "type": "whiteboard", "timestamp": "2023-08-02T21:48:02.310Z"}]] },
}

message "UpdateAssessmentsAction" {
    dir = "out",
    doc = "The user's assessments changed: the client calls getTherapySessionAssessments again.",
    since = 1,
    fields = {
        { "id", int { min = 1 }, required, doc = "Action ID." },
        { "type", literal "update_assessments", required },
        { "timestamp", timestamp "iso8601", required, doc = "When the server stored it (ISO-8601)." },
    },
    examples = { [[{"id": 12352, "type": "update_assessments", "timestamp": "2023-08-02T21:49:10.004Z"}]] },
}

message "UpdateChatDetailsAction" {
    dir = "out",
    doc = "The session's details (metadata, participants) changed: the client calls getTherapySessionDetail again.",
    since = 1,
    fields = {
        { "id", int { min = 1 }, required, doc = "Action ID." },
        { "type", literal "update_chat_details", required },
        { "timestamp", timestamp "iso8601", required, doc = "When the server stored it (ISO-8601)." },
    },
    examples = { [[{"id": 12353, "type": "update_chat_details", "timestamp": "2023-08-02T21:49:11.520Z"}]] },
}

-- HTTP bodies -----------------------------------------------------------------

message "TherapyErrorResponse" {
    dir = "http",
    doc = [[Body of every error answer (HTTP 4xx), whatever the endpoint: result
is the error's text and error its name, from the channel's errors.]],
    since = 1,
    fields = {
        { "result", str { max = 1024 }, required, doc = "The error text, for people." },
        { "error", str { min = 1, max = 64 }, required, doc = "The error name, for programs (e.g. INVALID_CODE)." },
        { "retry_after", int { min = 1 }, optional,
          doc = "Seconds until the request may be repeated (CODE_RESEND_TOO_SOON, TOO_MANY_CODES)." },
    },
    examples = {
        [[{"result": "Please wait one minute before requesting a new code", "error": "CODE_RESEND_TOO_SOON",
           "retry_after": 42}]],
        [[{"result": "You are not allowed in this session", "error": "NOT_ALLOWED_IN_SESSION"}]],
    },
}

message "LoginRequest" {
    dir = "http",
    doc = [[Body of POST /api/therapy/login: ask for a one-time code by SMS.
Abuse rules (enforced by the server): a new code at most once a minute
(CODE_RESEND_TOO_SOON) and at most 3 codes per phone within any hour
(TOO_MANY_CODES), both answered with retry_after.]],
    since = 1,
    fields = {
        { "phone", str { min = 1, max = 32 }, required, doc = "Phone number as entered." },
        { "last_name", str { min = 1, max = 256 }, required,
          doc = "The second identifying field (the document: \"e.g. last name\")." },
    },
    examples = { [[{"phone": "+15555550123", "last_name": "Doe"}]] },
}

message "LoginResponse" {
    dir = "http",
    doc = [[Answer to login. The same whether or not phone and last name match a
user, so that the endpoint does not reveal who is registered; a code is sent
only when they do.]],
    since = 1,
    fields = {
        { "result", str { max = 1024 }, required, doc = "Description of the result." },
        { "resend_after", int { min = 0 }, required, doc = "Seconds until a new code may be requested (60)." },
    },
    examples = { [[{"result": "If the details match, a code has been sent by SMS", "resend_after": 60}]] },
}

message "VerifyCodeRequest" {
    dir = "http",
    doc = [[Body of POST /api/therapy/verifyCode: the 6-digit code from the SMS, for
the login pending in this browser's session. A valid code logs the user in
(the server stores user record ID, time of authentication and time of last
activity in the session); an invalid one ends the pending login (INVALID_CODE:
start over with login, which counts against the 3 codes per hour).]],
    since = 1,
    fields = {
        { "code", str { min = 6, max = 6, pattern = "^[0-9]{6}$" }, required,
          doc = "The 6 digits, as a string so that leading zeros survive." },
    },
    examples = { [[{"code": "042917"}]] },
}

message "VerifyCodeResponse" {
    dir = "http",
    doc = [[Answer to a valid code: the user is logged in, under a new session cookie
(the pre-login one is dropped). csrf_token goes in the X-CSRF-Token header of
every later POST.]],
    since = 1,
    fields = {
        { "result", str { max = 1024 }, required, doc = "Description of the result." },
        { "user", str { min = 1, max = 64 }, required, doc = "The logged-in user's ID, as used in actions." },
        { "csrf_token", str { min = 1, max = 128 }, required,
          doc = "The session's CSRF token: send it as X-CSRF-Token on every POST." },
    },
    examples = { [[{"result": "Logged in", "user": "P456",
                    "csrf_token": "0f3c9d2a7b1e4f6a8c5d2e9b7a1f3c4d6e8a0b2c4d6e8f0a1b3c5d7e9f1a2b3c"}]] },
}

message "SessionResponse" {
    dir = "http",
    doc = [[Answer to GET /api/therapy/session: who is logged in, for a page that
reloads (the cookie is HttpOnly, so the page cannot read it).]],
    since = 1,
    fields = {
        { "result", str { max = 1024 }, required, doc = "Description of the result." },
        { "user", str { min = 1, max = 64 }, required, doc = "The logged-in user's ID." },
        { "name", str { max = 256 }, required, doc = "The user's display name." },
        { "role", ref "ParticipantRole", required, doc = "therapist or participant." },
        { "csrf_token", str { min = 1, max = 128 }, required, doc = "The session's CSRF token (X-CSRF-Token)." },
        { "ts_id", int { min = 1 }, optional, doc = "The current therapy session, once one was entered." },
    },
    examples = { [[{"result": "ok", "user": "P456", "name": "Alex", "role": "participant",
                    "csrf_token": "0f3c9d2a7b1e4f6a8c5d2e9b7a1f3c4d6e8a0b2c4d6e8f0a1b3c5d7e9f1a2b3c",
                    "ts_id": 77}]] },
}

message "LogoutResponse" {
    dir = "http",
    doc = "Answer to logout: the session is gone server-side and its cookie cleared.",
    since = 1,
    fields = {
        { "result", str { max = 1024 }, required, doc = "Description of the result." },
    },
    examples = { [[{"result": "Logged out"}]] },
}

message "TherapySessionsResponse" {
    dir = "http",
    doc = [[Answer to GET /api/therapy/getTherapySessions: the therapy sessions the
user participates in, with their assessments (open ones carry a url). The
document's sketch wraps the key in [ ]; it is an object.]],
    since = 1,
    fields = {
        { "result", str { max = 1024 }, required, doc = "Description of the result." },
        { "therapy_sessions", array { ref "TherapySessionSummary", max = 1000 }, required,
          doc = "The user's therapy sessions, newest first." },
    },
    examples = {
        [[{"result": "ok", "therapy_sessions": [
            {"id": 77, "name": "Tuesday evening group", "date": "2023-08-01T18:00:00Z",
             "assessments": [
                {"name": "location", "status": "complete"},
                {"name": "post-session_survey", "status": "incomplete",
                 "url": "https://example.com/surveys/post-session?ts=77"}]}]}]],
    },
}

message "EnterTherapySessionRequest" {
    dir = "http",
    doc = [[Body of POST /api/therapy/enterTherapySession. If the user is a
participant, the session becomes the current therapy session of the server-side
session (for getActions and saveActions) and the user is recorded as present;
otherwise NOT_ALLOWED_IN_SESSION.]],
    since = 1,
    fields = {
        { "ts_id", int { min = 1 }, required, doc = "Therapy session ID." },
    },
    examples = { [[{"ts_id": 77}]] },
}

message "EnterTherapySessionResponse" {
    dir = "http",
    doc = "Answer to enterTherapySession: the user is in.",
    since = 1,
    fields = {
        { "result", str { max = 1024 }, required, doc = "Description of the result." },
        { "ts_id", int { min = 1 }, required, doc = "The current therapy session." },
    },
    examples = { [[{"result": "ok", "ts_id": 77}]] },
}

message "TherapySessionDetailRequest" {
    dir = "http",
    doc = "Body of POST /api/therapy/getTherapySessionDetail (getTherapySessionDetail(ts_id)).",
    since = 1,
    fields = {
        { "ts_id", int { min = 1 }, required, doc = "Therapy session ID." },
    },
    examples = { [[{"ts_id": 77}]] },
}

message "TherapySessionDetailResponse" {
    dir = "http",
    doc = "Answer to getTherapySessionDetail: metadata and participants.",
    since = 1,
    fields = {
        { "result", str { max = 1024 }, required, doc = "Description of the result." },
        { "metadata", ref "TherapySessionMetadata", required, doc = "The session." },
        { "participants", array { ref "Participant", max = 100 }, required, doc = "Everyone in it." },
    },
    examples = {
        [[{"result": "ok",
           "metadata": {"id": 77, "name": "Tuesday evening group", "date": "2023-08-01T18:00:00Z"},
           "participants": [{"id": "123XYZ", "name": "Dr. Rivera", "role": "therapist"},
                            {"id": "P123", "name": "Sam", "role": "participant"},
                            {"id": "P456", "name": "Alex", "role": "participant"}]}]],
    },
}

message "TherapySessionAssessmentsRequest" {
    dir = "http",
    doc = "Body of POST /api/therapy/getTherapySessionAssessments (getTherapySessionAssessments(ts_id, p_id)).",
    since = 1,
    fields = {
        { "ts_id", int { min = 1 }, required, doc = "Therapy session ID." },
        { "p_id", str { min = 1, max = 64 }, required, doc = "Participant (user) ID." },
    },
    examples = { [[{"ts_id": 77, "p_id": "P456"}]] },
}

message "TherapySessionAssessmentsResponse" {
    dir = "http",
    doc = "Answer to getTherapySessionAssessments: name, status and, if not complete, url.",
    since = 1,
    fields = {
        { "result", str { max = 1024 }, required, doc = "Description of the result." },
        { "assessments", array { ref "Assessment", max = 64 }, required, doc = "The participant's assessments." },
    },
    examples = {
        [[{"result": "ok", "assessments": [
            {"name": "location", "status": "complete"},
            {"name": "post-session_survey", "status": "incomplete",
             "url": "https://example.com/surveys/post-session?ts=77"}]}]],
    },
}

message "GetActionsRequest" {
    dir = "http",
    doc = "Body of POST /api/therapy/getActions (getActions(last_action_id)), for the current therapy session.",
    since = 1,
    fields = {
        { "last_action_id", int { min = 0 }, required,
          doc = "The max_id of the previous answer; 0 on the first call." },
        { "wait", int { min = 0, max = 25 }, optional,
          doc = [[Long poll (not in the document): when nothing is newer than
last_action_id, hold the request up to this many seconds and answer as soon as
an action arrives. 0 or absent: answer at once, as the 5-second poll expects.]] },
    },
    examples = { [[{"last_action_id": 12344}]], [[{"last_action_id": 12344, "wait": 25}]] },
}

message "GetActionsResponse" {
    dir = "http",
    doc = [[Answer to getActions: every action of the current therapy session with
an id above last_action_id that the user may see, oldest first, at most 1000
(the next poll gets the rest).]],
    since = 1,
    fields = {
        { "result", str { max = 1024 }, required, doc = "Description of the result." },
        { "server_time", int { min = 0 }, required,
          doc = [[Server clock in microseconds since the Unix epoch (the document's
"100us"), so that the client can relate client_ts to server time.]] },
        { "max_id", int { min = 0 }, required,
          doc = [[The highest action ID looked at (the last in actions, or a later one the
user may not see), or last_action_id when there is none: the next call's last_action_id.]] },
        { "actions", array { union "out", max = 1000 }, required, doc = "The actions, oldest first." },
    },
    examples = {
        [[{"result": "ok", "server_time": 1691012880123456, "max_id": 12353, "actions": [
            {"id": 12345, "type": "message", "user": "P123", "body": "Foo", "recipients": [], "target": 12333,
             "callout": ["123xyz", "P456"], "timestamp": "2023-08-02T21:47:51.102Z"},
            {"id": 12346, "type": "delete", "target": 12340, "timestamp": "2023-08-02T21:47:52.250Z"},
            {"id": 12347, "type": "notice", "body": "Foo has left the session", "sender": "system",
             "recipients": [], "timestamp": "2023-08-02T21:47:54.871Z"},
            {"id": 12348, "type": "message_read", "target": 12345, "user": "P456",
             "timestamp": "2023-08-02T21:47:56.697Z"},
            {"id": 12349, "type": "reaction", "target": 12345, "icon": "heart", "user": "P456",
             "timestamp": "2023-08-02T21:47:56.697Z"},
            {"id": 12350, "type": "whiteboard", "timestamp": "2023-08-02T21:48:02.310Z"},
            {"id": 12352, "type": "update_assessments", "timestamp": "2023-08-02T21:49:10.004Z"},
            {"id": 12353, "type": "update_chat_details", "timestamp": "2023-08-02T21:49:11.520Z"}]}]],
        [[{"result": "ok", "server_time": 1691013000000000, "max_id": 12353, "actions": []}]],
    },
}

message "SaveActionsResponse" {
    dir = "http",
    doc = [[Answer to saveActions. The batch is all or nothing: every item is
checked first and all are stored in one transaction. ids gives the action ID
stored for each item, in request order; the stored actions come back to every
client (the sender too) through getActions.]],
    since = 1,
    fields = {
        { "result", str { max = 1024 }, required, doc = "Description of the result." },
        { "ids", array { int { min = 1 }, max = 100 }, required, doc = "Action ID of each saved item, in order." },
        { "max_id", int { min = 0 }, required, doc = "The highest action ID of the session after saving." },
    },
    examples = {
        [[{"result": "ok", "ids": [123334, 123335, 123336, 123337], "max_id": 123337}]],
    },
}

enumeration "SignalType" {
    doc = "The reload signals an operator may send (actions without data).",
    since = 1,
    values = { "whiteboard", "update_assessments", "update_chat_details" },
}

message "OperatorNoticeRequest" {
    dir = "http",
    doc = "Body of POST /api/therapy/operator/notice: a notice into a therapy session.",
    since = 1,
    fields = {
        { "ts_id", int { min = 1 }, required, doc = "Therapy session ID." },
        { "body", str { min = 1, max = 16384 }, required, doc = "Notice text, e.g. \"Foo has left the session\"." },
        { "sender", ref "NoticeSender", optional, doc = "system (default) or Therapist." },
        { "recipients", array { str { min = 1, max = 64 }, max = 100 }, optional,
          doc = "User IDs it is for; absent or empty for everyone." },
    },
    examples = { [[{"ts_id": 77, "body": "Foo has left the session", "sender": "system"}]] },
}

message "OperatorSignalRequest" {
    dir = "http",
    doc = "Body of POST /api/therapy/operator/signal: tell a session's clients to reload something.",
    since = 1,
    fields = {
        { "ts_id", int { min = 1 }, required, doc = "Therapy session ID." },
        { "type", ref "SignalType", required, doc = "whiteboard, update_assessments or update_chat_details." },
        { "recipients", array { str { min = 1, max = 64 }, max = 100 }, optional,
          doc = "User IDs it is for; absent or empty for everyone." },
    },
    examples = { [[{"ts_id": 77, "type": "whiteboard"}]] },
}

message "OperatorAssessmentRequest" {
    dir = "http",
    doc = [[Body of POST /api/therapy/operator/assessment: set a participant's
assessment (added or changed); the participant gets update_assessments.]],
    since = 1,
    fields = {
        { "ts_id", int { min = 1 }, required, doc = "Therapy session ID." },
        { "p_id", str { min = 1, max = 64 }, required, doc = "Participant (user) ID." },
        { "name", str { min = 1, max = 256 }, required, doc = "Assessment name." },
        { "status", ref "AssessmentStatus", required, doc = "complete or incomplete." },
        { "url", str { min = 1, max = 2048, format = "uri" }, optional,
          doc = "Where to complete it (kept for incomplete assessments)." },
    },
    examples = { [[{"ts_id": 77, "p_id": "P456", "name": "post-session_survey", "status": "complete"}]] },
}

message "OperatorActionResponse" {
    dir = "http",
    doc = "Answer to an operator endpoint: the stored action's ID, after the commit.",
    since = 1,
    fields = {
        { "result", str { max = 1024 }, required, doc = "Description of the result." },
        { "id", int { min = 1 }, required, doc = "The action's ID." },
    },
    examples = { [[{"result": "ok", "id": 12354}]] },
}

params "TherapyStreamQuery" {
    doc = [[Query of the WebSocket /api/therapy/stream (beyond the document):
getActions as a stream. Its frames are GetActionsResponse (one action each
after the backlog); a refused upgrade answers TherapyErrorResponse.]],
    since = 1,
    fields = {
        { "last_action_id", int { min = 0 }, optional,
          doc = "Send the actions above this ID first (getActions' cursor); 0 when absent." },
    },
}

-- What the server sends to SMS senders (therapy_sms.c) ----------------------

message "SmsFileLine" {
    dir = "http",
    doc = [[One line of the development sender's file (--sms file:PATH): an SMS that
would have been sent. The body holds the code, so that a developer can log in.]],
    since = 1,
    fields = {
        { "to", str { min = 1, max = 32 }, required, doc = "Phone number, E.164." },
        { "body", str { min = 1, max = 1600 }, required, doc = "The SMS text." },
    },
    examples = { [[{"to": "+15555550123", "body": "Your Switchboard code is 042917. It expires in 10 minutes."}]] },
}

message "SmsWebhookRequest" {
    dir = "http",
    doc = [[Body of the POST to --sms webhook:URL. Signed: X-Switchboard-Timestamp
(Unix seconds) and X-Switchboard-Signature: sha256=HEX, the HMAC-SHA256 of
"TIMESTAMP.BODY" under --sms-webhook-secret. Retried with backoff until a 2xx;
id is the same on every try, so that the receiver can drop repeats.]],
    since = 1,
    fields = {
        { "id", str { min = 1, max = 64 }, required, doc = "This SMS's ID, the same on every retry." },
        { "to", str { min = 1, max = 32 }, required, doc = "Phone number, E.164." },
        { "body", str { min = 1, max = 1600 }, required, doc = "The SMS text." },
        { "created_at", timestamp "iso8601", required, doc = "When the server queued it." },
    },
    examples = { [[{"id": "sms_5f1c2a9e0b7d4c3a", "to": "+15555550123",
                    "body": "Your Switchboard code is 042917. It expires in 10 minutes.",
                    "created_at": "2023-08-02T21:47:51.102Z"}]] },
}

-- Endpoints -------------------------------------------------------------------

endpoint "Login" {
    doc = "Request a one-time code by SMS (1 per minute, 3 per hour; see LoginRequest).",
    since = 1,
    method = "POST",
    path = "/api/therapy/login",
    auth = false,
    request = ref "LoginRequest",
    response = ref "LoginResponse",
    errors = { "CODE_RESEND_TOO_SOON", "TOO_MANY_CODES", "RATE_LIMITED", "CSRF_FAILED", "UNAVAILABLE" },
}

endpoint "VerifyCode" {
    doc = "Check the 6-digit code and create the server-side session.",
    since = 1,
    method = "POST",
    path = "/api/therapy/verifyCode",
    auth = false,
    request = ref "VerifyCodeRequest",
    response = ref "VerifyCodeResponse",
    errors = { "INVALID_CODE", "TOO_MANY_ATTEMPTS", "RATE_LIMITED", "CSRF_FAILED", "UNAVAILABLE" },
}

endpoint "GetSession" {
    doc = "Who is logged in, with the CSRF token: for a page that reloads.",
    since = 1,
    method = "GET",
    path = "/api/therapy/session",
    response = ref "SessionResponse",
    errors = { "AUTH_REQUIRED", "UNAVAILABLE" },
}

endpoint "Logout" {
    doc = "End the session server-side and clear its cookie.",
    since = 1,
    method = "POST",
    path = "/api/therapy/logout",
    response = ref "LogoutResponse",
    errors = { "AUTH_REQUIRED", "CSRF_FAILED", "UNAVAILABLE" },
}

endpoint "GetTherapySessions" {
    doc = "The home page: the user's therapy sessions and their assessments.",
    since = 1,
    method = "GET",
    path = "/api/therapy/getTherapySessions",
    response = ref "TherapySessionsResponse",
    errors = { "AUTH_REQUIRED", "UNAVAILABLE" },
}

endpoint "EnterTherapySession" {
    doc = "Enter a therapy session: it becomes the session's current one.",
    since = 1,
    method = "POST",
    path = "/api/therapy/enterTherapySession",
    request = ref "EnterTherapySessionRequest",
    response = ref "EnterTherapySessionResponse",
    errors = { "AUTH_REQUIRED", "NOT_ALLOWED_IN_SESSION", "CSRF_FAILED", "UNAVAILABLE" },
}

endpoint "GetTherapySessionDetail" {
    doc = "getTherapySessionDetail(ts_id): metadata and participants.",
    since = 1,
    method = "POST",
    path = "/api/therapy/getTherapySessionDetail",
    request = ref "TherapySessionDetailRequest",
    response = ref "TherapySessionDetailResponse",
    errors = { "AUTH_REQUIRED", "NOT_ALLOWED_IN_SESSION", "CSRF_FAILED", "UNAVAILABLE" },
}

endpoint "GetTherapySessionAssessments" {
    doc = "getTherapySessionAssessments(ts_id, p_id): the participant's assessments.",
    since = 1,
    method = "POST",
    path = "/api/therapy/getTherapySessionAssessments",
    request = ref "TherapySessionAssessmentsRequest",
    response = ref "TherapySessionAssessmentsResponse",
    errors = { "AUTH_REQUIRED", "NOT_ALLOWED_IN_SESSION", "CSRF_FAILED", "UNAVAILABLE" },
}

endpoint "GetActions" {
    doc = "getActions(last_action_id): the poll, every 5 seconds by default.",
    since = 1,
    method = "POST",
    path = "/api/therapy/getActions",
    long_poll = true,
    request = ref "GetActionsRequest",
    response = ref "GetActionsResponse",
    errors = { "AUTH_REQUIRED", "NOT_ALLOWED_IN_SESSION", "NO_CURRENT_SESSION", "CSRF_FAILED", "UNAVAILABLE" },
}

endpoint "SaveActions" {
    doc = [[saveActions(payloads): the client's queued actions, sent with the poll.
The body is the JSON array itself: at most 100 items, each one of the inbound
union (ClientMessageAction, ClientReactionAction, ClientDeleteAction,
ClientMessageReadAction).]],
    since = 1,
    method = "POST",
    path = "/api/therapy/saveActions",
    request = array { union "in", max = 100 },
    response = ref "SaveActionsResponse",
    errors = { "AUTH_REQUIRED", "NOT_ALLOWED_IN_SESSION", "NO_CURRENT_SESSION", "CSRF_FAILED",
               "ACTION_REFUSED", "UNAVAILABLE" },
}

-- Operator endpoints: "Authorization: Bearer <operator API key>" (switchboard
-- apikey add), checked by therapy_http_authenticate_operator.

endpoint "OperatorNotice" {
    doc = "Post a notice (system or Therapist) into a therapy session.",
    since = 1,
    method = "POST",
    path = "/api/therapy/operator/notice",
    auth = "operator",
    request = ref "OperatorNoticeRequest",
    response = ref "OperatorActionResponse",
    errors = { "AUTH_REQUIRED", "NOT_FOUND", "UNAVAILABLE" },
}

endpoint "OperatorSignal" {
    doc = "Send whiteboard, update_assessments or update_chat_details to a therapy session.",
    since = 1,
    method = "POST",
    path = "/api/therapy/operator/signal",
    auth = "operator",
    request = ref "OperatorSignalRequest",
    response = ref "OperatorActionResponse",
    errors = { "AUTH_REQUIRED", "NOT_FOUND", "UNAVAILABLE" },
}

endpoint "OperatorAssessment" {
    doc = "Add or change a participant's assessment; the participant gets update_assessments.",
    since = 1,
    method = "POST",
    path = "/api/therapy/operator/assessment",
    auth = "operator",
    request = ref "OperatorAssessmentRequest",
    response = ref "OperatorActionResponse",
    errors = { "AUTH_REQUIRED", "NOT_FOUND", "UNAVAILABLE" },
}
