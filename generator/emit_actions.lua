-- emit_actions.lua: a channel's actions (action declarations) in C:
-- c/<channel>_actions.c, with the handler prototypes in c/<channel>_handlers.h
-- (written by emit_dispatch.lua through emit.prototypes).
--
-- For each action, one sb_action_def (runtime/action.h) whose
--   validate(ctx, data, len, err, err_size) parses the request's data (the
--       envelope's data field as raw JSON, len 0 when absent) with ctx->arena
--       into the action's data struct, under the path of the envelope's
--       field ("data.artifactId: longer than 256 bytes"); an action without
--       data accepts only an absent data or null. Failure: -<INVALID>, the
--       channel's actions.errors.invalid, with the reader's "PATH: REASON"
--       in err;
--   run(...) (actions served in C; NULL for proxy = true) validates the same
--       way, calls the handler <channel>_action_<name>(ctx, [data,] [result])
--       and, when it returns 0, writes the result struct into the buffer:
--       the response's data. A handler returns 0 or -CODE: its declared
--       errors, invalid and internal pass through; anything else is a bug of
--       the handler and becomes -<INTERNAL> (err names the action and what it
--       returned, for the log).
-- Plus <channel>_actions[] in declaration order, <channel>_action_count and
-- <channel>_action_find(), a generated switch on the name (lookup.lua).
--
-- The file calls every handler, so a program that links it must define them
-- all: like <channel>_dispatch.c, it is linked by the program that serves the
-- channel, not by sb_generated.

local text = require("text")
local lookup = require("lookup")

local emit = {}

local function up(ch) return ch.name:upper() end

