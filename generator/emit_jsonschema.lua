-- emit_jsonschema.lua: JSON Schema 2020-12, one document per channel.
--
-- jsonschema/<channel>.schema.json holds a `$defs` entry for every named type
-- of the channel (messages, payloads, params, enumerations, inline objects
-- and enums, endpoint and action bodies) and one per union (`ChatInbound`,
-- `ChatOutbound`: a `oneOf` of the member messages, each of which carries its
-- discriminator as a `const`). The root asserts nothing: validate against
-- `#/$defs/<Name>`. Every message's schema examples are its def's `examples`,
-- so a consumer (and tests/exports) can check them without the generator.
--
-- What JSON Schema cannot say exactly (docs/schema.md, "Exports"):
--   - str limits are bytes of UTF-8, minLength/maxLength count characters
--     (code points): exact for ASCII; maxLength = our max is looser for other
--     text (a character is up to 4 bytes), minLength = our min may refuse a
--     short non-ASCII string that has enough bytes.
--   - patterns match bytes here and code points there; they are rewritten
--     into ECMA-262 (`u` flag) with the same meaning on ASCII (see ecma_pattern).
--   - formats: our uri, email and ISO-8601 checks are profiles (docs/schema.md,
--     "Formats and patterns"), not each validator's idea of the format.
--   - integers: the parser takes int64 only; every int gets int64 bounds unless
--     the schema gives its own (JavaScript validators see them as doubles).
--
-- Other emitters reuse this one: M.type_schema and M.defs take a prefix for
-- `$ref`s, so AsyncAPI and OpenAPI copy the defs into components.schemas.
-- Output is deterministic: arrays in declaration order, objects built with
-- json.set (key order kept), never pairs() into output.

local json = require("json")
local ts = require("emit_ts")
local docs = require("emit_docs")

local M = {}

M.DIALECT = "https://json-schema.org/draft/2020-12/schema"

M.LENGTH_NOTE = "String lengths: the schema's str limits count bytes of UTF-8, JSON Schema's " ..
    "minLength/maxLength count characters. They agree on ASCII; maxLength is looser and minLength " ..
    "stricter than the server for other text."

-- An ordered JSON object from a flat list of key, value pairs (nil values skipped).
local function obj(...)
    local o = json.object()
    local n = select("#", ...)
    local args = { ... }
    for i = 1, n, 2 do
        if args[i + 1] ~= nil then json.set(o, args[i], args[i + 1]) end
    end
    return o
end
M.obj = obj

local function arr(list)
    local a = json.array()
    for _, v in ipairs(list) do json.push(a, v) end
    return a
end
M.arr = arr

-- A number of the schema as a JSON number, as short as round-trips.
local function num(v) return json.number(ts.num(v)) end

-- Doc strings as one line of prose (the schema wraps them by hand).
local function oneline(s)
    if not s then return nil end
    s = s:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
    return s ~= "" and s or nil
end
M.oneline = oneline

