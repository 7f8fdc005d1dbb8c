-- emit_ts.lua: TypeScript types for clients, one module per channel.
--
-- For a channel chat it writes
--   ts/chat.ts                    types only (plus a few `as const` tables):
--                                 enums as string-literal unions with a Values
--                                 array, every object node as an interface,
--                                 the inbound/outbound unions, error strings,
--                                 HTTP endpoints and actions (the request map
--                                 <Ch>RequestMap and typed envelopes);
--   ts/examples/chat.examples.ts  every schema example as a typed constant,
--                                 so that `tsc --strict` proves the types
--                                 accept what the server accepts;
-- and ts/index.ts, which re-exports each channel under its name.
--
-- The types say exactly what the C parser accepts, as far as TypeScript can:
-- presence maps to `?` and `| null`, literals to literal types, and
-- one_of_required to an intersection that needs at least one of the fields.
-- What TypeScript cannot say (byte lengths, integer ranges, timestamp formats)
-- goes into the JSDoc of the field.

local text = require("text")
local json = require("json")

local emit = {}

local TS_RESERVED = {}
for w in ([[break case catch class const continue debugger default delete do else enum
  export extends false finally for function if import in instanceof new null return super
  switch this throw true try typeof var void while with implements interface let package
  private protected public static yield any boolean number string symbol unknown never
  object undefined type]]):gmatch("%S+") do
    TS_RESERVED[w] = true
end

local function is_ident(s)
    return s:match("^[A-Za-z_$][A-Za-z0-9_$]*$") ~= nil
end

-- A property name or object key: bare when it is an identifier, else a string.
local function prop(name)
    if is_ident(name) then return name end
    return json.encode_string(name)
end

local function lower_first(s)
    return (s:gsub("^%u+", function(u)
        -- "HTTPRequest" -> "httpRequest", "Role" -> "role"
        if #u > 1 and #u < #s then return u:sub(1, -2):lower() .. u:sub(-1) end
        return u:lower()
    end))
end

-- Numbers in comments: integers as integers, others as short as round-trips.
local function num(v)
    if math.type(v) == "integer" then return string.format("%d", v) end
    local s = string.format("%.15g", v)
    if tonumber(s) ~= v then s = string.format("%.17g", v) end
    return s
end
emit.num = num

-- What a type's TypeScript cannot say, as one sentence (or nil).
-- Shared with emit_docs.lua through emit.limits.
local function limits(t)
    local k = t.kind
    if k == "string" then
        local s
        if t.min > 0 then
            s = string.format("%d to %d bytes (UTF-8)", t.min, t.max)
        else
            s = string.format("max %d bytes (UTF-8)", t.max)
        end
        if t.format == "iso8601" then
            s = (t.format_name == "date-time" and "date-time: " or "") ..
                "ISO-8601 timestamp with seconds and a zone, " .. s
        elseif t.format == "uri" then
            s = "URI (absolute, RFC 3986), " .. s
        elseif t.format == "email" then
            s = "email address, " .. s
        end
        if t.pattern then s = s .. "; matches " .. t.pattern.source .. " (on bytes)" end
        return s
    elseif k == "int" then
        if t.has_min and t.has_max then return string.format("integer, %d..%d", t.min, t.max) end
        if t.has_min then return string.format("integer >= %d", t.min) end
        if t.has_max then return string.format("integer <= %d", t.max) end
        return "integer (64-bit; exact in JavaScript only up to 2^53)"
    elseif k == "number" then
        if t.min and t.max then return string.format("number, %s..%s", num(t.min), num(t.max)) end
        if t.min then return "number >= " .. num(t.min) end
        if t.max then return "number <= " .. num(t.max) end
        return nil
    elseif k == "timestamp" then
        if t.format == "unix" then return "Unix timestamp, integer seconds" end
        if t.format == "unix_ms" then return "Unix timestamp, integer milliseconds" end
        return "ISO-8601 with seconds and a zone, e.g. 2023-10-11T21:20:00Z"
    elseif k == "any" then
        return "any JSON value"
    elseif k == "array" then
        local s
        if t.min > 0 then
            s = string.format("%d to %d items", t.min, t.max)
        else
            s = string.format("max %d items", t.max)
        end
        local inner = limits(t.of)
        if inner then s = s .. "; each " .. inner end
        return s
    end
    return nil
