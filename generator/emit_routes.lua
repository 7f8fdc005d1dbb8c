-- emit_routes.lua: the HTTP route adapters of a channel's endpoints,
-- c/<channel>_routes.c (prototypes in c/<channel>_handlers.h, emit_dispatch.lua).
--
-- For each endpoint, one static function of the `handle` type of
-- sb_http_handler (runtime/rt.h) that, in this order:
--   (a) authenticates (unless auth = false) with the hand-written
--       <channel>_http_authenticate (auth = "NAME": _authenticate_NAME); on
--       failure answers http_errors.auth_error, or the -CODE it returned;
--   (b) reads path_params from req->params, (c) the query from req->query,
--   (d) the body, when the endpoint has a request; any of them failing
--       answers http_errors.invalid_error, its text followed by the parser's
--       "PATH: REASON";
--   (e) calls the handler <channel>_on_<endpoint>, which returns an HTTP
--       status 200..299 (the response is written), SB_HTTP_DEFERRED (nothing
--       is written: <channel>_<endpoint>_answer completes it later), or
--       -<CHANNEL>_ERROR_<NAME> for one of the endpoint's errors (the error
--       body is written with its status, its text followed by
--       ctx->http_detail when the handler set it). Anything else is a bug of
--       the handler: 500, and a log line.
-- A long_poll endpoint also gets on_timeout and on_abort adapters, calling
-- <channel>_on_<endpoint>_timeout and _abort.
-- Plus the table <channel>_http_routes[] and <channel>_routes_register().
--
-- Responses are written with runtime/http.c (in sb_runtime, libc only), so
-- that the adapters can be tested without the server.

local text = require("text")
local names = require("names")

local emit = {}

local function snake(ep) return names.snake(ep.name) end

