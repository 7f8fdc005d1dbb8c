-- model_json.lua: the checked model (check.lua) as plain, normalized data,
-- written as deterministic JSON: what `switchboard schema diff` compares and
-- what a version snapshot (schema/snapshots/<channel>.v<N>.json) holds.
--
-- Only what is on the wire, or decides what is accepted, is kept: names,
-- directions, discriminators, field presence, types and their limits,
-- endpoints, actions, errors, and `since`. Docs, examples and C/TypeScript
-- names are left out, so that a doc edit needs no new snapshot.
--
-- One channel:
--   { name, version, transport, path, unknown_fields,
--     unions = { in = { discriminator }, out = ... },
--     errors = [ { name, text, status } ],
--     http_errors = { body, text, name, auth_error, invalid_error },
--     action_spec = { request, name, data, response, result, response_name },
--     types = { NAME = def },   -- every named node: declared and inline
--     messages = { NAME = { dir, disc_field, disc_value, since } },
--     endpoints = { NAME = { method, path, auth, long_poll, optional_body,
--                            request, response, query, path_params, errors, since } },
--     actions = { NAME = { permission, proxy, data, result, errors, since } } }
-- A def: { kind = "object", fields = [ { name, presence, type, since } ],
--          unknown_fields, one_of_required, inline, since }
--      | { kind = "enum", values = [...], inline, since } | { kind = "alias", of, since }
-- A type: { kind = "string", min, max, format, pattern } | { kind = "int", min, max }
--       | { kind = "number", min, max } | { kind = "bool" } | { kind = "any" }
--       | { kind = "literal", value } | { kind = "timestamp", format }
--       | { kind = "array", of, min, max } | { kind = "ref", name } | { kind = "union", dir }

local json = require("json")

local M = {}

-- lists are marked, so that an empty one is written [] rather than {}
local ARRAY = {}
local function list() return setmetatable({}, ARRAY) end

local function type_expr(t)
    local k = t.kind
    if k == "object" or k == "enum" or k == "alias" then
        return { kind = "ref", name = t.name }
    elseif k == "union" then
        return { kind = "union", dir = t.dir }
    elseif k == "string" then
        return { kind = "string", min = t.min, max = t.max, format = t.format,
                 pattern = t.pattern and t.pattern.source }
    elseif k == "int" then
        return { kind = "int", min = t.has_min and t.min or nil, max = t.has_max and t.max or nil }
    elseif k == "number" then
        return { kind = "number", min = t.min, max = t.max }
    elseif k == "literal" then
        return { kind = "literal", value = t.value }
    elseif k == "timestamp" then
        return { kind = "timestamp", format = t.format }
    elseif k == "array" then
        return { kind = "array", of = type_expr(t.of), min = t.min, max = t.max }
    end
    return { kind = k }
end

local function def(n)
    if n.kind == "object" then
        local fields = list()
        for i, f in ipairs(n.fields) do
            fields[i] = { name = f.name, presence = f.presence, type = type_expr(f.type), since = f.since }
        end
        return { kind = "object", fields = fields, unknown_fields = n.unknown_fields,
                 one_of_required = n.one_of_required, since = n.since,
                 inline = (n.inline or n.action ~= nil) or nil }
    elseif n.kind == "enum" then
        local values = list()
        for i, v in ipairs(n.values) do values[i] = v end
        return { kind = "enum", values = values, since = n.since, inline = n.since == nil or nil }
    end
    return { kind = "alias", of = type_expr(n.of), since = n.since, inline = n.action ~= nil or nil }
end

local function names_of(es)
    local out = list()
    for i, e in ipairs(es) do out[i] = e.name end
    return out
end