-- Our pattern dialect (pattern.lua) into ECMA-262 with the `u` flag, which
-- ajv and every JavaScript validator use. Differences handled here:
--   `.` matches any byte here, anything but a line terminator there: [\s\S]
--   `\s` is [ \t\n\r\f\v] here, with Unicode spaces there: spelt out
--   `\-` outside a class is refused by the `u` flag: a plain `-`
-- Everything else in the subset means the same on ASCII text. On other
-- text a pattern matches bytes here and code points there (`.{2}` is two
-- bytes here, two characters there).
function M.ecma_pattern(src)
    local out, i, in_class = {}, 1, false
    local SPACE = " \\t\\n\\r\\f\\v"
    while i <= #src do
        local c = src:sub(i, i)
        if c == "\\" then
            local e = src:sub(i + 1, i + 1)
            if e == "s" then
                out[#out + 1] = in_class and SPACE or ("[" .. SPACE .. "]")
            elseif e == "S" and not in_class then
                out[#out + 1] = "[^" .. SPACE .. "]"
            elseif e == "-" and not in_class then
                out[#out + 1] = "-"
            else
                out[#out + 1] = c .. e
            end
            i = i + 2
        else
            if c == "[" and not in_class then
                in_class = true
                -- a leading ] or ^] is not special in our dialect's classes either
            elseif c == "]" and in_class then
                in_class = false
            elseif c == "." and not in_class then
                c = "[\\s\\S]"
            end
            out[#out + 1] = c
            i = i + 1
        end
    end
    return table.concat(out)
end

local INT64_MIN, INT64_MAX = math.mininteger, math.maxinteger
local FORMATS = { iso8601 = "date-time", uri = "uri", email = "email" }

-- The schema of a type. `ref(node)` is the `$ref` of a named node.
local function type_schema(t, ref)
    local k = t.kind
    if k == "string" then
        local s = obj("type", "string")
        if t.min > 0 then json.set(s, "minLength", t.min) end
        json.set(s, "maxLength", t.max)
        if t.format then json.set(s, "format", FORMATS[t.format]) end
        if t.pattern then json.set(s, "pattern", M.ecma_pattern(t.pattern.source)) end
        return s
    elseif k == "int" then
        return obj("type", "integer", "minimum", t.has_min and t.min or INT64_MIN,
                   "maximum", t.has_max and t.max or INT64_MAX)
    elseif k == "number" then
        return obj("type", "number", "minimum", t.min and num(t.min), "maximum", t.max and num(t.max))
    elseif k == "bool" then
        return obj("type", "boolean")
    elseif k == "any" then
        return json.object()
    elseif k == "literal" then
        return obj("type", "string", "const", t.value)
    elseif k == "timestamp" then
        if t.format == "iso8601" then return obj("type", "string", "format", "date-time") end
        return obj("type", "integer", "minimum", 0, "maximum", INT64_MAX,
                   "description", t.format == "unix" and "Unix time in seconds" or "Unix time in milliseconds")
    elseif k == "array" then
        return obj("type", "array", "items", type_schema(t.of, ref),
                   "minItems", t.min > 0 and t.min or nil, "maxItems", t.max)
    elseif k == "enum" or k == "object" or k == "union" or k == "alias" then
        return obj("$ref", ref(t))
    end
    error("emit_jsonschema: unknown type kind " .. tostring(k))
end

-- A field's schema with its presence's null: a plain type gets
-- type [T, "null"]; a ref, enum or const gets anyOf [S, {type: null}].
local function nullable(s)
    local ty = s.values["type"]
    if type(ty) == "string" and s.values["const"] == nil and s.values["$ref"] == nil then
        json.set(s, "type", arr({ ty, "null" }))
        return s
    end
    return obj("anyOf", arr({ s, obj("type", "null") }))
end

function M.type_schema(t, prefix)
    return type_schema(t, function(n) return prefix .. n.ts_name end)
end

-- The def of a named node: an object, an enum, an alias or a union.
function M.def_schema(n, prefix)
    local function ref(x) return prefix .. x.ts_name end
    local s
    if n.kind == "enum" then
        s = obj("type", "string", "enum", arr(n.values))
    elseif n.kind == "alias" then
        s = type_schema(n.of, ref)
    elseif n.kind == "union" then
        local members = {}
        for i, m in ipairs(n.members) do members[i] = obj("$ref", ref(m)) end
        s = obj("oneOf", arr(members))
    else
        local props, required = json.object(), {}
        for _, f in ipairs(n.fields) do
            local fs = type_schema(f.type, ref)
            if f.nullable then fs = nullable(fs) end
            local doc = oneline(f.doc)
            if doc then
                -- a $ref beside description is fine in 2020-12
                json.set(fs, "description", doc)
            end
            json.set(props, f.name, fs)
            if not f.optional then required[#required + 1] = f.name end
        end
        s = obj("type", "object", "properties", props)
        if #required > 0 then json.set(s, "required", arr(required)) end
        json.set(s, "additionalProperties", n.unknown_fields ~= "reject")
        if n.one_of_required then
            local any = {}
            -- the field's name again under properties: ajv's strictRequired
            -- wants each required name declared beside it
            for i, fname in ipairs(n.one_of_required) do
                any[i] = obj("properties", obj(fname, true), "required", arr({ fname }))
            end
            json.set(s, "anyOf", arr(any))
        end
    end
    -- title and description first, for readers
    local doc = oneline(n.doc)
    if n.kind == "union" then
        doc = string.format("%s messages of channel %s, told apart by %s.",
                            n.dir == "in" and "Inbound" or "Outbound", n.channel.name, n.discriminator)
    end
    local head = obj("title", n.ts_name, "description", doc)
    for _, key in ipairs(s.keys) do json.set(head, key, s.values[key]) end
    if n.kind == "object" and n.message and n.message.examples then
        local ex = {}
        for i, e in ipairs(n.message.examples) do ex[i] = e.value end
        json.set(head, "examples", arr(ex))
    end
    -- an action's data or result: the action's examples
    if n.action and n.action.examples then
        local ex = {}
        for _, e in ipairs(n.action.examples) do
            if e[n.action_role] then ex[#ex + 1] = e[n.action_role].value end
        end
        if #ex > 0 then json.set(head, "examples", arr(ex)) end
    end
    return head
end

-- Every def of a channel, in order: the unions, then the named types
-- (dependencies first, as check.lua ordered them). { { name, schema }... }
function M.defs(ch, prefix)
    local out = {}
    for _, dir in ipairs({ "in", "out" }) do
        local u = ch.unions[dir]
        if u then out[#out + 1] = { name = u.ts_name, schema = M.def_schema(u, prefix), node = u } end
    end
    for _, t in ipairs(ch.types) do
        out[#out + 1] = { name = t.ts_name, schema = M.def_schema(t, prefix), node = t }
    end
    return out
end

function M.document(ch)
    local defs = json.object()
    for _, d in ipairs(M.defs(ch, "#/$defs/")) do json.set(defs, d.name, d.schema) end
    return obj(
        "$schema", M.DIALECT,
        "$id", "https://switchboard.invalid/jsonschema/" .. ch.name .. ".schema.json",
        "title", "Switchboard channel " .. ch.name,
        "description", oneline(ch.doc),
        "$comment", "Generated by generator/main.lua from " .. ch.file .. ". Do not edit. " ..
            "Validate against #/$defs/<Type>. " .. M.LENGTH_NOTE ..
            " Patterns match bytes in the server and code points here; formats are the server's " ..
            "profiles (docs/schema.md, Exports).",
        "$defs", defs)
end

-- Pretty JSON text with a final newline.
function M.text(v)
    return docs.pretty(v) .. "\n"
end

function M.emit(model)
    local out = {}
    for _, ch in ipairs(model.channels) do
        out[#out + 1] = { path = "jsonschema/" .. ch.name .. ".schema.json", text = M.text(M.document(ch)) }
    end
    return out
end

return M
