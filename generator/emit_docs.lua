-- emit_docs.lua: Markdown reference, one page per channel plus an index.
--
-- docs/<channel>.md: the channel (transport, path), its inbound and outbound
-- unions as tables (discriminator value -> message), then a section per
-- message, payload, params object, enum and endpoint body with a field table
-- (name, type with limits, presence, doc) and the schema's examples
-- pretty-printed, then the channel's actions (each with its data and result
-- types and its examples), its error strings and its HTTP endpoints.
-- docs/index.md lists the channels.
--
-- Pages are meant to be read on GitHub: links go to GitHub's heading anchors,
-- which this file computes the way GitHub does (see anchor_of), in two passes
-- so that a table can link to a section further down.

local text = require("text")
local json = require("json")
local ts = require("emit_ts")

local emit = {}

-- Pretty JSON ---------------------------------------------------------------

-- json.lua values as JSON.stringify(v, null, 2) would print them: key order
-- kept, numbers as written in the schema.
local function pretty(v, indent, out)
    indent = indent or ""
    out = out or {}
    if json.is_object(v) then
        if #v.keys == 0 then
            out[#out + 1] = "{}"
            return out
        end
        out[#out + 1] = "{\n"
        for i, k in ipairs(v.keys) do
            out[#out + 1] = indent .. "  " .. json.encode_string(k) .. ": "
            pretty(v.values[k], indent .. "  ", out)
            out[#out + 1] = i < #v.keys and ",\n" or "\n"
        end
        out[#out + 1] = indent .. "}"
    elseif json.is_array(v) then
        if v.n == 0 then
            out[#out + 1] = "[]"
            return out
        end
        out[#out + 1] = "[\n"
        for i = 1, v.n do
            out[#out + 1] = indent .. "  "
            pretty(v[i], indent .. "  ", out)
            out[#out + 1] = i < v.n and ",\n" or "\n"
        end
        out[#out + 1] = indent .. "]"
    else
        out[#out + 1] = json.encode(v)
    end
    return out
end

function emit.pretty(v)
    return table.concat(pretty(v))
end

-- Markdown helpers ----------------------------------------------------------

-- Prose from the schema as Markdown text: docs say things like "<type>_<n>",
-- which GitHub would take for HTML tags and drop.
local function prose(s)
    return (s:gsub("<", "&lt;"))
end

-- One line of prose, safe inside a table cell.
local function cell(s)
    s = tostring(s or ""):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
    return (prose(s):gsub("|", "\\|"))
end

-- Inline code; a span holding backticks gets a longer fence.
local function code(s)
    local fence = "`"
    while s:find(fence, 1, true) do fence = fence .. "`" end
    local pad = (s:match("^`") or s:match("`$")) and " " or ""
    return fence .. pad .. s .. pad .. fence
end

-- Inline code inside a table cell: pipes must be escaped even in code spans.
local function cell_code(s)
    return (code(s):gsub("|", "\\|"))
end

-- A doc string as Markdown paragraphs: the schema wraps lines by hand, so
-- lines are joined and blank lines kept as paragraph breaks.
local function paragraphs(w, s)
    if not s or not s:match("%S") then return end
    local para = {}
    local function flush()
        if #para > 0 then
            w:line("%s", prose(table.concat(para, " ")))
            w:line("")
            para = {}
        end
    end
    for l in (s .. "\n"):gmatch("(.-)\n") do
        l = l:gsub("^%s+", ""):gsub("%s+$", "")
        if l == "" then flush() else para[#para + 1] = l end
    end
    flush()
end

-- The first sentence of a doc, for summaries in tables.
local function summary(s)
    if not s then return "" end
    s = s:gsub("%s+", " "):gsub("^ ", "")
    -- not at "e.g. " or "i.e. "
    local pos = 1
    while true do
        local i, j = s:find("[.!?] ", pos)
        if not i then return s end
        local before = s:sub(math.max(1, i - 3), i)
        if before ~= "e.g." and before ~= "i.e." then return s:sub(1, i) end
        pos = j
    end
end

-- GitHub's heading anchor: lower case, punctuation other than '-' and '_'
-- dropped, spaces to '-', and "-1", "-2", ... for repeated headings.
local function anchor_of(heading, used)
    local a = heading:lower():gsub("[^%w%s_-]", ""):gsub("%s", "-")
    local base, n = a, 0
    while used[a] do
        n = n + 1
        a = base .. "-" .. n
    end
    used[a] = true
    return a
end

-- Types ---------------------------------------------------------------------

local PRESENCE = {
    required = "required",
    optional = "optional",
    nullable = "required, nullable",
    optional_nullable = "optional, nullable",
}

local function range(lo, hi)
    if lo and hi then return lo .. ".." .. hi end
    if lo then return ">= " .. lo end
    if hi then return "<= " .. hi end
    return nil
end

-- A field type as Markdown, with its limits; `link(node)` links a named node.
local function md_type(t, link)
    local k = t.kind
    if k == "string" then
        local len = t.min > 0 and string.format("%d to %d bytes", t.min, t.max)
            or string.format("max %d bytes", t.max)
        local extra = ""
        if t.format == "iso8601" then
            extra = (t.format_name == "date-time" and "date-time" or "ISO-8601") .. ", "
        elseif t.format then
            extra = t.format .. ", "
        end
        if t.pattern then len = len .. ", matching " .. code(t.pattern.source) end
        return "string (" .. extra .. len .. ")"
    elseif k == "int" then
        local r = range(t.has_min and string.format("%d", t.min) or nil,
                        t.has_max and string.format("%d", t.max) or nil)
        return r and ("integer (" .. r .. ")") or "integer"
    elseif k == "number" then
        local r = range(t.min and ts.num(t.min), t.max and ts.num(t.max))
        return r and ("number (" .. r .. ")") or "number"
    elseif k == "timestamp" then
        if t.format == "unix" then return "Unix time (integer seconds)" end
        if t.format == "unix_ms" then return "Unix time (integer milliseconds)" end
        return "ISO-8601 timestamp (string)"
    elseif k == "bool" then
        return "boolean"
    elseif k == "any" then
        return "any JSON value"
    elseif k == "literal" then
        return cell_code(json.encode_string(t.value))
    elseif k == "enum" or k == "object" or k == "union" or k == "alias" then
        return link(t)
    elseif k == "array" then
        local n = t.min > 0 and string.format("%d to %d items", t.min, t.max)
            or string.format("max %d items", t.max)
        return "array of " .. md_type(t.of, link) .. " (" .. n .. ")"
    end
    error("emit_docs: unknown type kind " .. tostring(k))
end

local TRANSPORT = { websocket = "WebSocket", socketio = "Socket.IO", http = "HTTP" }
local DIRECTION = { ["in"] = "Inbound (client to server)", out = "Outbound (server to client)" }

-- Channel page ---------------------------------------------------------------

-- Renders one channel page. `anchors` maps nodes (and a few section keys) to
-- their anchors from a previous pass; the pass returns the map it made.
local function render_channel(ch, anchors)
    local w = text.writer()
    local used, made = {}, {}
    local parent = ts.inline_parents(ch)

    local function heading(level, title, key)
        w:line("%s %s", string.rep("#", level), title)
        w:line("")
        local a = anchor_of(title, used)
        if key then made[key] = a end
    end
    local function link(node)
        local a = anchors[node]
        if not a then return node.ts_name end -- a type of another channel
        return "[" .. node.ts_name .. "](#" .. a .. ")"
    end
    local function link_other_channel(node)
        if node.channel and node.channel ~= ch then
            return "[" .. node.ts_name .. "](" .. node.channel.name .. ".md)"
        end
        return link(node)
    end

    local function field_table(t)
        if #t.fields == 0 then
            w:line("No fields: always `{}`.")
            w:line("")
            return
        end
        w:line("| Field | Type | Presence | Description |")
        w:line("|---|---|---|---|")
        for _, f in ipairs(t.fields) do
            local doc = f.doc or ""
            if t.message and f == t.message.disc_field then
                doc = (doc ~= "" and doc .. " " or "") .. "Discriminator."
            end
            if f.since and f.since ~= (t.since or ch.since) then
                doc = doc .. " Since schema version " .. f.since .. "."
            end
            w:line("| %s | %s | %s | %s |", cell_code(f.name), md_type(f.type, link_other_channel),
                   PRESENCE[f.presence], cell(doc))
        end
        w:line("")
    end

    local section -- forward: a node's section, then its inline children

    local function children(t, level)
        local function walk(ft)
            if ft.kind == "array" then return walk(ft.of) end
            local p = parent[ft]
            if p and p.node == t then section(ft, level) end
        end
        if t.kind == "object" then
            for _, f in ipairs(t.fields) do walk(f.type) end
        end
    end

    function section(t, level)
        heading(level or 3, t.ts_name, t)
        local p = parent[t]
        if t.doc then
            paragraphs(w, t.kind == "alias" and ts.sentence(t.doc) or t.doc)
        elseif p then
            if p.item then
                w:line("An item of %s in %s.", code(p.field), link(p.node))
            else
                w:line("The %s %s of %s.", code(p.field), t.kind == "enum" and "values" or "object",
                       link(p.node))
            end
            w:line("")
        end
        if t.kind == "enum" then
            w:line("| Value |")
            w:line("|---|")
            for _, v in ipairs(t.values) do w:line("| %s |", cell_code(json.encode_string(v))) end
            w:line("")
            return
        elseif t.kind == "alias" then
            w:line("Type: %s.", md_type(t.of, link_other_channel))
            w:line("")
            return
        end
        local notes = {}
        local m = t.message
        if m and m.union then
            notes[#notes + 1] = string.format("%s: %s = %s, in %s.", DIRECTION[m.dir],
                                              code(m.disc_field.name),
                                              code(json.encode_string(m.disc_value)), link(m.union))
        elseif m then
            notes[#notes + 1] = "HTTP body."
        end
        if t.is_params then notes[#notes + 1] = "Connection or query parameters." end
        if t.unknown_fields ~= ch.unknown_fields then
            notes[#notes + 1] = "Unknown fields are "
                .. (t.unknown_fields == "ignore" and "ignored." or "rejected.")
        end
        if t.since and t.since ~= ch.since then
            notes[#notes + 1] = "Since schema version " .. t.since .. "."
        end
        if #notes > 0 then
            w:line("%s", table.concat(notes, " "))
            w:line("")
        end
        field_table(t)
        if t.one_of_required then
            local names = {}
            for i, n in ipairs(t.one_of_required) do names[i] = code(n) end
            w:line("At least one of %s must be present.", table.concat(names, ", "))
            w:line("")
        end
        if m and m.examples then
            w:line("%s:", #m.examples == 1 and "Example" or "Examples")
            w:line("")
            for _, ex in ipairs(m.examples) do
                w:line("```json")
                w:block(emit.pretty(ex.value))
                w:line("```")
                w:line("")
            end
        end
        children(t, level)
    end

    -- an action's data or result, in its table
    local function action_type(t)
        if not t then return "none" end
        return md_type(t.kind == "alias" and t.of or t, link_other_channel)
    end

    w:line("<!-- Generated by generator/main.lua from %s. Do not edit. -->", ch.file)
    w:line("")
    heading(1, "Channel " .. ch.name)
    paragraphs(w, ch.doc)
    w:line("| | |")
    w:line("|---|---|")
    w:line("| Transport | %s |", TRANSPORT[ch.transport] or ch.transport)
    if ch.path then w:line("| Path | %s |", cell_code(ch.path)) end
    w:line("| Unknown fields | %s |", ch.unknown_fields == "ignore" and "ignored" or "rejected")
    w:line("| Since | schema version %d |", ch.since)
    w:line("| Schema | %s |", cell_code(ch.file))
    w:line("| TypeScript | %s |", cell_code("ts/" .. ch.name .. ".ts"))
    w:line("")
    w:line("String limits are in bytes of UTF-8. A field that is *optional* may be left out; "
           .. "one that is *nullable* may be `null`.")
    w:line("")

    -- contents, linked from the anchors of the previous pass
    local toc = {}
    for _, dir in ipairs({ "in", "out" }) do
        if ch.unions[dir] then
            toc[#toc + 1] = { ch.unions[dir], DIRECTION[dir]:match("^%a+") .. " messages" }
        end
    end
    local declared, params, enums, others = {}, {}, {}, {}
    for _, t in ipairs(ch.types) do
        if not t.message and not parent[t] and not t.action then
            if t.kind == "enum" then
                enums[#enums + 1] = t
            elseif t.kind == "object" and t.is_params then
                params[#params + 1] = t
            elseif t.kind == "object" then
                declared[#declared + 1] = t
            else
                others[#others + 1] = t
            end
        end
    end
    -- endpoint bodies that are aliases, should the model not list them in types
    local listed = {}
    for _, t in ipairs(ch.types) do listed[t] = true end
    for _, ep in ipairs(ch.endpoints) do
        for _, t in ipairs({ ep.request or false, ep.response }) do
            if t and t.kind == "alias" and not listed[t] and (t.channel == nil or t.channel == ch) then
                listed[t] = true
                others[#others + 1] = t
            end
        end
    end
    local groups = {
        { key = "messages", title = "Messages", list = ch.messages },
        { key = "payloads", title = "Payloads", list = declared },
        { key = "params", title = "Parameters", list = params },
        { key = "enums", title = "Enumerations", list = enums },
        { key = "others", title = "Other types", list = others },
    }
    for _, g in ipairs(groups) do
        if #g.list > 0 then toc[#toc + 1] = { g.key, g.title } end
    end
    if #ch.actions > 0 then toc[#toc + 1] = { "actions", "Actions" } end
    if #ch.errors > 0 then toc[#toc + 1] = { "errors", "Errors" } end
    if #ch.endpoints > 0 then toc[#toc + 1] = { "endpoints", "Endpoints" } end
    for _, e in ipairs(toc) do
        w:line("- [%s](#%s)", e[2], anchors[e[1]] or "")
    end
    w:line("")

    for _, dir in ipairs({ "in", "out" }) do
        local u = ch.unions[dir]
        if u then
            heading(2, DIRECTION[dir]:match("^%a+") .. " messages", u)
            paragraphs(w, u.doc)
            w:line("%s, told apart by %s (TypeScript: %s).", DIRECTION[dir], code(u.discriminator),
                   code(u.ts_name))
            w:line("")
            w:line("| %s | Message | Summary |", cell_code(u.discriminator))
            w:line("|---|---|---|")
            for _, m in ipairs(u.members) do
                w:line("| %s | %s | %s |", cell_code(m.message.disc_value), link(m), cell(summary(m.doc)))
            end
            w:line("")
        end
    end

    for _, g in ipairs(groups) do
        if #g.list > 0 then
            heading(2, g.title, g.key)
            for _, t in ipairs(g.list) do section(t) end
        end
    end

    if #ch.actions > 0 then
        local spec = ch.action_spec
        local E = spec.errors
        heading(2, "Actions", "actions")
        paragraphs(w, table.concat({
            string.format("A %s names its action in %s and carries the action's data in %s; the %s",
                          link(spec.request), code(spec.name), code(spec.data), link(spec.response)),
            string.format("carries the result in %s%s.", code(spec.result),
                          spec.response_name and (" and the action in " .. code(spec.response_name)) or ""),
            string.format("An action without data takes an absent or `null` %s; one without result answers",
                          code(spec.data)),
            string.format("without %s. The server answers %s for an action it does not know, %s when the",
                          code(spec.result), code(E.unknown.name), code(E.denied.name)),
            string.format("caller's token lacks the action's permission, %s when the data does not parse",
                          code(E.invalid.name)),
            string.format("(its text followed by the parser's %s, the path starting at %s), and %s",
                          code("PATH: REASON"), code(spec.data), code(E.internal.name)),
            "when the action fails otherwise. A proxied action is checked, then forwarded to the",
            string.format("configured upstream. TypeScript: %s.", code(ch.ts_prefix .. "RequestMap")),
        }, "\n"))
        w:line("| Action | Data | Result | Permission | Served by | Summary |")
        w:line("|---|---|---|---|---|---|")
        for _, a in ipairs(ch.actions) do
            w:line("| [%s](#%s) | %s | %s | %s | %s | %s |", code(a.name), anchors[a] or "",
                   action_type(a.data), action_type(a.result), a.permission and cell_code(a.permission) or "any caller",
                   a.proxy and "upstream" or "C handler", cell(summary(a.doc)))
        end
        w:line("")
        for _, a in ipairs(ch.actions) do
            heading(3, a.name, a)
            paragraphs(w, a.doc)
            w:line("| | |")
            w:line("|---|---|")
            w:line("| Data | %s |", a.data and action_type(a.data) or ("none (" .. code(spec.data) .. " absent or `null`)"))
            w:line("| Result | %s |", action_type(a.result))
            w:line("| Permission | %s |", a.permission and cell_code(a.permission) or "none: any authenticated caller")
            if a.proxy then
                w:line("| Served by | the upstream (proxied) |")
            else
                w:line("| Served by | %s |", cell_code(a.handler))
                local names = {}
                for _, e in ipairs(require("emit_actions").handler_errors(ch, a)) do names[#names + 1] = cell_code(e.name) end
                w:line("| Errors | %s |", table.concat(names, ", "))
            end
            if a.since ~= ch.since then w:line("| Since | schema version %d |", a.since) end
            w:line("")
            for i, ex in ipairs(a.examples) do
                for _, key in ipairs({ "data", "result" }) do
                    if ex[key] then
                        w:line("Example%s, %s:", #a.examples > 1 and (" " .. i) or "", key)
                        w:line("")
                        w:line("```json")
                        w:block(emit.pretty(ex[key].value))
                        w:line("```")
                        w:line("")
                    end
                end
            end
            for _, key in ipairs({ "data", "result" }) do
                local t = a[key]
                if t and t.action == a and t.kind == "object" then section(t, 4) end
            end
        end
    end

    if #ch.errors > 0 then
        heading(2, "Errors", "errors")
        w:line("The error strings of channel %s, exactly as sent.", ch.name)
        w:line("")
        local he = ch.http_errors
        if he then
            w:line("An HTTP endpoint answers an error with its HTTP status and the body %s: %s is the",
                   link_other_channel(he.body), code(he.text))
            w:line("error's text%s.", he.name and (" and " .. code(he.name) .. " its name") or "")
            if he.auth_error then
                w:line("A request without authentication is answered %s;", code(he.auth_error.name))
            end
            if he.invalid_error then
                w:line("one whose parameters or body do not parse, %s, its text followed by the", code(he.invalid_error.name))
                w:line("parser's %s.", code("PATH: REASON"))
            end
            w:line("")
        end
        w:line("| Name | Text | HTTP status | Notes |")
        w:line("|---|---|---|---|")
        for _, e in ipairs(ch.errors) do
            w:line("| %s | %s | %s | %s |", cell_code(e.name), cell_code(json.encode_string(e.text)),
                   e.status and tostring(e.status) or "", cell(ts.sentence(e.doc)))
        end
        w:line("")
    end

    if #ch.endpoints > 0 then
        heading(2, "Endpoints", "endpoints")
        for _, ep in ipairs(ch.endpoints) do
            heading(3, ep.name)
            w:line("%s", code(ep.method .. " " .. ep.path))
            w:line("")
            paragraphs(w, ep.doc)
            w:line("| | |")
            w:line("|---|---|")
            if ep.path_params then
                w:line("| Path parameters | %s |", link_other_channel(ep.path_params))
            end
            if ep.query then
                w:line("| Query | %s |", link_other_channel(ep.query))
            end
            w:line("| Request | %s |", ep.request and md_type(ep.request, link_other_channel) or "none")
            w:line("| Response | %s |", md_type(ep.response, link_other_channel))
            w:line("| Auth | %s |", ep.auth and "session required" or "none")
            if #ep.errors > 0 then
                local names = {}
                for i, e in ipairs(ep.errors) do
                    names[i] = cell_code(e.name) .. " " .. e.status
                end
                w:line("| Errors | %s |", table.concat(names, ", "))
            end
            w:line("")
        end
    end

    -- no trailing blank line
    while w.lines[#w.lines] == "" do w.lines[#w.lines] = nil end
    return w:text(), made
end

local function emit_index(model)
    local w = text.writer()
    w:line("<!-- Generated by generator/main.lua from schema/*.lua. Do not edit. -->")
    w:line("")
    w:line("# Switchboard channels")
    w:line("")
    w:line("One page per channel, generated from its schema file.")
    w:line("")
    w:line("| Channel | Transport | Path | Messages | Actions | Endpoints | Summary |")
    w:line("|---|---|---|---|---|---|---|")
    for _, ch in ipairs(model.channels) do
        w:line("| [%s](%s.md) | %s | %s | %d | %d | %d | %s |", ch.name, ch.name,
               TRANSPORT[ch.transport] or ch.transport, ch.path and cell_code(ch.path) or "",
               #ch.messages, #ch.actions, #ch.endpoints, cell(summary(ch.doc)))
    end
    return { path = "docs/index.md", text = w:text() }
end

function emit.emit(model)
    local out = {}
    for _, ch in ipairs(model.channels) do
        local _, anchors = render_channel(ch, {})
        local page = render_channel(ch, anchors)
        out[#out + 1] = { path = "docs/" .. ch.name .. ".md", text = page }
    end
    out[#out + 1] = emit_index(model)
    return out
end

return emit
