-- emit_openapi.lua: OpenAPI 3.1.0, one document per channel with endpoints.
--
-- openapi/<channel>.json describes the channel's HTTP endpoints: paths (a
-- path with several methods is one path item), path and query parameters,
-- the request body, the declared response as 200, and every error the
-- endpoint may answer (check.lua adds the adapter's auth and invalid errors)
-- under its status with the channel's error body. One document per channel
-- rather than one for the server: each is self-contained (its own
-- components.schemas, copied from the channel's JSON Schema defs, see
-- emit_jsonschema.lua) and matches one generated C/TS unit; the channels are
-- served by different programs with different authentication.
--
-- Security schemes, by what an endpoint's `auth` says:
--   false       no security
--   "operator"  operatorKey (Authorization: Bearer sbk_..., the operator API key)
--   true        the channel's own scheme (CHANNEL_AUTH below): chat's bearer
--               token (or ?token=), dashboard's fin_session_id query
--               parameter, therapy's sb_therapy session cookie, realtime's
--               operator API (the operator key)

local json = require("json")
local js = require("emit_jsonschema")

local obj, arr = js.obj, js.arr

local M = {}

M.SERVER = "http://127.0.0.1:8080"

-- Every scheme a document may name, with its definition.
local SCHEMES = {
    chatToken = function()
        return obj("type", "http", "scheme", "bearer",
                   "description", "The chat user's access token: Authorization: Bearer TOKEN.")
    end,
    chatTokenQuery = function()
        return obj("type", "apiKey", "in", "query", "name", "token",
                   "description", "The chat user's access token as the query parameter token.")
    end,
    operatorKey = function()
        return obj("type", "http", "scheme", "bearer", "bearerFormat", "sbk_...",
                   "description", "An operator API key (switchboard key create): Authorization: Bearer sbk_....")
    end,
    therapySession = function()
        return obj("type", "apiKey", "in", "cookie", "name", "sb_therapy",
                   "description", "The therapy session cookie that /api/therapy/verifyCode sets.")
    end,
    finSession = function()
        return obj("type", "apiKey", "in", "query", "name", "fin_session_id",
                   "description", "The dashboard session from /auth_handshake, as the query parameter fin_session_id.")
    end,
}

-- A channel's default scheme(s) (auth = true): alternatives, any one suffices.
local CHANNEL_AUTH = {
    chat = { "chatToken", "chatTokenQuery" },
    dashboard = { "finSession" },
    therapy = { "therapySession" },
    realtime = { "operatorKey" },
}

-- The schemes an endpoint accepts, as names (alternatives); nil for none.
-- A channel or hook this file does not know gets a scheme of its own,
-- <channel>Auth or <channel>_<hook> (an http bearer naming the C hook), so a
-- new channel still exports; add it above to say what it really takes.
local function endpoint_schemes(ch, ep, extra)
    if not ep.auth then return nil end
    if ep.auth_hook == "operator" then return { "operatorKey" } end
    if not ep.auth_hook and CHANNEL_AUTH[ch.name] then return CHANNEL_AUTH[ch.name] end
    local name = ep.auth_hook and (ch.name .. "_" .. ep.auth_hook) or (ch.name .. "Auth")
    local hook = ch.name .. "_http_authenticate" .. (ep.auth_hook and ("_" .. ep.auth_hook) or "")
    extra[name] = obj("type", "http", "scheme", "bearer",
                      "description", "What the C hook " .. hook .. " accepts.")
    return { name }
end

local function ref(node) return obj("$ref", "#/components/schemas/" .. node.ts_name) end

-- A params object's fields as OpenAPI parameters `where` ("path", "query").
local function parameters(params, where, out)
    for _, f in ipairs(params.fields) do
        local s = js.type_schema(f.type, "#/components/schemas/")
        if f.nullable then s = obj("anyOf", arr({ s, obj("type", "null") })) end
        out[#out + 1] = obj("name", f.name, "in", where, "description", js.oneline(f.doc),
                            "required", where == "path" or not f.optional, "schema", s)
    end
end

local function json_content(schema)
    return obj("application/json", obj("schema", schema))
end

local function operation(ch, ep, extra)
    local op = obj("operationId", ep.name, "summary", js.oneline(ep.doc))
    if ep.long_poll then
        json.set(op, "description", js.oneline(ep.doc) ..
                 " A long poll: the answer may wait until there is something to send.")
    end
    local params = {}
    if ep.path_params then parameters(ep.path_params, "path", params) end
    if ep.query then parameters(ep.query, "query", params) end
    if #params > 0 then json.set(op, "parameters", arr(params)) end
    if ep.request then
        json.set(op, "requestBody", obj("required", not ep.optional_body, "content", json_content(ref(ep.request))))
    end
    local responses = obj("200", obj("description", "Success: " .. ep.response.ts_name .. ".",
                                     "content", json_content(ref(ep.response))))
    -- errors by status, in status order; several errors may share one
    local statuses, by_status = {}, {}
    for _, e in ipairs(ep.errors) do
        local st = tostring(e.status)
        if not by_status[st] then
            by_status[st] = {}
            statuses[#statuses + 1] = st
        end
        local t = by_status[st]
        t[#t + 1] = e.name .. (e.text ~= "" and (" (" .. json.encode_string(e.text) .. ")") or "")
    end
    table.sort(statuses)
    for _, st in ipairs(statuses) do
        json.set(responses, st, obj("description", table.concat(by_status[st], "; ") .. ".",
                                    "content", json_content(ref(ch.http_errors.body))))
    end
    json.set(op, "responses", responses)
    local schemes = endpoint_schemes(ch, ep, extra)
    if schemes then
        local sec = {}
        for i, s in ipairs(schemes) do sec[i] = obj(s, arr({})) end
        json.set(op, "security", arr(sec))
    else
        json.set(op, "security", arr({})) -- explicitly none
    end
    return op, schemes
end

function M.document(ch)
    local paths, order = {}, {}
    local used, extra, extra_names = {}, {}, {}
    for _, ep in ipairs(ch.endpoints) do
        if not paths[ep.path] then
            paths[ep.path] = json.object()
            order[#order + 1] = ep.path
        end
        local op, schemes = operation(ch, ep, extra)
        json.set(paths[ep.path], ep.method:lower(), op)
        for _, s in ipairs(schemes or {}) do
            if extra[s] and not used[s] then extra_names[#extra_names + 1] = s end
            used[s] = true
        end
    end
    local pobj = json.object()
    for _, p in ipairs(order) do json.set(pobj, p, paths[p]) end
    local schemas = json.object()
    for _, d in ipairs(js.defs(ch, "#/components/schemas/")) do json.set(schemas, d.name, d.schema) end
    local components = obj("schemas", schemas)
    -- the schemes in a fixed order, those the document uses
    local sec = json.object()
    for _, name in ipairs({ "chatToken", "chatTokenQuery", "operatorKey", "therapySession", "finSession" }) do
        if used[name] then json.set(sec, name, SCHEMES[name]()) end
    end
    for _, name in ipairs(extra_names) do json.set(sec, name, extra[name]) end
    if #sec.keys > 0 then json.set(components, "securitySchemes", sec) end
    return obj(
        "openapi", "3.1.0",
        "info", obj("title", "Switchboard channel " .. ch.name .. " (HTTP)",
                    "version", tostring(ch.since),
                    "description", (js.oneline(ch.doc) or "") ..
                        " Generated by generator/main.lua from " .. ch.file .. ". Do not edit. " .. js.LENGTH_NOTE),
        "jsonSchemaDialect", js.DIALECT,
        "servers", arr({ obj("url", M.SERVER, "description", "A local switchboard (the default --port)") }),
        "paths", pobj,
        "components", components)
end

function M.emit(model)
    local out = {}
    for _, ch in ipairs(model.channels) do
        if #ch.endpoints > 0 then
            out[#out + 1] = { path = "openapi/" .. ch.name .. ".json", text = js.text(M.document(ch)) }
        end
    end
    return out
end

return M