-- The schema version of a channel: check.lua's ch.version.
function M.channel(ch)
    local c = { name = ch.name, version = ch.version, since = ch.since, transport = ch.transport,
                path = ch.path, unknown_fields = ch.unknown_fields,
                unions = {}, errors = list(), types = {}, messages = {}, endpoints = {}, actions = {} }
    for _, dir in ipairs({ "in", "out" }) do
        local u = ch.unions[dir]
        if u then c.unions[dir] = { discriminator = u.discriminator } end
    end
    for i, e in ipairs(ch.errors) do c.errors[i] = { name = e.name, text = e.text, status = e.status } end
    local he = ch.http_errors
    if he then
        c.http_errors = { body = he.body.name, text = he.text, name = he.name,
                          auth_error = he.auth_error and he.auth_error.name,
                          invalid_error = he.invalid_error and he.invalid_error.name }
    end
    local as = ch.action_spec
    if as then
        c.action_spec = { request = as.request.name, name = as.name, data = as.data,
                          response = as.response.name, result = as.result,
                          response_name = as.response_name }
    end
    for _, n in ipairs(ch.all_named) do c.types[n.name] = def(n) end
    for _, m in ipairs(ch.messages) do
        c.messages[m.name] = { dir = m.message.dir, disc_field = m.message.disc_field and m.message.disc_field.name,
                               disc_value = m.message.disc_value, since = m.since }
    end
    for _, ep in ipairs(ch.endpoints) do
        c.endpoints[ep.name] = {
            method = ep.method, path = ep.path, auth = ep.auth_hook or ep.auth,
            long_poll = ep.long_poll, optional_body = ep.optional_body,
            request = ep.request and type_expr(ep.request), response = type_expr(ep.response),
            query = ep.query and ep.query.name, path_params = ep.path_params and ep.path_params.name,
            errors = names_of(ep.errors), since = ep.since,
        }
    end
    for _, a in ipairs(ch.actions) do
        c.actions[a.name] = { permission = a.permission, proxy = a.proxy, errors = names_of(a.errors),
                              data = a.data and type_expr(a.data), result = a.result and type_expr(a.result),
                              since = a.since }
    end
    return c
end

-- { channel name = normalized channel } of a whole model
function M.model(model)
    local out = {}
    for _, ch in ipairs(model.channels) do out[ch.name] = M.channel(ch) end
    return out
end

-- Deterministic JSON: object keys sorted, a value on one line when it fits
-- in 100 columns, else one key or item per line.
local function is_array(t)
    if getmetatable(t) == ARRAY then return true end
    if next(t) == nil then return false end
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    return #t == n
end

local function scalar(v)
    if type(v) == "string" then return json.encode_string(v) end
    if type(v) == "boolean" then return tostring(v) end
    if math.type(v) == "integer" then return string.format("%d", v) end
    if type(v) == "number" then
        local s = string.format("%.17g", v)
        if tonumber(string.format("%.15g", v)) == v then s = string.format("%.15g", v) end
        return s
    end
    error("model_json: cannot encode " .. type(v))
end

local function sorted_keys(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    return keys
end

local function compact(v)
    if type(v) ~= "table" then return scalar(v) end
    local parts = {}
    if is_array(v) then
        for i, x in ipairs(v) do parts[i] = compact(x) end
        return "[" .. table.concat(parts, ", ") .. "]"
    end
    for _, k in ipairs(sorted_keys(v)) do parts[#parts + 1] = json.encode_string(k) .. ": " .. compact(v[k]) end
    return "{" .. table.concat(parts, ", ") .. "}"
end

local function pretty(v, indent, lead)
    local one = compact(v)
    if type(v) ~= "table" or #indent + lead + #one <= 100 then return one end
    local inner = indent .. "  "
    local parts = {}
    if is_array(v) then
        for i, x in ipairs(v) do parts[i] = inner .. pretty(x, inner, 0) end
        return "[\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "]"
    end
    for _, k in ipairs(sorted_keys(v)) do
        local key = json.encode_string(k) .. ": "
        parts[#parts + 1] = inner .. key .. pretty(v[k], inner, #key)
    end
    return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
end

function M.encode(v)
    return pretty(v, "", 0) .. "\n"
end

-- JSON text (as M.encode writes it) back to plain Lua tables.
local function plain(v)
    if v == json.null then return nil end
    if json.is_object(v) then
        local t = {}
        for _, k in ipairs(v.keys) do t[k] = plain(v.values[k]) end
        return t
    elseif json.is_array(v) then
        local t = list()
        for i = 1, v.n do t[i] = plain(v[i]) end
        return t
    elseif json.is_number(v) then
        return math.tointeger(tonumber(v.text)) or tonumber(v.text)
    end
    return v
end

function M.decode(text)
    return plain(json.decode(text))
end

return M