end
emit.limits = limits

-- The TypeScript type expression for a model type.
local function ts_type(t)
    local k = t.kind
    if k == "string" then return "string" end
    if k == "int" or k == "number" then return "number" end
    if k == "timestamp" then return t.format == "iso8601" and "string" or "number" end
    if k == "bool" then return "boolean" end
    if k == "any" then return "unknown" end
    if k == "literal" then return json.encode_string(t.value) end
    if k == "enum" or k == "object" or k == "union" or k == "alias" then return t.ts_name end
    if k == "array" then
        local inner = ts_type(t.of)
        if inner:find("[%s|&]") then inner = "(" .. inner .. ")" end
        return inner .. "[]"
    end
    error("emit_ts: unknown type kind " .. tostring(k))
end

local function field_type(f)
    local s = ts_type(f.type)
    -- `unknown | null` is just `unknown`
    if f.nullable and f.type.kind ~= "any" then s = s .. " | null" end
    return s
end

-- A JSDoc comment from paragraphs (each a string, possibly multi-line; nil or
-- empty ones are skipped). One line when it fits, else a block.
local function jsdoc(w, ...)
    local paras = table.pack(...)
    local lines = {}
    for i = 1, paras.n do
        local p = paras[i]
        if p and p:match("%S") then
            if #lines > 0 then lines[#lines + 1] = "" end
            for l in (p:gsub("%s+$", "") .. "\n"):gmatch("(.-)\n") do
                -- "*/" would end the comment early
                lines[#lines + 1] = (l:gsub("%s+$", ""):gsub("%*/", "*\\/"))
            end
        end
    end
    if #lines == 0 then return end
    if #lines == 1 and #lines[1] + w.depth * 4 <= 92 then
        w:line("/** %s */", lines[1])
        return
    end
    w:line("/**")
    for _, l in ipairs(lines) do
        if l == "" then w:line(" *") else w:line(" * %s", l) end
    end
    w:line(" */")
end

local function sentence(s)
    -- "followed by the action as sent" -> "Followed by the action as sent."
    if not s then return nil end
    s = s:gsub("^%l", string.upper)
    if not s:match("[.!?]$") then s = s .. "." end
    return s
end

-- A doc and a sentence about limits: one line when the doc is one line.
local function join_doc(doc, extra)
    if not doc or not doc:match("%S") then return extra end
    doc = doc:gsub("%s+$", "")
    if not extra then return doc end
    if doc:find("\n") then return doc .. "\n\n" .. extra end
    return doc .. " " .. extra
end
emit.join_doc = join_doc
emit.sentence = sentence

-- `export type Name = a | b | c;`, one member a line when long.
local function emit_union_alias(w, name, members)
    if #members == 0 then
        w:line("export type %s = never;", name)
        return
    end
    local one = string.format("export type %s = %s;", name, table.concat(members, " | "))
    if #one <= 100 then
        w:line("%s", one)
        return
    end
    w:line("export type %s =", name)
    for i, m in ipairs(members) do
        w:line("    | %s%s", m, i == #members and ";" or "")
    end
end

-- `export const Name = [a, b] as const;`, one item a line when long.
local function emit_const_array(w, name, items)
    local one = string.format("export const %s = [%s] as const;", name, table.concat(items, ", "))
    if #one <= 100 then
        w:line("%s", one)
        return
    end
    w:line("export const %s = [", name)
    for _, it in ipairs(items) do w:line("    %s,", it) end
    w:line("] as const;")
end

-- Names this module exports, so that a schema name which collides with a
-- generated one (a payload called "RoleValues", say) stops the build here
-- instead of producing a module that does not compile.
local function name_table(ch)
    local seen = {}
    return function(name, what)
        if seen[name] then
            error(string.format("emit_ts: channel %s: %s %s collides with %s", ch.name, what, name,
                                seen[name]), 0)
        end
        if TS_RESERVED[name] then
            error(string.format("emit_ts: channel %s: %s %s is a TypeScript keyword", ch.name, what, name), 0)
        end
        seen[name] = what
    end
end

-- Where each inline object or enum is declared, keyed by node:
-- { node = NewRoomPayload, field = "data", item = false }, for its doc
-- comment (item: it is the type of the items of an array field).
local function inline_parents(ch)
    local parent = {}
    local function walk(t, owner)
        if t.kind == "array" then
            return walk(t.of, { node = owner.node, field = owner.field, item = true })
        end
        if (t.kind == "object" and t.inline) or (t.kind == "enum" and not t.doc) then
            if not parent[t] then parent[t] = owner end
        end
    end
    for _, n in ipairs(ch.types) do
        if n.kind == "object" then
            for _, f in ipairs(n.fields) do walk(f.type, { node = n, field = f.name }) end
        end
    end
    return parent
end
emit.inline_parents = inline_parents

-- Named nodes of other channels that this channel's types use, grouped by
-- channel in model order and sorted by name, for `import type`.
local function foreign_imports(model, ch)
    local found = {} -- channel -> { names..., [name] = true }
    local function walk(t)
        if t.kind == "array" then return walk(t.of) end
        if (t.kind == "object" or t.kind == "enum" or t.kind == "union" or t.kind == "alias")
                and t.channel and t.channel ~= ch then
            local list = found[t.channel] or {}
            found[t.channel] = list
            if not list[t.ts_name] then
                list[t.ts_name] = true
                list[#list + 1] = t.ts_name
            end
        end
    end
    for _, n in ipairs(ch.types) do
        if n.kind == "object" then
            for _, f in ipairs(n.fields) do walk(f.type) end
        elseif n.kind == "alias" then
            walk(n.of)
        end
    end
    for _, ep in ipairs(ch.endpoints) do
        for _, t in ipairs({ ep.request or false, ep.response }) do
            if t then
                walk(t)
                if t.kind == "alias" then walk(t.of) end
            end
        end
    end
    local out = {}
    for _, other in ipairs(model.channels) do
        local list = found[other]
        if list then
            local names = table.move(list, 1, #list, 1, {})
            table.sort(names)
            out[#out + 1] = { channel = other, names = names }
        end
    end
    return out
end

local function message_note(m)
    local mm = m.message
    if mm.dir == "in" then
        return string.format("Inbound (client to server): %s %s, member of %s.", mm.disc_field.name,
                             json.encode_string(mm.disc_value), mm.union.ts_name)
    elseif mm.dir == "out" then
        return string.format("Outbound (server to client): %s %s, member of %s.", mm.disc_field.name,
                             json.encode_string(mm.disc_value), mm.union.ts_name)
    end
    return "HTTP message."
end

local function one_of_note(t)
    local quoted, nullable = {}, false
    for i, n in ipairs(t.one_of_required) do
        quoted[i] = "`" .. n .. "`"
        nullable = nullable or t.by_name[n].nullable
    end
    return "At least one of " .. table.concat(quoted, ", ") .. " must be present"
        .. (nullable and " (a null counts as present)." or ".")
end

local function emit_enum(w, t, parent, declare)
    declare(t.ts_name, "enum")
    declare(t.ts_name .. "Values", "values of enum " .. t.ts_name)
    local p = parent[t]
    local doc = t.doc or (p and ("Values of `" .. p.field .. "`" .. (p.item and " items" or "")
                                 .. " in " .. p.node.ts_name .. "."))
    jsdoc(w, doc)
    local items = {}
    for i, v in ipairs(t.values) do items[i] = json.encode_string(v) end
    emit_union_alias(w, t.ts_name, items)
    jsdoc(w, "Every value of " .. t.ts_name .. ", in schema order.")
    emit_const_array(w, t.ts_name .. "Values", items)
end

local function emit_object(w, t, ch, parent, declare)
    local iface = t.ts_name
    if t.one_of_required then iface = t.ts_name .. "Fields" end
    declare(t.ts_name, t.message and "message" or "object")
    if iface ~= t.ts_name then declare(iface, "fields of " .. t.ts_name) end

    local p = parent[t]
    local doc = t.doc or (p and (p.item and ("An item of `" .. p.field .. "` in " .. p.node.ts_name .. ".")
                                 or ("The `" .. p.field .. "` object of " .. p.node.ts_name .. ".")))
    local notes = {}
    if t.message then notes[#notes + 1] = message_note(t) end
    if t.unknown_fields ~= ch.unknown_fields then
        notes[#notes + 1] = t.unknown_fields == "ignore" and "Unknown fields are ignored."
            or "Unknown fields are rejected."
    end
    if t.one_of_required then notes[#notes + 1] = one_of_note(t) end
    if t.since and t.since ~= ch.since then notes[#notes + 1] = "@since " .. t.since end
    local note = #notes > 0 and table.concat(notes, "\n") or nil
    if iface ~= t.ts_name then
        jsdoc(w, t.ts_name .. " without its one_of_required rule; use " .. t.ts_name .. ".")
    else
        jsdoc(w, doc, note)
    end
    if #t.fields == 0 then
        -- `{}` would accept any non-null value; an empty object type is what we mean
        w:line("export interface %s {", iface)
        w:line("    [key: string]: never;")
        w:line("}")
    else
        w:line("export interface %s {", iface)
        w:indent()
        for _, f in ipairs(t.fields) do
            local since = f.since and f.since ~= (t.since or ch.since) and ("@since " .. f.since) or nil
            jsdoc(w, join_doc(f.doc, sentence(limits(f.type))), since)
            w:line("%s%s: %s;", prop(f.name), f.optional and "?" or "", field_type(f))
        end
        w:dedent()
        w:line("}")
    end
    if iface ~= t.ts_name then
        jsdoc(w, doc, note)
        local keys = {}
        for i, n in ipairs(t.one_of_required) do keys[i] = json.encode_string(n) end
        w:line("export type %s = AtLeastOneOf<%s, %s>;", t.ts_name, iface, table.concat(keys, " | "))
    end
end

-- A named type that is not an object (an endpoint body that is an array, say).
local function emit_alias(w, t, declare)
    declare(t.ts_name, "alias")
    jsdoc(w, join_doc(sentence(t.doc), sentence(limits(t.of))))
    w:line("export type %s = %s;", t.ts_name, ts_type(t.of))
end

local function emit_union(w, u, declare)
    declare(u.ts_name, "union")
    declare(u.ts_name .. "Types", "discriminator values of " .. u.ts_name)
    declare(u.ts_name .. "ByType", "members of " .. u.ts_name)
    local dir = u.dir == "in" and "Every message a client may send" or "Every message the server may send"
    jsdoc(w, u.doc, dir .. " on channel " .. u.channel.name .. ", told apart by `"
               .. u.discriminator .. "`.")
    local members, values = {}, {}
    for i, m in ipairs(u.members) do
        members[i] = m.ts_name
        values[i] = json.encode_string(m.message.disc_value)
    end
    emit_union_alias(w, u.ts_name, members)
    jsdoc(w, "Every `" .. u.discriminator .. "` value of " .. u.ts_name .. ", in schema order.")
    emit_const_array(w, u.ts_name .. "Types", values)
    jsdoc(w, "The members of " .. u.ts_name .. " by their `" .. u.discriminator .. "` value.")
    if #u.members == 0 then
        w:line("export interface %s {}", u.ts_name .. "ByType")
    else
        w:line("export interface %s {", u.ts_name .. "ByType")
        for i, m in ipairs(u.members) do
            w:line("    %s: %s;", prop(m.message.disc_value), members[i])
        end
        w:line("}")
    end
end

local function emit_errors(w, ch, declare)
    local name = ch.ts_prefix .. "Errors"
    declare(name, "error table")
    jsdoc(w, "Error strings of channel " .. ch.name .. ", exactly as the server sends them.")
    if #ch.errors == 0 then
        w:line("export const %s = {} as const;", name)
        return
    end
    w:line("export const %s = {", name)
    w:indent()
    for _, e in ipairs(ch.errors) do
        jsdoc(w, sentence(e.doc))
        w:line("%s: %s,", prop(e.name), json.encode_string(e.text))
    end
    w:dedent()
    w:line("} as const;")
    local with_status = {}
    for _, e in ipairs(ch.errors) do
        if e.status then with_status[#with_status + 1] = e end
    end
    if #with_status > 0 then
        local sname = ch.ts_prefix .. "ErrorStatus"
        declare(sname, "error statuses")
        jsdoc(w, "The HTTP status of each error an endpoint of channel " .. ch.name .. " may answer.")
        w:line("export const %s = {", sname)
        for _, e in ipairs(with_status) do w:line("    %s: %d,", prop(e.name), e.status) end
        w:line("} as const;")
    end
end

local function emit_endpoints(w, ch, declare)
    local iname, pname = ch.ts_prefix .. "Endpoints", ch.ts_prefix .. "EndpointPaths"
    declare(iname, "endpoint map")
    declare(pname, "endpoint paths")
    jsdoc(w, "HTTP endpoints of channel " .. ch.name .. " by name. `request` is `undefined` "
               .. "for an endpoint without a body.")
    local keys, seen = {}, {}
    for i, ep in ipairs(ch.endpoints) do
        -- "GetActions" -> getActions, as a client calls it
        keys[i] = prop(lower_first(ep.name))
        if seen[keys[i]] then
            error(string.format("emit_ts: channel %s: endpoints %s and %s are both %s", ch.name,
                                seen[keys[i]], ep.name, keys[i]), 0)
        end
        seen[keys[i]] = ep.name
    end
    w:line("export interface %s {", iname)
    w:indent()
    for i, ep in ipairs(ch.endpoints) do
        jsdoc(w, ep.doc, string.format("%s %s%s", ep.method, ep.path,
                                         ep.auth and ", authenticated." or ", no authentication."))
        w:line("%s: {", keys[i])
        w:line("    method: %s;", json.encode_string(ep.method))
        w:line("    path: %s;", json.encode_string(ep.path))
        w:line("    auth: %s;", ep.auth and "true" or "false")
        w:line("    pathParams: %s;", ep.path_params and ep.path_params.ts_name or "undefined")
        w:line("    query: %s;", ep.query and ep.query.ts_name or "undefined")
        w:line("    request: %s;", ep.request and ts_type(ep.request) or "undefined")
        w:line("    response: %s;", ts_type(ep.response))
        local errs = {}
        for _, e in ipairs(ep.errors) do errs[#errs + 1] = json.encode_string(e.name) end
        w:line("    /** the errors it may answer (%sErrors, %sErrorStatus) */", ch.ts_prefix, ch.ts_prefix)
        w:line("    errors: %s;", #errs > 0 and table.concat(errs, " | ") or "never")
        w:line("};")
    end
    w:dedent()
    w:line("}")
    jsdoc(w, "The path of each endpoint of channel " .. ch.name .. ".")
    w:line("export const %s = {", pname)
    for i, ep in ipairs(ch.endpoints) do
        w:line("    %s: %s,", keys[i], json.encode_string(ep.path))
    end
    w:line("} as const;")
end

-- Actions: the request map (action -> { data; result }), each action's
-- permission and proxy flag as a const table, and the request and response
-- envelopes typed per action.
local function emit_actions(w, ch, declare)
    local spec = ch.action_spec
    local P = ch.ts_prefix
    local map, name_t, info = P .. "RequestMap", P .. "ActionName", P .. "Actions"
    local reqs, resps = P .. "ActionRequests", P .. "ActionResponses"
    for _, n in ipairs({ map, name_t, info, P .. "ActionNames", P .. "ActionData", P .. "ActionResult",
                         reqs, P .. "ActionRequest", resps, P .. "ActionResponse" }) do
        declare(n, "action types")
    end
    local function ty(t) return t and ts_type(t) or "undefined" end
    jsdoc(w, "The actions of channel " .. ch.name .. " by name: the `data` that a " .. spec.request.ts_name
               .. "\ncarries in `" .. spec.data .. "` for each, and the `result` that the " .. spec.response.ts_name
               .. " carries in\n`" .. spec.result .. "`. `undefined`: the action takes no data (send none, or null), "
               .. "or answers\nno result.")
    w:line("export interface %s {", map)
    w:indent()
    for _, a in ipairs(ch.actions) do
        local notes = {}
        notes[#notes + 1] = a.permission and ("Permission: `" .. a.permission .. "`.") or "Any authenticated caller."
        if a.proxy then notes[#notes + 1] = "Served upstream (proxied)." end
        if a.since ~= ch.since then notes[#notes + 1] = "@since " .. a.since end
        jsdoc(w, a.doc, table.concat(notes, "\n"))
        w:line("%s: {", prop(a.name))
        w:line("    data: %s;", ty(a.data))
        w:line("    result: %s;", ty(a.result))
        w:line("};")
    end
    w:dedent()
    w:line("}")
    w:line("")
    jsdoc(w, "An action name of channel " .. ch.name .. ".")
    w:line("export type %s = keyof %s;", name_t, map)
    local names = {}
    for i, a in ipairs(ch.actions) do names[i] = json.encode_string(a.name) end
    jsdoc(w, "Every action name of channel " .. ch.name .. ", in schema order.")
    emit_const_array(w, P .. "ActionNames", names)
    jsdoc(w, "Each action's permission (`null`: any authenticated caller) and whether the server\n"
               .. "forwards it upstream (`proxy`).")
    w:line("export const %s = {", info)
    for _, a in ipairs(ch.actions) do
        w:line("    %s: { permission: %s, proxy: %s },", prop(a.name),
               a.permission and json.encode_string(a.permission) or "null", a.proxy and "true" or "false")
    end
    w:line("} as const;")
    w:line("")
    jsdoc(w, "The data of action A, as the request carries it.")
    w:line("export type %sActionData<A extends %s> = %s[A][\"data\"];", P, name_t, map)
    jsdoc(w, "The result of action A, as the response carries it.")
    w:line("export type %sActionResult<A extends %s> = %s[A][\"result\"];", P, name_t, map)

    local req, resp = spec.request, spec.response
    local omit_req = json.encode_string(spec.name) .. " | " .. json.encode_string(spec.data)
    w:line("")
    jsdoc(w, "The " .. req.ts_name .. " of each action: `" .. spec.name .. "` is its name, `"
               .. spec.data .. "` its data.")
    w:line("export interface %s {", reqs)
    w:indent()
    for _, a in ipairs(ch.actions) do
        w:line("%s: Omit<%s, %s> & {", prop(a.name), req.ts_name, omit_req)
        w:line("    %s: %s;", prop(spec.name), json.encode_string(a.name))
        w:line("    %s;", a.data and (prop(spec.data) .. ": " .. ts_type(a.data)) or (prop(spec.data) .. "?: null"))
        w:line("};")
    end
    w:dedent()
    w:line("}")
    jsdoc(w, "A " .. req.ts_name .. " for action A (any action by default), its data typed.")
    w:line("export type %sActionRequest<A extends %s = %s> = %s[A];", P, name_t, name_t, reqs)
    local rn = spec.response_name_field
    local omit_resp = (rn and (json.encode_string(rn.name) .. " | ") or "") .. json.encode_string(spec.result)
    w:line("")
    jsdoc(w, "The " .. resp.ts_name .. " of each action: `" .. spec.result .. "` is its result"
               .. (rn and (", `" .. rn.name .. "` its name") or "") .. ".")
    w:line("export interface %s {", resps)
    w:indent()
    for _, a in ipairs(ch.actions) do
        w:line("%s: Omit<%s, %s> & {", prop(a.name), resp.ts_name, omit_resp)
        if rn then
            w:line("    %s%s: %s;", prop(rn.name), rn.optional and "?" or "", json.encode_string(a.name))
        end
        w:line("    %s;", a.result and (prop(spec.result) .. ": " .. ts_type(a.result))
                              or (prop(spec.result) .. "?: never"))
        w:line("};")
    end
    w:dedent()
    w:line("}")
    jsdoc(w, "A " .. resp.ts_name .. " to action A (any action by default), its result typed.")
    w:line("export type %sActionResponse<A extends %s = %s> = %s[A];", P, name_t, name_t, resps)
end

local ONE_OF_HELPER = [[
    /**
     * T with at least one of the keys K present (a schema's one_of_required):
     * the union, over each key in K, of T with that key required.
     */
    type AtLeastOneOf<T, K extends keyof T> = T & { [P in K]-?: Required<Pick<T, P>> }[K];]]

local function emit_channel_types(model, ch)
    local w = text.writer()
    local declare = name_table(ch)
    local parent = inline_parents(ch)
    w:line("// Generated by generator/main.lua from %s. Do not edit.", ch.file)
    w:line("//")
    w:line("// Channel %s: %s %s; unknown fields are %s.", ch.name, ch.transport, ch.path or "(no path)",
           ch.unknown_fields == "ignore" and "ignored" or "rejected")
    w:line("")
    for _, imp in ipairs(foreign_imports(model, ch)) do
        for _, n in ipairs(imp.names) do declare(n, "import from " .. imp.channel.name) end
        w:line("import type { %s } from \"./%s\";", table.concat(imp.names, ", "), imp.channel.name)
        w:line("")
    end
    jsdoc(w, ch.doc)
    w:line("export const %s = %s;", ch.ts_prefix .. "Channel", json.encode_string(ch.name))
    declare(ch.ts_prefix .. "Channel", "channel name")
    if ch.path then
        jsdoc(w, "Where channel " .. ch.name .. " is served (" .. ch.transport .. ").")
        w:line("export const %s = %s;", ch.ts_prefix .. "Path", json.encode_string(ch.path))
        declare(ch.ts_prefix .. "Path", "channel path")
    end

    local uses_one_of = false
    for _, t in ipairs(ch.types) do
        if t.kind == "object" and t.one_of_required then uses_one_of = true end
    end
    if uses_one_of then
        declare("AtLeastOneOf", "helper type")
        w:line("")
        w:block(ONE_OF_HELPER)
    end

    local emitted = {}
    local function emit_node(t)
        emitted[t] = true
        w:line("")
        if t.kind == "enum" then
            emit_enum(w, t, parent, declare)
        elseif t.kind == "alias" then
            emit_alias(w, t, declare)
        else
            emit_object(w, t, ch, parent, declare)
        end
    end
    for _, t in ipairs(ch.types) do emit_node(t) end
    -- endpoint bodies that are aliases, should the model not list them in types
    -- (TypeScript does not mind the order of type declarations)
    for _, ep in ipairs(ch.endpoints) do
        for _, t in ipairs({ ep.request or false, ep.response }) do
            if t and t.kind == "alias" and not emitted[t] and (t.channel == nil or t.channel == ch) then
                emit_node(t)
            end
        end
    end
    for _, dir in ipairs({ "in", "out" }) do
        local u = ch.unions[dir]
        if u then
            w:line("")
            emit_union(w, u, declare)
        end
    end
    w:line("")
    emit_errors(w, ch, declare)
    if #ch.endpoints > 0 then
        w:line("")
        emit_endpoints(w, ch, declare)
    end
    if #ch.actions > 0 then
        w:line("")
        emit_actions(w, ch, declare)
    end
    return { path = "ts/" .. ch.name .. ".ts", text = w:text() }
end

-- An example as written may carry fields that its object ignores
-- (unknown_fields = "ignore"); the C parser accepts them, but a TypeScript
-- object literal with them fails the excess-property check. Drop them from
-- the literal and say so in a comment. Returns the value and the dropped paths.
local function prune(t, v, path, dropped)
    if v == json.null then return v end
    local k = t.kind
    if k == "array" and json.is_array(v) then
        local a = json.array()
        for i = 1, v.n do json.push(a, prune(t.of, v[i], path .. "[" .. (i - 1) .. "]", dropped)) end
        return a
    elseif k == "alias" then
        return prune(t.of, v, path, dropped)
    elseif k == "union" and json.is_object(v) then
        local member = t.by_value[v.values[t.discriminator]]
        return member and prune(member, v, path, dropped) or v
    elseif k == "object" and json.is_object(v) then
        local o = json.object()
        for _, key in ipairs(v.keys) do
            local f = t.by_name[key]
            local kpath = path == "" and key or path .. "." .. key
            if f then
                json.set(o, key, prune(f.type, v.values[key], kpath, dropped))
            else
                dropped[#dropped + 1] = kpath
            end
        end
        return o
    end
    return v
end

local function emit_channel_examples(ch)
    local w = text.writer()
    local declare = name_table(ch)
    w:line("// Generated by generator/main.lua from %s. Do not edit.", ch.file)
    w:line("//")
    w:line("// Every example of channel %s, typed against its message and, for union", ch.name)
    w:line("// members, against its union: `tsc --strict` must accept all of them.")
    local imports, seen = {}, {}
    local function use(name)
        if not seen[name] then
            seen[name] = true
            imports[#imports + 1] = name
        end
    end
    for _, m in ipairs(ch.messages) do
        use(m.ts_name)
        if m.message.union then use(m.message.union.ts_name) end
    end
    if #ch.actions > 0 then use(ch.ts_prefix .. "RequestMap") end
    if #imports == 0 then
        w:line("")
        w:line("export {};")
        return { path = "ts/examples/" .. ch.name .. ".examples.ts", text = w:text() }
    end
    table.sort(imports)
    w:line("")
    w:line("import type {")
    for _, n in ipairs(imports) do w:line("    %s,", n) end
    w:line("} from \"../%s\";", ch.name)
    local union_count = {}
    for _, m in ipairs(ch.messages) do
        w:line("")
        local u = m.message.union
        for i, ex in ipairs(m.message.examples) do
            local dropped = {}
            local literal = json.encode(prune(m, ex.value, "", dropped))
            if #dropped > 0 then
                w:line("// ignored unknown fields left out: %s", table.concat(dropped, ", "))
            end
            local name = lower_first(m.ts_name) .. "_" .. i
            declare(name, "example")
            w:line("export const %s: %s = %s;", name, m.ts_name, literal)
            if u then
                union_count[u] = (union_count[u] or 0) + 1
                local uname = lower_first(u.ts_name) .. "_" .. union_count[u]
                declare(uname, "example")
                w:line("export const %s: %s = %s;", uname, u.ts_name, literal)
            end
        end
    end
    -- an action's example is a { data, result } pair: its entry of the request map
    if #ch.actions > 0 then w:line("") end
    for _, a in ipairs(ch.actions) do
        for i, ex in ipairs(a.examples) do
            local parts = {}
            for _, key in ipairs({ "data", "result" }) do
                if ex[key] then
                    local dropped = {}
                    local literal = json.encode(prune(a[key], ex[key].value, key, dropped))
                    if #dropped > 0 then
                        w:line("// ignored unknown fields left out: %s", table.concat(dropped, ", "))
                    end
                    parts[#parts + 1] = key .. ": " .. literal
                else
                    parts[#parts + 1] = key .. ": undefined"
                end
            end
            local name = lower_first(a.name) .. "Action_" .. i
            declare(name, "example")
            w:line("export const %s: %sRequestMap[%s] = { %s };", name, ch.ts_prefix, json.encode_string(a.name),
                   table.concat(parts, ", "))
        end
    end
    return { path = "ts/examples/" .. ch.name .. ".examples.ts", text = w:text() }
end

local function emit_index(model)
    local w = text.writer()
    w:line("// Generated by generator/main.lua from schema/*.lua. Do not edit.")
    w:line("//")
    w:line("// Every channel's types under its name: import { chat } from \"./index\";")
    w:line("// then chat.SendMessageEvent, chat.ChatErrors.ROOM_NOT_FOUND, ...")
    w:line("")
    for _, ch in ipairs(model.channels) do
        w:line("export * as %s from \"./%s.js\";", ch.name, ch.name)
    end
    return { path = "ts/index.ts", text = w:text() }
end

function emit.emit(model)
    local out = {}
    for _, ch in ipairs(model.channels) do
        out[#out + 1] = emit_channel_types(model, ch)
    end
    for _, ch in ipairs(model.channels) do
        out[#out + 1] = emit_channel_examples(ch)
    end
    out[#out + 1] = emit_index(model)
    return out
end

return emit
