-- emit_dispatch.lua: handler prototypes and dispatch, per channel.
--
-- c/<channel>_handlers.h declares one function per inbound message (and per
-- HTTP endpoint, and per action served in C: emit_actions.lua);
-- handlers/<channel>.c defines them. c/<channel>_dispatch.c
-- calls them by the union's kind. A handler that is declared but not written
-- fails the link of any program that includes the dispatch, which is the
-- point: the schema says what must be handled.

local text = require("text")
local names = require("names")
local routes = require("emit_routes")
local actions = require("emit_actions")

local emit = {}

local function handler_name(ch, m)
    return ch.name .. "_on_" .. names.snake(m.name)
end

function emit.emit(model)
    local out = {}
    for _, ch in ipairs(model.channels) do
        local u = ch.unions["in"]
        local has_endpoints = #ch.endpoints > 0
        local has_actions = #ch.actions > 0
        if u or has_endpoints or has_actions then
            local src = ch.file:match("[^/]*/[^/]*$") or ch.file
            local h = text.writer()
            local guard = "SB_GENERATED_" .. ch.name:upper() .. "_HANDLERS_H"
            h:line(text.banner(src))
            h:line("#ifndef %s", guard)
            h:line("#define %s", guard)
            h:line("")
            h:line("#include \"%s.h\"", ch.name)
            if has_actions then h:line("#include \"action.h\"") end
            h:line("")
            h:line("struct sb_ctx; /* the runtime's per-request context */")
            h:line("")
            if u then
                h:line("/* Inbound messages: each returns 0, or -1 to close the connection. */")
                for _, m in ipairs(u.members) do
                    h:line("int %s(struct sb_ctx *ctx, const %s *msg);", handler_name(ch, m), m.c_name)
                end
                h:line("")
                h:line("/* Calls the handler of msg->kind; -1 for an unset kind. */")
                h:line("int %s_dispatch(struct sb_ctx *ctx, const %s *msg);", u.c_name, u.c_name)
                h:line("")
            end
            if has_endpoints then
                h:line("/* the runtime's HTTP types (runtime/http.h, rt.h, outbox.h) */")
                h:line("struct sb_http_request;")
                h:line("struct sb_http_handler;")
                h:line("struct sb_outbox;")
                h:line("struct sb_rt;")
                h:line("struct sb_failure;")
                h:line("")
                for _, ep in ipairs(ch.endpoints) do
                    local function named(t) return t and t.c_name end
                    if not named(ep.response) or (ep.request and not named(ep.request)) then
                        error(string.format("%s: endpoint %s: request and response must be named types " ..
                                            "(payload, message or union)", ep.where, ep.name), 0)
                    end
                end
                routes.prototypes(h, ch)
                h:line("")
            end
            if has_actions then
                actions.prototypes(h, ch)
                h:line("")
            end
            h:line("")
            h:line("#endif")
            out[#out + 1] = { path = "c/" .. ch.name .. "_handlers.h", text = h:text() }

            if u then
                local c = text.writer()
                c:line(text.banner(src))
                c:line("#include \"%s_handlers.h\"", ch.name)
                c:line("")
                c:line("int %s_dispatch(struct sb_ctx *ctx, const %s *msg)", u.c_name, u.c_name)
                c:line("{")
                c:line("    switch (msg->kind) {")
                for _, m in ipairs(u.members) do
                    c:line("    case %s_%s:", u.c_name:upper(), names.upper(m.name))
                    c:line("        return %s(ctx, &msg->as.%s);", handler_name(ch, m), names.snake(m.name))
                end
                c:line("    default:")
                c:line("        return -1;")
                c:line("    }")
                c:line("}")
                out[#out + 1] = { path = "c/" .. ch.name .. "_dispatch.c", text = c:text() }
            end
        end
    end
    return out
end

return emit
