-- schema/core.lua: Switchboard's own HTTP endpoints, shared by every
-- protocol: health and the error body of the transport itself (unknown
-- path, wrong method, missing Content-Length, body too large).

channel "core" {
    doc = [[The server's own endpoints. GET /metrics is Prometheus text (format
0.0.4), not JSON, so it has no message here; docs/operations.md lists its series.]],
    since = 1,
    transport = "http",
    http_errors = { body = ref "HttpError", text = "error" },
}

enumeration "HealthStatus" {
    doc = [[ok: the database answers and the last write reached it (200).
degraded: the last write failed (a full disk or quota, a database locked by
another process, an I/O error) or the database does not answer (503).]],
    since = 1,
    values = { "ok", "degraded" },
}

message "Health" {
    dir = "http",
    doc = [[GET /healthz: 200 when the server is up, its database answers and its
last write was committed; 503 with status "degraded" and a reason otherwise.
The state clears by itself: with the next commit that succeeds, or (a locked
database) as soon as /healthz finds the lock free (docs/operations.md).]],
    since = 1,
    fields = {
        { "status", ref "HealthStatus", required, doc = "\"ok\" with 200, \"degraded\" with 503." },
        { "reason", str { max = 256 }, optional,
          doc = "Only when degraded: what failed, e.g. \"commit failed: database or disk is full\"." },
        { "version", str { max = 32 }, required, doc = "Switchboard's version." },
        { "connections", int { min = 0 }, required, doc = "Open WebSocket connections." },
        { "uptime_s", int { min = 0 }, required, doc = "Seconds since the server started." },
    },
    examples = {
        [[{"status": "ok", "version": "0.1.0", "connections": 3, "uptime_s": 42}]],
        [[{"status": "degraded", "reason": "begin failed: database is locked", "version": "0.1.0", "connections": 3, "uptime_s": 42}]],
    },
}

message "HttpError" {
    dir = "http",
    doc = [[The body of an error answer from the transport: 404 unknown path,
405 wrong method, 411 no Content-Length, 413 body over the limit, 503 out of memory.]],
    since = 1,
    fields = {
        { "error", str { max = 256 }, required, doc = "What went wrong." },
    },
    examples = { [[{"error": "not found"}]], [[{"error": "Content-Length required"}]] },
}

endpoint "Healthz" {
    doc = "Liveness and readiness.",
    since = 1,
    method = "GET",
    path = "/healthz",
    auth = false,
    response = ref "Health",
    errors = {},
}
