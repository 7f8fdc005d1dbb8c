-- check.lua: turns the loader's raw declarations into one checked model.
--
-- Everything the emitters need is decided here, once: resolved references,
-- C and TypeScript names, emission order (a type before its users), union
-- members, and the examples decoded and validated. An emitter never has to
-- re-check anything, and a bad schema stops here with "file:line: what".
--
-- The model:
--   model.channels[i] = {
--     name, doc, since, version, path, transport, file, unknown_fields,
--     types    = { node... }   -- named object and enum nodes, dependencies first
--     messages = { node... }   -- object nodes with .message set, declaration order
--     unions   = { in = U, out = U }  (either may be absent)
--     endpoints, errors, params
--     c_types  = types without those that only TypeScript gets (a proxy
--                action's result)
--     actions  = { action... }  -- declaration order
--     action_spec = nil | { request, name_field, data_field, response,
--                           response_name_field, result_field, errors = {
--                           invalid, unknown, denied, internal } }
--   }
--   an action: { name, doc, since, where, permission, proxy, errors,
--                data = nil | node, result = nil | node, examples,
--                c_name, handler }: data and result are object or alias
--                nodes (inline ones carry .action and .action_role)
--   an object node: { kind = "object", name, c_name, ts_name, fields, doc, since,
--                     unknown_fields, one_of_required, message = nil | {
--                       dir, union, disc_field, disc_value, examples } }
--   a field: { name, type, presence, doc, index, c_name, nullable, optional }
--   a union U: { kind = "union", dir, channel, discriminator, members, c_name, ts_name }
--   an alias: { kind = "alias", name, of, c_name, ts_name, doc }: an endpoint body
--     that is not an object (therapy's saveActions takes a bare array)

local json = require("json")
local validate = require("validate")
local pattern = require("pattern")
local names = require("names")

local check = {}

local DECL_KEYS = {
    channel = { doc = 1, since = 1, version = 1, path = 1, transport = 1, unknown_fields = 1,
                inbound = 1, outbound = 1, errors = 1, http_errors = 1, actions = 1 },
    enumeration = { doc = 1, since = 1, values = 1 },
    payload = { doc = 1, since = 1, fields = 1, unknown_fields = 1, one_of_required = 1 },
    params = { doc = 1, since = 1, fields = 1, unknown_fields = 1, one_of_required = 1 },
    message = { doc = 1, since = 1, dir = 1, fields = 1, examples = 1, unknown_fields = 1,
                one_of_required = 1 },
    endpoint = { doc = 1, since = 1, method = 1, path = 1, auth = 1, long_poll = 1, request = 1,
                 response = 1, errors = 1, path_params = 1, query = 1, optional_body = 1 },
    action = { doc = 1, since = 1, data = 1, result = 1, permission = 1, proxy = 1, errors = 1,
               examples = 1 },
}
-- The errors the action framework itself answers (channel actions.errors).
local ACTION_ERRORS = { "invalid", "unknown", "denied", "internal" }
-- Generated C names of a channel's action table, which no handler may take.
local ACTION_RESERVED = { find = true, count = true }
local COMMON = { decl = 1, name = 1, where = 1 }
local TRANSPORTS = { websocket = true, socketio = true, http = true }
local POLICIES = { reject = true, ignore = true }
local TS_FORMATS = { unix = true, unix_ms = true, iso8601 = true }
local STR_FORMATS = { iso8601 = true, uri = true, email = true }
local METHODS = { GET = true, POST = true, PUT = true, DELETE = true, PATCH = true }

local function fail(where, fmt, ...)
    error(where .. ": " .. string.format(fmt, ...), 0)
end

local function is_ident(s)
    return type(s) == "string" and s:match("^[A-Za-z_][A-Za-z0-9_]*$") ~= nil
end

local function check_keys(d)
    local allowed = DECL_KEYS[d.decl]
    for k in pairs(d) do
        if not COMMON[k] and not allowed[k] then
            fail(d.where, "%s %s: unknown key '%s'", d.decl, d.name, tostring(k))
        end
    end
end

local function check_doc_since(d, what)
    if type(d.doc) ~= "string" or d.doc:match("^%s*$") then
        fail(d.where, "%s: missing doc", what)
    end
    if math.type(d.since) ~= "integer" or d.since < 1 then
        fail(d.where, "%s: missing since (a schema version, integer >= 1)", what)
    end
end

-- Resolve a raw type (from loader constructors) into a model type node.
-- `ctx` names where we are, for errors and for naming inline objects/enums.
local resolve_type

local function build_object(ctx, raw_fields, name, extra)
    local node = {
        kind = "object", name = name, fields = {}, by_name = {},
        doc = extra.doc, since = extra.since, where = ctx.where,
        unknown_fields = extra.unknown_fields or ctx.channel.unknown_fields,
        one_of_required = extra.one_of_required,
        channel = ctx.channel,
    }
    if not POLICIES[node.unknown_fields] then
        fail(ctx.where, "%s: unknown_fields must be \"reject\" or \"ignore\"", ctx.what)
    end
    if type(raw_fields) ~= "table" then fail(ctx.where, "%s: fields must be a list", ctx.what) end
    for i, f in ipairs(raw_fields) do
        local fname, ftype, presence = f[1], f[2], f[3]
        local fwhat = ctx.what .. ", field " .. tostring(fname)
        if type(fname) ~= "string" or fname == "" then
            fail(ctx.where, "%s: field %d needs a name", ctx.what, i)
        end
        if node.by_name[fname] then fail(ctx.where, "%s: duplicate field", fwhat) end
        if not presence then
            fail(ctx.where, "%s: missing presence (required, optional, nullable or optional_nullable)", fwhat)
        end
        for k in pairs(f) do
            if k ~= 1 and k ~= 2 and k ~= 3 and k ~= "doc" and k ~= "since" then
                fail(ctx.where, "%s: unknown key '%s'", fwhat, tostring(k))
            end
        end
        local field = {
            name = fname, presence = presence, doc = f.doc, since = f.since, index = i - 1,
            optional = presence == "optional" or presence == "optional_nullable",
            nullable = presence == "nullable" or presence == "optional_nullable",
            c_name = names.c_field(fname),
        }
        local sub = { where = ctx.where, what = fwhat, channel = ctx.channel,
                      inline_name = name .. names.camel(fname), model = ctx.model }
        field.type = resolve_type(sub, ftype)
        node.fields[#node.fields + 1] = field
        node.by_name[fname] = field
    end
    if #node.fields > 64 then fail(ctx.where, "%s: more than 64 fields", ctx.what) end
    if node.one_of_required then
        for _, fname in ipairs(node.one_of_required) do
            local f = node.by_name[fname]
            if not f then fail(ctx.where, "%s: one_of_required names unknown field %s", ctx.what, fname) end
            if not f.optional then
                fail(ctx.where, "%s: one_of_required field %s must be optional", ctx.what, fname)
            end
        end
    end
    return node
end

function resolve_type(ctx, t)
    if type(t) ~= "table" or type(t.kind) ~= "string" then
        fail(ctx.where, "%s: missing or unknown type", ctx.what)
    end
    local k = t.kind
    if k == "string" then
        if math.type(t.max) ~= "integer" or t.max < 1 then
            fail(ctx.where, "%s: str needs max (bytes, integer >= 1)", ctx.what)
        end
        if t.min and (math.type(t.min) ~= "integer" or t.min < 0 or t.min > t.max) then
            fail(ctx.where, "%s: str min must be an integer in 0..max", ctx.what)
        end
        local format, format_name = t.format, t.format
        if format == "date-time" then format = "iso8601" end
        if format and not STR_FORMATS[format] then
            fail(ctx.where, "%s: unknown str format '%s' (date-time, uri, email or iso8601)", ctx.what,
                 tostring(t.format))
        end
        local pat
        if t.pattern ~= nil then
            local perr
            pat, perr = pattern.compile(t.pattern)
            if not pat then
                fail(ctx.where, "%s: pattern %s: %s", ctx.what, tostring(t.pattern), perr)
            end
            pat.c_name = ctx.channel.name .. "_" .. names.snake(ctx.inline_name or "x") .. "_pattern"
        end
        return { kind = "string", min = t.min or 0, max = t.max, format = format,
                 format_name = format_name, pattern = pat }
    elseif k == "int" then
        local lo, hi = t.min or math.mininteger, t.max or math.maxinteger
        if math.type(lo) ~= "integer" or math.type(hi) ~= "integer" or lo > hi then
            fail(ctx.where, "%s: int min/max must be integers with min <= max", ctx.what)
        end
        return { kind = "int", min = lo, max = hi, has_min = t.min ~= nil, has_max = t.max ~= nil }
    elseif k == "number" then
        if (t.min and type(t.min) ~= "number") or (t.max and type(t.max) ~= "number") then
            fail(ctx.where, "%s: number min/max must be numbers", ctx.what)
        end
        return { kind = "number", min = t.min, max = t.max }
    elseif k == "bool" or k == "any" then
        return { kind = k }
    elseif k == "literal" then
        if type(t.value) ~= "string" or t.value == "" then
            fail(ctx.where, "%s: literal needs a non-empty string", ctx.what)
        end
        return { kind = "literal", value = t.value }
    elseif k == "timestamp" then
        if not TS_FORMATS[t.format] then
            fail(ctx.where, "%s: timestamp format must be unix, unix_ms or iso8601", ctx.what)
        end
        return { kind = "timestamp", format = t.format }
    elseif k == "enum" then
        return check.make_enum(ctx, ctx.inline_name, t.values, { where = ctx.where })
    elseif k == "array" then
        if math.type(t.max) ~= "integer" or t.max < 1 then
            fail(ctx.where, "%s: array needs max (items, integer >= 1)", ctx.what)
        end
        local sub = { where = ctx.where, what = ctx.what .. "[]", channel = ctx.channel,
                      inline_name = ctx.inline_name .. "Item", model = ctx.model }
        local of = resolve_type(sub, t.of)
        if of.kind == "array" then
            fail(ctx.where, "%s: arrays of arrays are not supported; wrap the inner array in an object",
                 ctx.what)
        end
        return { kind = "array", of = of, max = t.max, min = t.min or 0 }
    elseif k == "object" then
        local node = build_object(ctx, t.fields, ctx.inline_name,
                                  { unknown_fields = t.unknown_fields,
                                    one_of_required = t.one_of_required })
        node.inline = true
        check.register(ctx, node)
        return node
    elseif k == "ref" then
        -- resolved after every declaration is known (see resolve_refs)
        return { kind = "ref", name = t.name, where = ctx.where, what = ctx.what, channel = ctx.channel }
    elseif k == "unionref" then
        if t.dir ~= "in" and t.dir ~= "out" then
            fail(ctx.where, "%s: union must be \"in\" or \"out\"", ctx.what)
        end
        return { kind = "unionref", dir = t.dir, channel = ctx.channel, where = ctx.where,
                 what = ctx.what }
    end
    fail(ctx.where, "%s: unknown type kind '%s'", ctx.what, k)
end

-- A path template: "/a/{name}/b". Each {name} is a whole segment and an
-- identifier, names are distinct, at most 8 (SB_HTTP_MAX_PARAMS), and "/*"
-- may only end it (the same rules as sb_path_template_error, http.h).
function check.path_template(where, what, path)
    if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
        fail(where, "%s: path must start with /", what)
    end
    local found, seen = {}, {}
    local segs = {}
    for seg in (path:sub(2) .. "/"):gmatch("([^/]*)/") do segs[#segs + 1] = seg end
    for i, seg in ipairs(segs) do
        if seg == "*" then
            if i ~= #segs then fail(where, "%s: path %s: /* only at the end", what, path) end
        elseif seg:find("[{}]") then
            local name = seg:match("^{(.*)}$")
            if not name or name:find("[{}]") then
                fail(where, "%s: path %s: a {parameter} must be a whole segment", what, path)
            end
            if not is_ident(name) then
                fail(where, "%s: path %s: parameter name '%s' is not an identifier", what, path, name)
            end
            if seen[name] then fail(where, "%s: path %s: duplicate parameter {%s}", what, path, name) end
            seen[name] = true
            found[#found + 1] = name
        elseif seg == "" and i ~= #segs then
            fail(where, "%s: path %s: empty segment", what, path)
        end
    end
    if #found > 8 then fail(where, "%s: path %s: more than 8 parameters", what, path) end
    return found
end

function check.make_enum(ctx, name, values, extra)
    if type(values) ~= "table" or #values == 0 then
        fail(ctx.where, "%s: enum needs a non-empty list of strings", ctx.what or name)
    end
    local seen = {}
    for _, v in ipairs(values) do
        if type(v) ~= "string" or v == "" then
            fail(ctx.where, "%s: enum values must be non-empty strings", ctx.what or name)
        end
        if seen[v] then fail(ctx.where, "%s: duplicate enum value %s", ctx.what or name, v) end
        seen[v] = true
    end
    local node = { kind = "enum", name = name, values = values, doc = extra.doc,
                   since = extra.since, where = extra.where, channel = ctx.channel }
    check.register(ctx, node)
    return node
end

-- Every named node (declared or inline) gets unique C and TS names.
function check.register(ctx, node)
    local model = ctx.model
    if model.named[node.name] then
        fail(ctx.where, "duplicate type name %s (also at %s)", node.name, model.named[node.name].where)
    end
    model.named[node.name] = node
    node.c_name = ctx.channel.name .. "_" .. names.snake(node.name)
    node.ts_name = node.name
    ctx.channel.all_named[#ctx.channel.all_named + 1] = node
end

-- Replace ref nodes by the nodes they name; unionrefs by their unions.
local function resolve_refs(model, t)
    if t.kind == "ref" then
        local target = model.named[t.name]
        if not target then fail(t.where, "%s: unknown type '%s'", t.what, t.name) end
        if target.channel ~= t.channel then
            fail(t.where, "%s: type '%s' belongs to channel %s; a channel may only use its own types",
                 t.what, t.name, target.channel.name)
        end
        return target
    elseif t.kind == "unionref" then
        local u = t.channel.unions[t.dir]
        if not u then fail(t.where, "%s: channel %s has no %s union", t.what, t.channel.name, t.dir) end
        return u
    elseif t.kind == "array" then
        t.of = resolve_refs(model, t.of)
    elseif t.kind == "alias" then
        t.of = resolve_refs(model, t.of)
    elseif t.kind == "object" and not t.resolved then
        t.resolved = true
        for _, f in ipairs(t.fields) do f.type = resolve_refs(model, f.type) end
    end
    return t
end

-- Objects embed their object fields by value, so a type may not contain
-- itself except through an array (arrays hold pointers).
local function check_cycles(node, stack)
    if node.kind ~= "object" then return end
    if stack[node] then fail(node.where, "type %s contains itself", node.name) end
    stack[node] = true
    for _, f in ipairs(node.fields) do check_cycles(f.type, stack) end
    stack[node] = nil
end

-- Order named nodes so that each comes after every node it embeds.
local function order_types(channel)
    local out, done = {}, {}
    local function visit(t)
        if t.kind == "array" then return visit(t.of) end
        if (t.kind ~= "object" and t.kind ~= "enum" and t.kind ~= "alias") or done[t] then return end
        done[t] = true
        if t.kind == "object" then
            for _, f in ipairs(t.fields) do visit(f.type) end
        elseif t.kind == "alias" then
            visit(t.of)
        end
        if t.channel == channel then out[#out + 1] = t end
    end
    for _, n in ipairs(channel.all_named) do visit(n) end
    channel.types = out
end

-- channel { actions = { ... } }: where a channel's action requests carry
-- the action's name and data, and where its result goes. The refs and
-- fields are checked once every type is known (finish_actions).
function check.action_spec(cd, ch)
    local as = cd.actions
    local what = "channel " .. ch.name .. ", actions"
    if type(as) ~= "table" then fail(cd.where, "%s: must be a table", what) end
    local KEYS = { request = 1, name = 1, data = 1, response = 1, response_name = 1, result = 1, errors = 1 }
    for k in pairs(as) do
        if not KEYS[k] then fail(cd.where, "%s: unknown key '%s'", what, tostring(k)) end
    end
    for _, key in ipairs({ "request", "response" }) do
        if type(as[key]) ~= "table" or as[key].kind ~= "ref" then
            fail(cd.where, "%s: %s must be ref \"Message\" (the %s envelope)", what, key,
                 key == "request" and "inbound request" or "outbound response")
        end
    end
    for _, key in ipairs({ "name", "data", "result" }) do
        if type(as[key]) ~= "string" then
            fail(cd.where, "%s: %s must name a field of the %s", what, key,
                 key == "result" and "response" or "request")
        end
    end
    if as.response_name ~= nil and type(as.response_name) ~= "string" then
        fail(cd.where, "%s: response_name must name a field of the response", what)
    end
    if type(as.errors) ~= "table" then
        fail(cd.where, "%s: needs errors = { invalid = NAME, unknown = NAME, denied = NAME, internal = NAME }",
             what)
    end
    local errs = {}
    for k in pairs(as.errors) do
        local known = false
        for _, e in ipairs(ACTION_ERRORS) do known = known or e == k end
        if not known then fail(cd.where, "%s, errors: unknown key '%s'", what, tostring(k)) end
    end
    for _, key in ipairs(ACTION_ERRORS) do
        local n = as.errors[key]
        local err = type(n) == "string" and ch.error_by_name[n]
        if not err then
            fail(cd.where, "%s, errors: %s must name an error of the channel (got %s)", what, key, tostring(n))
        end
        errs[key] = err
    end
    local function ref(r, key)
        return { kind = "ref", name = r.name, where = cd.where, what = what .. " " .. key, channel = ch }
    end
    return { request_ref = ref(as.request, "request"), response_ref = ref(as.response, "response"),
             name = as.name, data = as.data, result = as.result, response_name = as.response_name,
             errors = errs, where = cd.where, what = what }
end

-- An action's data or result: a field list (an inline object named
-- <Action>Data / <Action>Result), ref "Payload", or any other type (a named
-- alias of it, like an endpoint body that is not an object).
local function action_type(ctx, d, a, key, suffix)
    local raw = d[key]
    if raw == nil then return nil end
    local ch = ctx.channel
    local what = ctx.what .. ", " .. key
    local tname = names.camel(d.name) .. suffix
    if type(raw) ~= "table" then
        fail(d.where, "%s: must be a field list { { \"name\", TYPE, PRESENCE }, ... }, ref \"Payload\" or a type",
             what)
    end
    -- where it travels, when the channel says (else finish_actions refuses it)
    local spec = ch.action_spec or {}
    local where_to = key == "data" and (spec.request_ref and (spec.request_ref.name .. "." .. spec.data))
        or (spec.response_ref and (spec.response_ref.name .. "." .. spec.result))
    local role_doc = (key == "data" and "Data" or "Result") .. " of action " .. d.name ..
        (where_to and (" (" .. where_to .. ")") or "") .. "."
    local bctx = { where = d.where, what = what, channel = ch, model = ctx.model, inline_name = tname }
    local first = #ch.all_named + 1
    local t
    if raw.kind == nil or raw.kind == "object" then
        local fields = raw.kind == nil and raw or raw.fields
        for i, f in ipairs(fields) do
            if type(f) ~= "table" then
                fail(d.where, "%s: field %d must be { \"name\", TYPE, PRESENCE, doc = ... }", what, i)
            end
        end
        t = build_object(bctx, fields, tname, { doc = role_doc, since = d.since,
                                                unknown_fields = raw.kind and raw.unknown_fields,
                                                one_of_required = raw.kind and raw.one_of_required })
        check.register(bctx, t)
    elseif raw.kind == "ref" then
        t = resolve_type(bctx, raw) -- resolved in finish_actions
    elseif raw.kind == "unionref" then
        fail(d.where, "%s: a union cannot be an action's %s", what, key)
    else
        t = { kind = "alias", name = tname, of = resolve_type(bctx, raw), doc = role_doc, since = d.since,
              where = d.where, channel = ch }
        check.register(bctx, t)
    end
    if t.kind ~= "ref" then
        t.action, t.action_role = a, key
    end
    -- a proxy's result is never parsed or written in C: TypeScript only
    if a.proxy and key == "result" then
        for i = first, #ch.all_named do ch.all_named[i].ts_only = true end
    end
    return t
end

-- action "name" { ... }: one request/response operation of the channel.
function check.action(ctx, d)
    local ch, what = ctx.channel, ctx.what
    if ch.action_by_name[d.name] then
        fail(d.where, "%s: duplicate action (also at %s)", what, ch.action_by_name[d.name].where)
    end
    local snake = names.snake(d.name)
    if ch.action_by_snake[snake] then
        fail(d.where, "%s: its C name %s_action_%s is also that of action %s", what, ch.name, snake,
             ch.action_by_snake[snake].name)
    end
    if ACTION_RESERVED[snake] then
        fail(d.where, "%s: its handler %s_action_%s would collide with the generated one", what, ch.name, snake)
    end
    if d.proxy ~= nil and type(d.proxy) ~= "boolean" then
        fail(d.where, "%s: proxy must be true or false", what)
    end
    if d.permission ~= nil and (type(d.permission) ~= "string" or not d.permission:match("^[\33-\126]+$")) then
        fail(d.where, "%s: permission must be a non-empty string without spaces (what the caller's token " ..
             "must grant), got %s", what, type(d.permission) == "string" and string.format("%q", d.permission)
             or type(d.permission))
    end
    if d.proxy and d.errors ~= nil then
        fail(d.where, "%s: errors is only for actions served by a C handler; a proxy action's errors " ..
             "are its upstream's", what)
    end
    local a = { name = d.name, doc = d.doc, since = d.since, where = d.where, what = what,
                permission = d.permission, proxy = d.proxy == true, errors = {},
                raw_examples = d.examples, c_name = ch.name .. "_" .. snake, snake = snake,
                handler = ch.name .. "_action_" .. snake }
    ch.action_by_name[d.name] = a
    ch.action_by_snake[snake] = a
    if d.errors ~= nil then
        if type(d.errors) ~= "table" then
            fail(d.where, "%s: errors must be { NAME, ... } (the channel errors its handler may return)", what)
        end
        local seen = {}
        for _, n in ipairs(d.errors) do
            local err = ch.error_by_name[n]
            if not err then fail(d.where, "%s, errors: %s is not an error of channel %s", what, tostring(n), ch.name) end
            if seen[n] then fail(d.where, "%s, errors: %s listed twice", what, n) end
            seen[n] = true
            a.errors[#a.errors + 1] = err
        end
    end
    a.data = action_type(ctx, d, a, "data", "Data")
    a.result = action_type(ctx, d, a, "result", "Result")
    ch.actions[#ch.actions + 1] = a
end

local function check_unit(model, unit)
    local decls = unit.decls
    if #decls == 0 or decls[1].decl ~= "channel" then
        fail(unit.file, "a schema file starts with one channel declaration")
    end
    local cd = decls[1]
    check_keys(cd)
    check_doc_since(cd, "channel " .. cd.name)
    if not is_ident(cd.name) or cd.name:match("%u") then
        fail(cd.where, "channel name must be a lower-case identifier")
    end
    if model.channel_by_name[cd.name] then fail(cd.where, "duplicate channel %s", cd.name) end
    if not TRANSPORTS[cd.transport] then
        fail(cd.where, "channel %s: transport must be websocket, socketio or http", cd.name)
    end
    local ch = {
        name = cd.name, doc = cd.doc, since = cd.since, path = cd.path, transport = cd.transport,
        declared_version = cd.version,
        -- "schema/chat.lua" however the file was named on the command line,
        -- so that output does not depend on the directory it was made in
        file = unit.file:match("[^/]*/[^/]*$") or unit.file, where = cd.where, unknown_fields = cd.unknown_fields or "reject",
        all_named = {}, messages = {}, unions = {}, endpoints = {}, errors = {}, params = {},
        actions = {}, action_by_name = {}, action_by_snake = {},
        c_prefix = cd.name, ts_prefix = names.camel(cd.name),
    }
    if not POLICIES[ch.unknown_fields] then
        fail(cd.where, "channel %s: unknown_fields must be \"reject\" or \"ignore\"", cd.name)
    end
    model.channel_by_name[ch.name] = ch
    model.channels[#model.channels + 1] = ch

    for _, dir in ipairs({ "in", "out" }) do
        local spec = cd[dir == "in" and "inbound" or "outbound"]
        if spec then
            if not is_ident(spec.discriminator) then
                fail(cd.where, "channel %s: %sbound union needs a discriminator field name", ch.name, dir)
            end
            ch.unions[dir] = {
                kind = "union", dir = dir, channel = ch, discriminator = spec.discriminator,
                doc = spec.doc, members = {}, by_value = {},
                c_name = ch.name .. "_" .. dir, ts_name = ch.ts_prefix .. (dir == "in" and "Inbound" or "Outbound"),
            }
        end
    end

    ch.error_by_name = {}
    for i, e in ipairs(cd.errors or {}) do
        if not (is_ident(e[1]) and type(e[2]) == "string") then
            fail(cd.where, "channel %s: errors[%d] must be { NAME, \"text\" }", ch.name, i)
        end
        for k in pairs(e) do
            if k ~= 1 and k ~= 2 and k ~= "doc" and k ~= "status" then
                fail(cd.where, "channel %s, error %s: unknown key '%s'", ch.name, e[1], tostring(k))
            end
        end
        if e.status ~= nil and (math.type(e.status) ~= "integer" or e.status < 400 or e.status > 599) then
            fail(cd.where, "channel %s, error %s: status must be an HTTP error status (400..599)",
                 ch.name, e[1])
        end
        if ch.error_by_name[e[1]] then fail(cd.where, "channel %s, error %s: duplicate error", ch.name, e[1]) end
        local err = { name = e[1], text = e[2], doc = e.doc, status = e.status, code = i }
        ch.errors[#ch.errors + 1] = err
        ch.error_by_name[err.name] = err
    end
    if cd.http_errors ~= nil then
        local he = cd.http_errors
        if type(he) ~= "table" then fail(cd.where, "channel %s: http_errors must be a table", ch.name) end
        for k in pairs(he) do
            if k ~= "body" and k ~= "text" and k ~= "name" and k ~= "auth_error" and k ~= "invalid_error" then
                fail(cd.where, "channel %s, http_errors: unknown key '%s'", ch.name, tostring(k))
            end
        end
        if type(he.body) ~= "table" or he.body.kind ~= "ref" then
            fail(cd.where, "channel %s, http_errors: body must be ref \"Message\"", ch.name)
        end
        if type(he.text) ~= "string" then
            fail(cd.where, "channel %s, http_errors: text must name a string field of the body", ch.name)
        end
        if he.name ~= nil and type(he.name) ~= "string" then
            fail(cd.where, "channel %s, http_errors: name must name a string field of the body", ch.name)
        end
        for _, key in ipairs({ "auth_error", "invalid_error" }) do
            local n = he[key]
            if n ~= nil then
                local err = ch.error_by_name[n]
                if not err then fail(cd.where, "channel %s, http_errors: %s %s is not an error of the channel",
                                     ch.name, key, tostring(n)) end
                if not err.status then fail(cd.where, "channel %s, http_errors: %s %s has no status",
                                            ch.name, key, n) end
            end
        end
        ch.http_errors = { body_ref = { kind = "ref", name = he.body.name, where = cd.where,
                                        what = "channel " .. ch.name .. ", http_errors body", channel = ch },
                           text = he.text, name = he.name,
                           auth_error = he.auth_error and ch.error_by_name[he.auth_error],
                           invalid_error = he.invalid_error and ch.error_by_name[he.invalid_error] }
    end

    if cd.actions ~= nil then
        ch.action_spec = check.action_spec(cd, ch)
    end

    for i = 2, #decls do
        local d = decls[i]
        check_keys(d)
        local what = d.decl .. " " .. d.name
        check_doc_since(d, what)
        if not is_ident(d.name) then fail(d.where, "%s: name must be an identifier", what) end
        local ctx = { where = d.where, what = what, channel = ch, model = model }
        if d.decl == "channel" then
            fail(d.where, "one channel per file")
        elseif d.decl == "enumeration" then
            check.make_enum(ctx, d.name, d.values, d)
        elseif d.decl == "payload" or d.decl == "params" then
            local node = build_object(ctx, d.fields, d.name, d)
            node.is_params = d.decl == "params"
            if node.is_params then
                local SCALAR = { string = true, int = true, bool = true, enum = true, literal = true,
                                 timestamp = true, ref = true }
                for _, f in ipairs(node.fields) do
                    if not SCALAR[f.type.kind] then
                        fail(d.where, "%s, field %s: a query parameter must be a string, integer, " ..
                             "boolean, enum, literal or timestamp", what, f.name)
                    end
                end
            end
            check.register(ctx, node)
            if node.is_params then ch.params[#ch.params + 1] = node end
        elseif d.decl == "message" then
            if d.dir ~= "in" and d.dir ~= "out" and d.dir ~= "http" then
                fail(d.where, "%s: dir must be \"in\", \"out\" or \"http\"", what)
            end
            local node = build_object(ctx, d.fields, d.name, d)
            check.register(ctx, node)
            node.message = { dir = d.dir, raw_examples = d.examples }
            ch.messages[#ch.messages + 1] = node
            model.messages[#model.messages + 1] = node
            if d.dir ~= "http" then
                local u = ch.unions[d.dir]
                if not u then fail(d.where, "%s: channel %s has no %sbound union", what, ch.name, d.dir) end
                local df = node.by_name[u.discriminator]
                if not df or df.type.kind ~= "literal" or df.presence ~= "required" then
                    fail(d.where, "%s: needs a required literal field '%s' (the union's discriminator)",
                         what, u.discriminator)
                end
                local v = df.type.value
                if u.by_value[v] then
                    fail(d.where, "%s: discriminator %s=%s is already used by %s", what,
                         u.discriminator, v, u.by_value[v].name)
                end
                u.by_value[v] = node
                u.members[#u.members + 1] = node
                node.message.union, node.message.disc_field, node.message.disc_value = u, df, v
            end
        elseif d.decl == "action" then
            check.action(ctx, d)
        elseif d.decl == "endpoint" then
            if not METHODS[d.method] then fail(d.where, "%s: method must be GET, POST, ...", what) end
            local ep = { name = d.name, doc = d.doc, since = d.since, method = d.method, path = d.path,
                         auth = d.auth ~= false, where = d.where, errors = {},
                         long_poll = d.long_poll == true,
                         c_name = ch.name .. "_" .. names.snake(d.name), what = what }
            -- auth: true (the channel's hook), false (none), or a name: the
            -- hook <channel>_http_authenticate_<name> (e.g. "operator")
            if type(d.auth) == "string" then
                if not d.auth:match("^[a-z][a-z0-9_]*$") then
                    fail(d.where, "%s: auth must be true, false or a hook name ([a-z][a-z0-9_]*)", what)
                end
                ep.auth_hook = d.auth
            elseif d.auth ~= nil and type(d.auth) ~= "boolean" then
                fail(d.where, "%s: auth must be true, false or a hook name", what)
            end
            if d.long_poll ~= nil and type(d.long_poll) ~= "boolean" then
                fail(d.where, "%s: long_poll must be true or false", what)
            end
            -- optional_body: an empty body reads as {} (every field of the
            -- request then optional, or the parser names the missing one)
            if d.optional_body ~= nil and type(d.optional_body) ~= "boolean" then
                fail(d.where, "%s: optional_body must be true or false", what)
            end
            if d.optional_body and not d.request then
                fail(d.where, "%s: optional_body needs a request", what)
            end
            ep.optional_body = d.optional_body == true
            ep.path_names = check.path_template(d.where, what, d.path)
            if type(d.errors) ~= "table" then
                fail(d.where, "%s: needs errors = { NAME, ... } (the channel errors it may answer; {} for none)", what)
            end
            local seen = {}
            for _, n in ipairs(d.errors) do
                local err = ch.error_by_name[n]
                if not err then fail(d.where, "%s, errors: %s is not an error of channel %s", what, tostring(n), ch.name) end
                if not err.status then fail(d.where, "%s, errors: %s has no status", what, n) end
                if seen[n] then fail(d.where, "%s, errors: %s listed twice", what, n) end
                seen[n] = true
                ep.errors[#ep.errors + 1] = err
            end
            for _, key in ipairs({ "path_params", "query" }) do
                local r = d[key]
                if r ~= nil and (type(r) ~= "table" or r.kind ~= "ref") then
                    fail(d.where, "%s: %s must be ref \"Params\" (a params declaration)", what, key)
                end
                ep[key .. "_ref"] = r and { kind = "ref", name = r.name, where = d.where,
                                            what = what .. " " .. key, channel = ch }
            end
            if #ep.path_names > 0 and not d.path_params then
                fail(d.where, "%s: path parameter {%s} needs path_params = ref \"Params\"", what, ep.path_names[1])
            end
            if not d.response then fail(d.where, "%s: needs a response type", what) end
            -- A body that is not a named type (an array, say) gets a named
            -- alias, so that C and TypeScript can declare it.
            local function body(raw, suffix)
                local bctx = { where = d.where, what = what .. " " .. suffix:lower(), channel = ch,
                               model = model, inline_name = names.camel(d.name) .. suffix }
                local t = resolve_type(bctx, raw)
                if t.kind == "object" or t.kind == "ref" or t.kind == "unionref" then return t end
                local alias = { kind = "alias", name = names.camel(d.name) .. suffix, of = t,
                                doc = "Body of " .. d.method .. " " .. d.path, where = d.where, channel = ch }
                check.register(ctx, alias)
                return alias
            end
            ep.request = d.request and body(d.request, "Request")
            ep.response = body(d.response, "Response")
            ch.endpoints[#ch.endpoints + 1] = ep
        end
    end
    return ch
end

-- After refs are resolved: path and query parameters, and the error body.
local function finish_endpoints(model, ch)
    local he = ch.http_errors
    if #ch.endpoints > 0 and not he then
        fail(ch.where, "channel %s: has endpoints, so needs http_errors = { body = ref \"...\", text = \"field\" }",
             ch.name)
    end
    if he then
        local body = resolve_refs(model, he.body_ref)
        if body.kind ~= "object" then fail(ch.where, "channel %s, http_errors: body must be an object type", ch.name) end
        he.body = body
        for _, key in ipairs({ "text", "name" }) do
            local fname = he[key]
            if fname then
                local f = body.by_name[fname]
                if not f or f.type.kind ~= "string" or f.presence ~= "required" then
                    fail(ch.where, "channel %s, http_errors: %s field %s must be a required str of %s",
                         ch.name, key, fname, body.name)
                end
                he[key .. "_field"] = f
            end
        end
    end
    for _, ep in ipairs(ch.endpoints) do
        local what = ep.what
        if ep.query_ref then
            ep.query = resolve_refs(model, ep.query_ref)
            if not ep.query.is_params then fail(ep.where, "%s: query %s is not a params declaration", what, ep.query.name) end
        end
        if ep.path_params_ref then
            local pp = resolve_refs(model, ep.path_params_ref)
            if not pp.is_params then fail(ep.where, "%s: path_params %s is not a params declaration", what, pp.name) end
            local in_path = {}
            for _, n in ipairs(ep.path_names) do
                in_path[n] = true
                if not pp.by_name[n] then
                    fail(ep.where, "%s, field %s: {%s} of the path is not a field of %s", what, n, n, pp.name)
                end
            end
            for _, f in ipairs(pp.fields) do
                if not in_path[f.name] then
                    fail(ep.where, "%s, field %s: not a {parameter} of path %s", what, f.name, ep.path)
                end
                if f.presence ~= "required" then
                    fail(ep.where, "%s, field %s: a path parameter must be required", what, f.name)
                end
                local k = f.type.kind
                if k ~= "string" and k ~= "int" and k ~= "bool" and k ~= "enum" then
                    fail(ep.where, "%s, field %s: a path parameter must be a str, int, bool or enum", what, f.name)
                end
            end
            ep.path_params = pp
        end
        -- the adapter's own answers are answerable too
        local function add(err)
            for _, e in ipairs(ep.errors) do if e == err then return end end
            table.insert(ep.errors, 1, err)
        end
        if ep.path_params or ep.query or ep.request then
            if not (he and he.invalid_error) then
                fail(ep.where, "%s: parses a request, so channel %s needs http_errors.invalid_error", what, ch.name)
            end
            add(he.invalid_error)
        end
        if ep.auth then
            if not (he and he.auth_error) then
                fail(ep.where, "%s: needs authentication, so channel %s needs http_errors.auth_error " ..
                     "(or auth = false)", what, ch.name)
            end
            add(he.auth_error)
        end
        -- in channel order, for the docs and the generated checks
        table.sort(ep.errors, function(a, b) return a.code < b.code end)
    end
end

-- After refs are resolved: the channel's request and response envelopes, and
-- each action's refs and name.
local function finish_actions(model, ch)
    local spec = ch.action_spec
    if #ch.actions > 0 and not spec then
        fail(ch.where, "channel %s: has actions, so needs actions = { request = ref \"...\", name = \"...\", " ..
             "data = \"...\", response = ref \"...\", result = \"...\", errors = { ... } }", ch.name)
    end
    if not spec then return end
    local what = spec.what
    local function envelope(ref, dir, key)
        local m = resolve_refs(model, ref)
        if m.kind ~= "object" or not m.message or m.message.dir ~= dir then
            fail(spec.where, "%s: %s %s must be a message with dir = \"%s\"", what, key, ref.name, dir)
        end
        return m
    end
    local function field(m, fname, key, ok, need)
        local f = m.by_name[fname]
        if not f or not ok(f) then
            fail(spec.where, "%s: %s = %q must name %s of %s", what, key, fname, need, m.name)
        end
        return f
    end
    local function optional_any(f) return f.type.kind == "any" and f.optional end
    spec.request = envelope(spec.request_ref, "in", "request")
    spec.response = envelope(spec.response_ref, "out", "response")
    spec.name_field = field(spec.request, spec.name, "name", function(f)
        return f.type.kind == "string" and f.presence == "required"
    end, "a required str field")
    spec.data_field = field(spec.request, spec.data, "data", optional_any, "an optional any field")
    spec.result_field = field(spec.response, spec.result, "result", optional_any, "an optional any field")
    if spec.response_name then
        spec.response_name_field = field(spec.response, spec.response_name, "response_name", function(f)
            return f.type.kind == "string" and not f.nullable
        end, "a str field")
    end
    for _, a in ipairs(ch.actions) do
        -- the name must be one the envelope's name field can carry
        local e = validate.value(spec.name_field.type, a.name, spec.name)
        if e then
            fail(a.where, "%s: its name does not fit %s.%s: %s", a.what, spec.request.name, spec.name, e.reason)
        end
        for _, key in ipairs({ "data", "result" }) do
            local t = a[key]
            if t and t.kind == "ref" then
                t = resolve_refs(model, t)
                if t.kind ~= "object" then
                    fail(a.where, "%s, %s: %s must be an object type (payload, params or message)", a.what, key,
                         t.name or t.kind)
                end
                a[key] = t
            end
        end
    end
end

local function check_action_examples(ch)
    for _, a in ipairs(ch.actions) do
        local raw = a.raw_examples
        if type(raw) ~= "table" or #raw == 0 then
            fail(a.where, "%s: needs at least one example { data = [[JSON]], result = [[JSON]] }", a.what)
        end
        a.examples = {}
        for i, ex in ipairs(raw) do
            if type(ex) ~= "table" then
                fail(a.where, "%s: example %d must be { data = [[JSON]], result = [[JSON]] }", a.what, i)
            end
            for k in pairs(ex) do
                if k ~= "data" and k ~= "result" then
                    fail(a.where, "%s: example %d: unknown key '%s'", a.what, i, tostring(k))
                end
            end
            local out = {}
            for _, key in ipairs({ "data", "result" }) do
                local t = a[key]
                local src = ex[key]
                if t and src == nil then
                    fail(a.where, "%s: example %d needs %s (the action has %s)", a.what, i, key, key)
                elseif not t and src ~= nil then
                    fail(a.where, "%s: example %d has %s, but the action takes none", a.what, i, key)
                end
                if t then
                    if type(src) ~= "string" then
                        fail(a.where, "%s: example %d: %s must be a JSON text", a.what, i, key)
                    end
                    local ok, value = pcall(json.decode, src)
                    if not ok then fail(a.where, "%s: example %d: %s: %s", a.what, i, key, value) end
                    local err = validate.value(t, value, key)
                    if err then
                        fail(a.where, "%s: example %d does not match its %s: %s: %s", a.what, i, key,
                             err.path, err.reason)
                    end
                    out[key] = { value = value, text = json.encode(value) }
                end
            end
            a.examples[i] = out
        end
    end
end

local function check_examples(model)
    for _, m in ipairs(model.messages) do
        local raw = m.message.raw_examples
        if type(raw) ~= "table" or #raw == 0 then
            fail(m.where, "message %s: needs at least one example", m.name)
        end
        m.message.examples = {}
        for i, text in ipairs(raw) do
            local ok, value = pcall(json.decode, text)
            if not ok then fail(m.where, "message %s: example %d: %s", m.name, i, value) end
            local err = validate.value(m, value, "")
            if err then
                fail(m.where, "message %s: example %d does not match its message: %s: %s",
                     m.name, i, err.path, err.reason)
            end
            m.message.examples[i] = { value = value, text = json.encode(value) }
        end
    end
end

-- A channel's schema version (ch.version): its `version` key, or else the
-- highest `since` in it. No declaration or field may be newer than it.
-- Snapshots and `switchboard schema diff` (diff.lua) give it its meaning.
local function check_version(ch)
    local top, at = ch.since, ch.where
    local function see(since, where)
        if since and since > top then top, at = since, where end
    end
    for _, n in ipairs(ch.all_named) do
        see(n.since, n.where)
        for _, f in ipairs(n.fields or {}) do see(f.since, n.where) end
    end
    for _, ep in ipairs(ch.endpoints) do see(ep.since, ep.where) end
    for _, a in ipairs(ch.actions) do see(a.since, a.where) end
    local v = ch.declared_version
    if v == nil then
        ch.version = top
    elseif math.type(v) ~= "integer" or v < 1 then
        fail(ch.where, "channel %s: version must be an integer >= 1", ch.name)
    elseif v < top then
        fail(at, "channel %s: since = %d is newer than the channel's version %d", ch.name, top, v)
    else
        ch.version = v
    end
end

function check.model(units)
    local model = { channels = {}, channel_by_name = {}, messages = {}, named = {} }
    for _, unit in ipairs(units) do check_unit(model, unit) end
    for _, ch in ipairs(model.channels) do
        for _, n in ipairs(ch.all_named) do
            if n.kind == "object" or n.kind == "alias" then
                resolve_refs(model, n)
            end
        end
        for _, ep in ipairs(ch.endpoints) do
            if ep.request then ep.request = resolve_refs(model, ep.request) end
            ep.response = resolve_refs(model, ep.response)
        end
        finish_endpoints(model, ch)
        finish_actions(model, ch)
    end
    for _, ch in ipairs(model.channels) do
        for _, n in ipairs(ch.all_named) do check_cycles(n, {}) end
        order_types(ch)
        ch.c_types = {}
        for _, t in ipairs(ch.types) do
            if not t.ts_only then ch.c_types[#ch.c_types + 1] = t end
        end
    end
    check_examples(model)
    for _, ch in ipairs(model.channels) do check_action_examples(ch) end
    for _, ch in ipairs(model.channels) do check_version(ch) end
    return model
end

return check