-- "int f(a, b, c);" on one line when it fits in 100 columns, else broken
-- after commas with the parameters aligned under the first.
local function wrapped(w, head, params, tail)
    local one = head .. "(" .. table.concat(params, ", ") .. ")" .. tail
    if #one + w.depth * 4 <= 100 then
        w:line("%s", one)
        return
    end
    local pad = string.rep(" ", #head + 1)
    local line = head .. "("
    local first = true
    for i, p in ipairs(params) do
        local piece = p .. (i < #params and "," or (")" .. tail))
        if not first and #line + 1 + #piece + w.depth * 4 > 100 then
            w:line("%s", line)
            line = pad .. piece
        else
            line = line .. (first and "" or " ") .. piece
        end
        first = false
    end
    w:line("%s", line)
end

-- A comment of several sentences as lines of at most 100 columns.
local function comment(w, first, words_text, last)
    local words = {}
    for word in words_text:gmatch("%S+") do words[#words + 1] = word end
    local line = "/* " .. first
    for _, word in ipairs(words) do
        if #line + 1 + #word > 96 then
            w:line("%s", line)
            line = " *"
        end
        line = line .. " " .. word
    end
    w:line("%s%s", line, last and "" or " */")
end

local function err_const(ch, e) return up(ch) .. "_ERROR_" .. e.name end

-- The errors an action's handler may return, in channel order: its own,
-- plus invalid and internal, which every handler may answer.
function emit.handler_errors(ch, a)
    local spec, seen, out = ch.action_spec, {}, {}
    for _, e in ipairs(a.errors) do seen[e] = true end
    seen[spec.errors.invalid] = true
    seen[spec.errors.internal] = true
    for _, e in ipairs(ch.errors) do
        if seen[e] then out[#out + 1] = e end
    end
    return out
end

-- A handler's parameters.
function emit.handler_params(a)
    local ps = { "struct sb_ctx *ctx" }
    if a.data then ps[#ps + 1] = "const " .. a.data.c_name .. " *data" end
    if a.result then ps[#ps + 1] = a.result.c_name .. " *result" end
    return ps
end

-- What goes into <channel>_handlers.h.
function emit.prototypes(h, ch)
    local spec = ch.action_spec
    local U = up(ch)
    h:line("/* Actions (runtime/action.h): a %s names one in \"%s\" and carries its", spec.request.name, spec.name)
    h:line(" * data in \"%s\"; its result is the %s's \"%s\". %s_action_find() gives",
           spec.data, spec.response.name, spec.result, ch.name)
    h:line(" * its sb_action_def, whose run() parses the data, calls the handler below and")
    h:line(" * writes the result. A handler returns 0 (result is written), or")
    h:line(" * -%s_ERROR_<NAME>, one of the errors listed with it; any other value is a", U)
    h:line(" * bug of the handler and answers %s. Proxied actions have no handler. */",
           spec.errors.internal.name)
    for _, a in ipairs(ch.actions) do
        local perm = a.permission and ("Permission: " .. text.c_comment(a.permission) .. ".")
            or "Any authenticated caller."
        if a.proxy then
            comment(h, a.name .. ":", text.c_comment(a.doc) .. " " .. perm ..
                    " Proxied upstream: validate() checks its data; no handler.")
        else
            local names = {}
            for _, e in ipairs(emit.handler_errors(ch, a)) do names[#names + 1] = e.name end
            comment(h, a.name .. ":", text.c_comment(a.doc) .. " " .. perm .. " Errors: " ..
                    table.concat(names, ", ") .. ".")
            wrapped(h, "int " .. a.handler, emit.handler_params(a), ";")
        end
    end
    h:line("")
    h:line("/* The errors the action framework answers (the channel's actions.errors). */")
    for _, key in ipairs({ "invalid", "unknown", "denied", "internal" }) do
        h:line("#define %s_ACTION_ERROR_%s %s", U, key:upper(), err_const(ch, spec.errors[key]))
    end
    h:line("")
    h:line("/* Every action of the channel, in schema order (c/%s_actions.c). */", ch.name)
    h:line("extern const sb_action_def %s_actions[];", ch.name)
    h:line("extern const size_t %s_action_count;", ch.name)
    h:line("/* The action of that wire name, or NULL. */")
    h:line("const sb_action_def *%s_action_find(const char *name, size_t len);", ch.name)
end

local function emit_channel(ch)
    local spec = ch.action_spec
    local invalid = err_const(ch, spec.errors.invalid)
    local internal = err_const(ch, spec.errors.internal)
    local dkey = spec.data
    local w = text.writer()
    w:line(text.banner(ch.file:match("[^/]*/[^/]*$") or ch.file))
    w:line("/* The actions of channel %s: see generator/emit_actions.lua. */", ch.name)
    w:line("#include <stdio.h>")
    w:line("#include <string.h>")
    w:line("")
    w:line("#include \"ctx.h\"")
    w:line("#include \"%s_handlers.h\"", ch.name)
    w:line("")
    local any_no_data, any_handler = false, false
    for _, a in ipairs(ch.actions) do
        if not a.data then any_no_data = true end
        if not a.proxy then any_handler = true end
    end

    w:line("/* Data that does not parse: err gets the reader's \"PATH: REASON\". */")
    w:line("static int invalid(const sb_reader *r, char *err, size_t err_size)")
    w:line("{")
    w:line("    if (err && err_size)")
    w:line("        snprintf(err, err_size, \"%s\", r->err_msg);")
    w:line("    return -%s;", invalid)
    w:line("}")
    w:line("")
    w:line("static void clear(char *err, size_t err_size)")
    w:line("{")
    w:line("    if (err && err_size)")
    w:line("        err[0] = '\\0';")
    w:line("}")
    w:line("")
    if any_no_data then
        w:line("/* An action without data: the request's %s must be absent (len 0) or null. */", dkey)
        w:line("static int no_data(struct sb_ctx *ctx, const char *data, size_t len, char *err, size_t err_size)")
        w:line("{")
        w:indent()
        w:line("if (len == 0)")
        w:line("    return 0;")
        w:line("sb_reader r;")
        w:line("sb_reader_init(&r, data, len, ctx->arena, NULL);")
        w:line("sb_path_push_key(&r, %s, %d);", text.c_string(dkey), #dkey)
        w:line("if (!sb_read_null(&r))")
        w:line("    sb_fail(&r, SB_ERR_TYPE, \"the action takes no data\");")
        w:line("else if (sb_read_end(&r))")
        w:line("    return 0;")
        w:line("return invalid(&r, err, err_size);")
        w:dedent()
        w:line("}")
        w:line("")
    end
    if any_handler then
        w:line("#define COUNT(a) (sizeof(a) / sizeof(a)[0])")
        w:line("")
        w:line("/* A handler's failure: one of its errors passes; anything else is its bug. */")
        w:line("static int failed(int rc, const int *allowed, size_t n, const char *action, char *err,")
        w:line("                  size_t err_size)")
        w:line("{")
        w:line("    for (size_t i = 0; i < n; i++)")
        w:line("        if (rc == -allowed[i])")
        w:line("            return rc;")
        w:line("    if (err && err_size)")
        w:line("        snprintf(err, err_size, \"action %s: the handler returned %d\", action, rc);")
        w:line("    return -%s;", internal)
        w:line("}")
        w:line("")
    end

    local rows = {}
    for _, a in ipairs(ch.actions) do
        local s = a.snake
        w:line("/* %s%s */", a.name, a.proxy and " (proxied)" or "")
        -- parse the data
        if a.data then
            wrapped(w, "static int data_" .. s, { "struct sb_ctx *ctx", "const char *data", "size_t len",
                                                  a.data.c_name .. " *out", "char *err", "size_t err_size" }, "")
            w:line("{")
            w:indent()
            w:line("sb_reader r;")
            w:line("sb_reader_init(&r, len ? data : \"\", len, ctx->arena, NULL);")
            w:line("if (len == 0) {")
            w:line("    sb_missing_field(&r, %s, %d);", text.c_string(dkey), #dkey)
            w:line("    return invalid(&r, err, err_size);")
            w:line("}")
            w:line("sb_path_push_key(&r, %s, %d);", text.c_string(dkey), #dkey)
            w:line("if (!%s_parse(&r, out) || !sb_read_end(&r))", a.data.c_name)
            w:line("    return invalid(&r, err, err_size);")
            w:line("return 0;")
            w:dedent()
            w:line("}")
            w:line("")
        end
        wrapped(w, "static int validate_" .. s, { "struct sb_ctx *ctx", "const char *data", "size_t len",
                                                  "char *err", "size_t err_size" }, "")
        w:line("{")
        w:indent()
        w:line("clear(err, err_size);")
        if a.data then
            w:line("%s d;", a.data.c_name)
            w:line("return data_%s(ctx, data, len, &d, err, err_size);", s)
        else
            w:line("return no_data(ctx, data, len, err, err_size);")
        end
        w:dedent()
        w:line("}")
        w:line("")
        if not a.proxy then
            local codes = {}
            for _, e in ipairs(emit.handler_errors(ch, a)) do codes[#codes + 1] = err_const(ch, e) end
            local one = string.format("static const int errors_%s[] = {%s};", s, table.concat(codes, ", "))
            if #one <= 100 then
                w:line("%s", one)
            else
                w:line("static const int errors_%s[] = {", s)
                for _, c in ipairs(codes) do w:line("    %s,", c) end
                w:line("};")
            end
            w:line("")
            wrapped(w, "static int run_" .. s, { "struct sb_ctx *ctx", "const char *data", "size_t len",
                                                 "sb_buf *result", "char *err", "size_t err_size" }, "")
            w:line("{")
            w:indent()
            w:line("clear(err, err_size);")
            local args = { "ctx" }
            if a.data then
                w:line("%s d;", a.data.c_name)
                w:line("int rc = data_%s(ctx, data, len, &d, err, err_size);", s)
                args[#args + 1] = "&d"
            else
                w:line("int rc = no_data(ctx, data, len, err, err_size);")
            end
            w:line("if (rc != 0)")
            w:line("    return rc;")
            if a.result then
                w:line("%s res;", a.result.c_name)
                w:line("memset(&res, 0, sizeof res);")
                args[#args + 1] = "&res"
            else
                w:line("(void)result; /* no result: the response has no %s */", spec.result)
            end
            w:line("rc = %s(%s);", a.handler, table.concat(args, ", "))
            w:line("if (rc != 0)")
            w:indent()
            wrapped(w, "return failed", { "rc", "errors_" .. s, "COUNT(errors_" .. s .. ")", text.c_string(a.name),
                                         "err", "err_size" }, ";")
            w:dedent()
            if a.result then w:line("%s_write(result, &res);", a.result.c_name) end
            w:line("return 0;")
            w:dedent()
            w:line("}")
            w:line("")
        end
        rows[#rows + 1] = string.format("    {.name = %s,\n     .permission = %s,\n     .proxy = %s,\n" ..
                                        "     .run = %s,\n     .validate = validate_%s},",
                                        text.c_string(a.name), a.permission and text.c_string(a.permission) or "NULL",
                                        a.proxy and "true" or "false", a.proxy and "NULL" or ("run_" .. s), s)
    end
    w:line("const sb_action_def %s_actions[] = {", ch.name)
    for _, r in ipairs(rows) do w:line("%s", r) end
    w:line("};")
    w:line("const size_t %s_action_count = sizeof %s_actions / sizeof %s_actions[0];", ch.name, ch.name, ch.name)
    w:line("")
    w:line("const sb_action_def *%s_action_find(const char *name, size_t len)", ch.name)
    w:line("{")
    w:indent()
    local entries = {}
    for i, a in ipairs(ch.actions) do
        entries[#entries + 1] = { key = a.name, value = string.format("&%s_actions[%d]", ch.name, i - 1) }
    end
    lookup.emit(w, "name", "len", entries)
    w:line("return NULL;")
    w:dedent()
    w:line("}")
    return { path = "c/" .. ch.name .. "_actions.c", text = w:text() }
end

function emit.emit(model)
    local out = {}
    for _, ch in ipairs(model.channels) do
        if #ch.actions > 0 then out[#out + 1] = emit_channel(ch) end
    end
    return out
end

return emit