-- What the handler of an endpoint takes, in order (also used by emit_dispatch).
function emit.handler_params(ch, ep)
    local ps = { "struct sb_ctx *ctx" }
    if ep.path_params then ps[#ps + 1] = "const " .. ep.path_params.c_name .. " *path" end
    if ep.query then ps[#ps + 1] = "const " .. ep.query.c_name .. " *query" end
    if ep.request then ps[#ps + 1] = "const " .. ep.request.c_name .. " *req" end
    ps[#ps + 1] = ep.response.c_name .. " *resp"
    ps[#ps + 1] = ch.http_errors.body.c_name .. " *err"
    return table.concat(ps, ", ")
end

function emit.handler_name(ch, ep)
    return ch.name .. "_on_" .. snake(ep)
end

function emit.needs_auth(ch)
    for _, ep in ipairs(ch.endpoints) do
        if ep.auth then return true end
    end
    return false
end

-- The hand-written hook that authenticates an endpoint: the channel's
-- <channel>_http_authenticate, or <channel>_http_authenticate_<name> for
-- auth = "<name>" (e.g. operator endpoints checked by API key).
function emit.auth_hook(ch, ep)
    return ch.name .. "_http_authenticate" .. (ep.auth_hook and ("_" .. ep.auth_hook) or "")
end

-- The distinct hooks of a channel, in endpoint order.
local function auth_hooks(ch)
    local hooks, seen = {}, {}
    for _, ep in ipairs(ch.endpoints) do
        if ep.auth then
            local n = emit.auth_hook(ch, ep)
            if not seen[n] then seen[n] = true; hooks[#hooks + 1] = n end
        end
    end
    return hooks
end

-- The prototypes that go into <channel>_handlers.h.
function emit.prototypes(h, ch)
    local he = ch.http_errors
    h:line("/* HTTP endpoints. Each handler returns an HTTP status 200..299 (resp is")
    h:line(" * written), SB_HTTP_DEFERRED (answer later with the endpoint's _answer),")
    h:line(" * or -%s_ERROR_<NAME>, one of the endpoint's errors (the error body is", ch.name:upper())
    h:line(" * written with its status; *err starts zeroed, for extra fields). */")
    for _, ep in ipairs(ch.endpoints) do
        local errs = {}
        for _, e in ipairs(ep.errors) do errs[#errs + 1] = e.name .. " " .. e.status end
        h:line("/* %s %s: %s", ep.method, ep.path, text.c_comment(ep.doc))
        h:line(" * Errors: %s. */", #errs > 0 and table.concat(errs, ", ") or "none")
        h:line("int %s(%s);", emit.handler_name(ch, ep), emit.handler_params(ch, ep))
        if ep.long_poll then
            h:line("/* %s is a long poll: the handler may hold it (sb_rt_defer, SB_HTTP_DEFERRED).", ep.name)
            h:line(" * _timeout answers it when the time has run out (returns like the handler);")
            h:line(" * _abort: the client went away before an answer. */")
            h:line("int %s_timeout(struct sb_ctx *ctx, uint64_t request, %s *resp, %s *err);",
                   emit.handler_name(ch, ep), ep.response.c_name, ch.http_errors.body.c_name)
            h:line("void %s_abort(struct sb_ctx *ctx, uint64_t request);", emit.handler_name(ch, ep))
        end
    end
    h:line("")
    for _, hook in ipairs(auth_hooks(ch)) do
        h:line("/* Called first by every endpoint with auth: 0 when the request is")
        h:line(" * authenticated (the hook keeps the session itself); -1, and the endpoint")
        h:line(" * answers %s; or -CODE, one of the endpoint's errors (a store that could", he.auth_error.name)
        h:line(" * not be read: its unavailable error). ctx->http_detail (optional) follows")
        h:line(" * the error's text. Hand-written. */")
        h:line("int %s(struct sb_ctx *ctx, const struct sb_http_request *req);", hook)
        h:line("")
    end
    h:line("/* Deferred answers: status 200..299 writes resp; -%s_ERROR_<NAME> writes", ch.name:upper())
    h:line(" * that error's body (resp may be NULL). Queued with sb_outbox_http(). */")
    for _, ep in ipairs(ch.endpoints) do
        h:line("void %s_%s_answer(struct sb_outbox *o, uint64_t request, int status, const %s *resp);",
               ch.name, snake(ep), ep.response.c_name)
    end
    h:line("")
    h:line("/* The routes (c/%s_routes.c): one sb_http_handler per endpoint, and their", ch.name)
    h:line(" * registration with app and storage_error set on each. 0, or -1 and err. */")
    h:line("#ifdef SB_RT_H /* an array needs the complete type: include rt.h first */")
    h:line("extern const sb_http_handler %s_http_routes[];", ch.name)
    h:line("#endif")
    h:line("extern const size_t %s_http_routes_count;", ch.name)
    h:line("/* The channel's error answers, for sb_http_answer_error (http.h): a")
    h:line(" * handler's own answers outside an endpoint (a storage failure). */")
    h:line("extern const struct sb_http_errors *const %s_http_errors;", ch.name)
    h:line("int %s_routes_register(struct sb_rt *rt, void *app, const struct sb_failure *storage_error,",
           ch.name)
    h:line("                        char *err, size_t err_size);")
end

local function emit_channel(ch)
    local he = ch.http_errors
    local body = he.body.c_name
    local up = ch.name:upper()
    local w = text.writer()
    local src = ch.file:match("[^/]*/[^/]*$") or ch.file
    w:line(text.banner(src))
    w:line("/* HTTP route adapters of channel %s: see generator/emit_routes.lua. */", ch.name)
    w:line("#include <string.h>")
    w:line("")
    w:line("#include \"rt.h\" /* first: its http.h types */")
    w:line("#include \"ctx.h\"")
    w:line("#include \"%s_handlers.h\"", ch.name)
    w:line("")
    local any_params = false
    for _, ep in ipairs(ch.endpoints) do
        if ep.path_params or ep.query then any_params = true end
    end
    if any_params then
        w:line("static const sb_query no_params; /* a route without {parameters}, a URL without a query */")
        w:line("")
    end
    -- The one channel-typed piece: how its error body is written. The rest of
    -- the error answers (status, text + detail, the 500 for a handler's bug)
    -- is the runtime's (runtime/http.c, sb_http_answer_error / _bug).
    w:line("/* The channel's error body: %s. */", body)
    w:line("static void write_error(sb_buf *b, void *err, sb_str text, sb_str name)")
    w:line("{")
    w:line("    %s *e = err;", body)
    w:line("    e->%s = text;", he.text_field.c_name)
    if he.name then
        w:line("    e->%s = name;", he.name_field.c_name)
    else
        w:line("    (void)name;")
    end
    w:line("    %s_write(b, e);", body)
    w:line("}")
    w:line("")
    w:line("/* What a handler or hook adds to an error's text (ctx->http_detail). */")
    w:line("#define DETAIL(ctx) ((ctx)->http_detail ? (ctx)->http_detail : \"\")")
    w:line("")
    w:line("static const sb_http_errors errors = {\"%s\", %s_errors, %s_ERROR_COUNT, write_error, sizeof(%s)};",
           ch.name, ch.name, up, body)
    w:line("const struct sb_http_errors *const %s_http_errors = &errors;", ch.name)
    w:line("")

    local rows = {}
    for _, ep in ipairs(ch.endpoints) do
        local s = ch.name .. "_" .. snake(ep)
        local resp_t = ep.response.c_name
        -- which error codes the endpoint declares, as a bit mask (codes < 64)
        local bits = {}
        for _, e in ipairs(ep.errors) do bits[#bits + 1] = string.format("SB_HTTP_ERROR_BIT(%s_ERROR_%s)", up, e.name) end
        w:line("/* %s %s */", ep.method, ep.path)
        w:line("static const uint64_t %s_declares = %s;", s, #bits > 0 and table.concat(bits, " | ") or "0")
        w:line("")
        w:line("static int %s_handle(struct sb_ctx *ctx, const sb_http_request *req, sb_http_response *resp)", s)
        w:line("{")
        w:indent()
        w:line("%s err;", body)
        w:line("memset(&err, 0, sizeof err);")
        if ep.auth then
            w:line("int auth = %s(ctx, req);", emit.auth_hook(ch, ep))
            w:line("if (auth != 0)")
            w:line("    return sb_http_answer_error(resp, &errors,")
            w:line("                                auth < -1 && sb_http_declared(%s_declares, -auth) ? -auth : %s_ERROR_%s,",
                   s, up, he.auth_error.name)
            w:line("                                &err, DETAIL(ctx));")
        end
        local args = { "ctx" }
        local parses = ep.path_params or ep.query or ep.request
        if parses then w:line("sb_reader r;") end
        if ep.path_params or ep.query then w:line("sb_reader_init(&r, \"\", 0, ctx->arena, NULL);") end
        local inv = parses and string.format("sb_http_answer_error(resp, &errors, %s_ERROR_%s, &err, r.err_msg)",
                                             up, he.invalid_error.name)
        if ep.path_params then
            w:line("%s path;", ep.path_params.c_name)
            w:line("if (!%s_from_query(&r, req->params ? req->params : &no_params, &path))", ep.path_params.c_name)
            w:line("    return %s;", inv)
            args[#args + 1] = "&path"
        end
        if ep.query then
            w:line("%s query;", ep.query.c_name)
            w:line("if (!%s_from_query(&r, req->query ? req->query : &no_params, &query))", ep.query.c_name)
            w:line("    return %s;", inv)
            args[#args + 1] = "&query"
        end
        if ep.request then
            w:line("%s body;", ep.request.c_name)
            w:line("memset(&body, 0, sizeof body);")
            if ep.optional_body then
                -- an empty body (none sent) reads as {}
                w:line("if (req->body_len == 0)")
                w:line("    sb_reader_init(&r, \"{}\", 2, ctx->arena, NULL);")
                w:line("else")
                w:line("    sb_reader_init(&r, req->body, req->body_len, ctx->arena, NULL);")
            else
                w:line("sb_reader_init(&r, req->body ? req->body : \"\", req->body_len, ctx->arena, NULL);")
            end
            w:line("if (!%s_parse(&r, &body) || !sb_read_end(&r))", ep.request.c_name)
            w:line("    return %s;", inv)
            args[#args + 1] = "&body"
        end
        w:line("%s out;", resp_t)
        w:line("memset(&out, 0, sizeof out);")
        args[#args + 1] = "&out"
        args[#args + 1] = "&err"
        w:line("int rc = %s(%s);", emit.handler_name(ch, ep), table.concat(args, ", "))
        w:line("if (rc >= 200 && rc <= 299) {")
        w:line("    sb_http_start(resp, rc);")
        w:line("    %s_write(&resp->body, &out);", resp_t)
        w:line("    return SB_HTTP_ANSWERED;")
        w:line("}")
        w:line("if (rc == SB_HTTP_DEFERRED)")
        w:line("    return SB_HTTP_DEFERRED;")
        w:line("if (sb_http_declared(%s_declares, -rc))", s)
        w:line("    return sb_http_answer_error(resp, &errors, -rc, &err, DETAIL(ctx));")
        w:line("return sb_http_answer_bug(resp, &errors, &err, %s, rc);", text.c_string(ep.name))
        w:dedent()
        w:line("}")
        w:line("")
        local extra = ""
        if ep.long_poll then
            w:line("static void %s_timeout(struct sb_ctx *ctx, uint64_t request, sb_http_response *resp)", s)
            w:line("{")
            w:line("    %s err;", body)
            w:line("    memset(&err, 0, sizeof err);")
            w:line("    %s out;", resp_t)
            w:line("    memset(&out, 0, sizeof out);")
            w:line("    int rc = %s_timeout(ctx, request, &out, &err);", emit.handler_name(ch, ep))
            w:line("    if (rc >= 200 && rc <= 299) {")
            w:line("        sb_http_start(resp, rc);")
            w:line("        %s_write(&resp->body, &out);", resp_t)
            w:line("    } else if (sb_http_declared(%s_declares, -rc)) {", s)
            w:line("        sb_http_answer_error(resp, &errors, -rc, &err, DETAIL(ctx));")
            w:line("    } else {")
            w:line("        sb_http_answer_bug(resp, &errors, &err, %s, rc);", text.c_string(ep.name))
            w:line("    }")
            w:line("}")
            w:line("")
            w:line("static void %s_abort(struct sb_ctx *ctx, uint64_t request)", s)
            w:line("{")
            w:line("    %s_abort(ctx, request);", emit.handler_name(ch, ep))
            w:line("}")
            w:line("")
            extra = string.format(", .on_timeout = %s_timeout, .on_abort = %s_abort", s, s)
        end
        w:line("void %s_answer(struct sb_outbox *o, uint64_t request, int status, const %s *resp)", s, resp_t)
        w:line("{")
        w:line("    sb_http_response r;")
        w:line("    sb_http_response_init(&r);")
        w:line("    %s err;", body)
        w:line("    memset(&err, 0, sizeof err);")
        w:line("    if (status >= 200 && status <= 299 && resp) {")
        w:line("        sb_http_start(&r, status);")
        w:line("        %s_write(&r.body, resp);", resp_t)
        w:line("    } else if (sb_http_declared(%s_declares, -status)) {", s)
        w:line("        sb_http_answer_error(&r, &errors, -status, &err, \"\");")
        w:line("    } else {")
        w:line("        sb_http_answer_bug(&r, &errors, &err, %s, status);", text.c_string(ep.name))
        w:line("    }")
        w:line("    sb_outbox_http(o, request, &r);")
        w:line("}")
        w:line("")
        rows[#rows + 1] = string.format("    {.method = %s, .path = %s, .channel = %s, .handle = %s_handle, .errors = &errors%s},",
                                        text.c_string(ep.method), text.c_string(ep.path),
                                        text.c_string(ch.name), s, extra)
    end
    w:line("const sb_http_handler %s_http_routes[] = {", ch.name)
    for _, r in ipairs(rows) do w:line("%s", r) end
    w:line("};")
    w:line("const size_t %s_http_routes_count = sizeof %s_http_routes / sizeof %s_http_routes[0];",
           ch.name, ch.name, ch.name)
    w:line("")
    w:line("int %s_routes_register(sb_rt *rt, void *app, const sb_failure *storage_error, char *err,", ch.name)
    w:line("                        size_t err_size)")
    w:line("{")
    w:line("    for (size_t i = 0; i < %s_http_routes_count; i++) {", ch.name)
    w:line("        sb_http_handler h = %s_http_routes[i];", ch.name)
    w:line("        h.app = app;")
    w:line("        if (storage_error)")
    w:line("            h.storage_error = *storage_error;")
    w:line("        if (sb_rt_add_http(rt, &h, err, err_size) != 0)")
    w:line("            return -1;")
    w:line("    }")
    w:line("    return 0;")
    w:line("}")
    return { path = "c/" .. ch.name .. "_routes.c", text = w:text() }
end

function emit.emit(model)
    local out = {}
    for _, ch in ipairs(model.channels) do
        if #ch.endpoints > 0 then out[#out + 1] = emit_channel(ch) end
    end
    return out
end

return emit
