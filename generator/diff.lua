-- diff.lua: schema compatibility (docs/schema.md, "Compatibility: schema
-- diff and versions").
--
--   lua5.4 generator/diff.lua diff OLD NEW      every change, BREAKING or SAFE
--   lua5.4 generator/diff.lua snapshot [DIR]    write DIR/snapshots/<channel>.v<N>.json
--   lua5.4 generator/diff.lua compat [DIR]      the current model against its version's snapshot
--
-- OLD and NEW are each a folder of schema files (its *.lua), a snapshot or
-- model file (*.json, model_json.lua's format), or a git revision of the
-- repository of the current directory (its schema/ folder, read with
-- git ls-tree / git show into a temporary folder). DIR defaults to schema.
-- `switchboard schema diff|snapshot|compat` runs this file.
--
-- Exit codes: diff 1 when a change is BREAKING, else 0; snapshot 1 when a
-- snapshot would record a breaking change without a new version; compat 1
-- when a snapshot is missing, stale or broken; 2 on usage errors or a
-- schema that does not load.
--
-- Direction decides most verdicts. "in" is what the server accepts (client
-- to server messages, endpoint requests, query and path parameters, action
-- data): the new schema must accept everything the old one did, so
-- narrowing breaks and widening is safe. "out" is what the server sends
-- (server to client messages, endpoint responses, error bodies, action
-- results): clients must understand everything the new schema sends, so
-- a field that may now be absent or null, or an enum value they do not know,
-- breaks them, while limits (max, min, pattern, format) are the server's
-- own and are safe either way. A type used both ways gets both rules.

local script_dir = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "."
package.path = script_dir .. "/?.lua;" .. package.path

local loader = require("loader")
local check = require("check")
local model_json = require("model_json")

local M = {}

------------------------------------------------------------------------------
-- Comparison

local BREAKING, SAFE = "BREAKING", "SAFE"

local function show(v)
    if v == nil then return "none" end
    if type(v) == "string" then return v end
    if math.type(v) == "integer" then return string.format("%d", v) end
    return tostring(v)
end

local function set_of(list)
    local s = {}
    for _, v in ipairs(list or {}) do s[v] = true end
    return s
end

local function sorted_keys(...)
    local seen, keys = {}, {}
    for _, t in ipairs({ ... }) do
        for k in pairs(t or {}) do
            if not seen[k] then seen[k], keys[#keys + 1] = true, k end
        end
    end
    table.sort(keys)
    return keys
end

-- Compare two normalized models ({ channel = model_json.channel }); returns
-- a sorted list of { severity, path, what }.
function M.compare(old, new)
    local found = {} -- "path\0what" -> change
    local function add(sev, path, what)
        local key = path .. "\0" .. what
        local c = found[key]
        if not c then
            found[key] = { sev, path, what }
        elseif sev == BREAKING then
            c[1] = BREAKING
        end
    end
    local function change(sev, path, what, a, b)
        add(sev, path, string.format("%s (%s → %s)", what, show(a), show(b)))
    end

    for _, cname in ipairs(sorted_keys(old, new)) do
        local oc, nc = old[cname], new[cname]
        if not nc then
            add(BREAKING, cname, "channel removed")
        elseif not oc then
            add(SAFE, cname, "channel added")
        else
            M.compare_channel(oc, nc, add, change)
        end
    end
    local out = {}
    for _, c in pairs(found) do out[#out + 1] = c end
    table.sort(out, function(a, b)
        if a[2] ~= b[2] then return a[2] < b[2] end
        return a[3] < b[3]
    end)
    return out
end

local function is_in(dir) return dir ~= "out" end
local function is_out(dir) return dir ~= "in" end
-- narrowing what a field accepts breaks senders; only input has senders
local function narrow(dir) return is_in(dir) and BREAKING or SAFE end

function M.compare_channel(oc, nc, add, change)
    local ch = nc.name
    if oc.transport ~= nc.transport then change(BREAKING, ch, "transport changed", oc.transport, nc.transport) end
    if oc.path ~= nc.path then change(BREAKING, ch, "path changed", oc.path, nc.path) end
    if oc.version ~= nc.version then change(SAFE, ch, "version changed", oc.version, nc.version) end
    for _, dir in ipairs({ "in", "out" }) do
        local ou, nu = oc.unions[dir], nc.unions[dir]
        if ou and nu and ou.discriminator ~= nu.discriminator then
            change(BREAKING, ch, (dir == "in" and "inbound" or "outbound") .. " discriminator changed",
                   ou.discriminator, nu.discriminator)
        end
    end

    -- errors: clients must handle errors they do not know (any answer can
    -- fail), so adding or removing one is safe; its text and status are
    -- what clients match on
    local oerr, nerr = {}, {}
    for _, e in ipairs(oc.errors) do oerr[e.name] = e end
    for _, e in ipairs(nc.errors) do nerr[e.name] = e end
    for _, name in ipairs(sorted_keys(oerr, nerr)) do
        local a, b, path = oerr[name], nerr[name], ch .. "." .. name
        if not b then
            add(SAFE, path, "error removed")
        elseif not a then
            add(SAFE, path, "error added")
        else
            if a.text ~= b.text then change(BREAKING, path, "error text changed", a.text, b.text) end
            if a.status ~= b.status then change(BREAKING, path, "error status changed", a.status, b.status) end
        end
    end
    local ohe, nhe = oc.http_errors or {}, nc.http_errors or {}
    for _, k in ipairs({ "text", "name", "auth_error", "invalid_error" }) do
        if ohe[k] ~= nhe[k] and oc.http_errors and nc.http_errors then
            change(BREAKING, ch, "http_errors." .. k .. " changed", ohe[k], nhe[k])
        end
    end
    local oas, nas = oc.action_spec or {}, nc.action_spec or {}
    for _, k in ipairs({ "name", "data", "result", "response_name" }) do
        if oas[k] ~= nas[k] and oc.action_spec and nc.action_spec then
            change(BREAKING, ch, "actions." .. k .. " field changed", oas[k], nas[k])
        end
    end

    -- Types are compared structurally from the roots that use them, each
    -- with its direction; a change is named after the declared type that
    -- holds it (inline objects and enums by the path to them).
    local visited = {}
    local disc_paths = {} -- message discriminators, reported once, as the message's
    local walk
    local function resolve(c, t)
        if t and t.kind == "ref" then return c.types[t.name], t.name end
        return t, nil
    end
    local function describe(t, name)
        if not t then return "none" end
        if t.kind == "string" then return "str" end
        if t.kind == "literal" then return "literal " .. t.value end
        if t.kind == "timestamp" then return "timestamp " .. t.format end
        if t.kind == "array" then return "array" end
        if t.kind == "union" then return "union " .. t.dir end
        return t.kind
    end
    local function limits(ot, nt, dir, path, lo_default, hi_default)
        local olo, nlo = ot.min or lo_default, nt.min or lo_default
        local ohi, nhi = ot.max or hi_default, nt.max or hi_default
        if nlo > olo then change(narrow(dir), path, "min raised", ot.min, nt.min) end
        if nlo < olo then change(SAFE, path, "min lowered", ot.min, nt.min) end
        if nhi < ohi then change(narrow(dir), path, "max lowered", ot.max, nt.max) end
        if nhi > ohi then change(SAFE, path, "max raised", ot.max, nt.max) end
    end
    local function presence_flags(p)
        return p == "optional" or p == "optional_nullable", p == "nullable" or p == "optional_nullable"
    end
    local function object(od, nd, dir, path)
        if od.unknown_fields ~= nd.unknown_fields then
            local sev = (is_in(dir) and nd.unknown_fields == "reject") and BREAKING or SAFE
            change(sev, path, "unknown_fields changed", od.unknown_fields, nd.unknown_fields)
        end
        local oo = table.concat(od.one_of_required or {}, ",")
        local no = table.concat(nd.one_of_required or {}, ",")
        if oo ~= no then
            change(no ~= "" and narrow(dir) or SAFE, path, "one_of_required changed",
                   oo ~= "" and oo or nil, no ~= "" and no or nil)
        end
        local of, nf = {}, {}
        for _, f in ipairs(od.fields) do of[f.name] = f end
        for _, f in ipairs(nd.fields) do nf[f.name] = f end
        for _, name in ipairs(sorted_keys(of, nf)) do
            local a, b, fpath = of[name], nf[name], path .. "." .. name
            if not b then
                add(BREAKING, fpath, "field removed")
            elseif not a then
                local optional = presence_flags(b.presence)
                if optional then
                    add(SAFE, fpath, "optional field added")
                else
                    add(is_in(dir) and BREAKING or SAFE, fpath, "required field added")
                end
            else
                if a.presence ~= b.presence then
                    local oopt, onull = presence_flags(a.presence)
                    local nopt, nnull = presence_flags(b.presence)
                    local broken = (is_in(dir) and ((oopt and not nopt) or (onull and not nnull))) or
                        (is_out(dir) and ((nopt and not oopt) or (nnull and not onull)))
                    change(broken and BREAKING or SAFE, fpath, "presence changed", a.presence, b.presence)
                end
                walk(a.type, b.type, dir, fpath)
            end
        end
    end
    function walk(ot, nt, dir, path)
        local od, oname = resolve(oc, ot)
        local nd, nname = resolve(nc, nt)
        if not od or not nd then
            if od or nd then change(BREAKING, path, "type changed", describe(od), describe(nd)) end
            return
        end
        -- an alias is transparent: its body is what travels
        if od.kind == "alias" then return walk(od.of, nt, dir, path) end
        if nd.kind == "alias" then return walk(ot, nd.of, dir, path) end
        if od.kind ~= nd.kind then
            change(BREAKING, path, "type changed", describe(od), describe(nd))
            return
        end
        local k = nd.kind
        if k == "object" then
            local key = tostring(oname) .. "\0" .. tostring(nname) .. "\0" .. dir .. "\0" .. path
            if not nd.inline and nname then
                path = nc.name .. "." .. nname
                key = tostring(oname) .. "\0" .. nname .. "\0" .. dir
            end
            if visited[key] then return end
            visited[key] = true
            object(od, nd, dir, path)
        elseif k == "enum" then
            local os, ns = set_of(od.values), set_of(nd.values)
            for _, v in ipairs(od.values) do
                if not ns[v] then
                    -- a value the server accepts breaks clients that send it
                    add(is_in(dir) and BREAKING or SAFE, path, string.format("enum value %q removed", v))
                end
            end
            for _, v in ipairs(nd.values) do
                if not os[v] then
                    -- a value the server sends breaks clients that switch over the values
                    add(is_out(dir) and BREAKING or SAFE, path, string.format("enum value %q added", v))
                end
            end
        elseif k == "string" then
            limits(od, nd, dir, path, 0, math.maxinteger)
            if od.format ~= nd.format then
                change(od.format == nil and narrow(dir) or (nd.format == nil and SAFE or narrow(dir)), path,
                       nd.format == nil and "format removed" or (od.format == nil and "format added" or
                       "format changed"), od.format, nd.format)
            end
            if od.pattern ~= nd.pattern then
                change(nd.pattern == nil and SAFE or narrow(dir), path,
                       nd.pattern == nil and "pattern removed" or (od.pattern == nil and "pattern added" or
                       "pattern changed"), od.pattern, nd.pattern)
            end
        elseif k == "int" then
            limits(od, nd, dir, path, math.mininteger, math.maxinteger)
        elseif k == "number" then
            limits(od, nd, dir, path, -math.huge, math.huge)
        elseif k == "array" then
            limits(od, nd, dir, path, 0, math.maxinteger)
            walk(od.of, nd.of, dir, path .. "[]")
        elseif k == "literal" then
            if od.value ~= nd.value and not disc_paths[path] then
                change(BREAKING, path, "value changed", od.value, nd.value)
            end
        elseif k == "timestamp" then
            if od.format ~= nd.format then change(BREAKING, path, "timestamp format changed", od.format, nd.format) end
        elseif k == "union" then
            if od.dir ~= nd.dir then change(BREAKING, path, "union changed", od.dir, nd.dir) end
        end
    end
    local function root(name, dir)
        walk({ kind = "ref", name = name }, { kind = "ref", name = name }, dir, ch .. "." .. name)
    end

    -- messages
    local reached = {}
    for _, name in ipairs(sorted_keys(oc.messages, nc.messages)) do
        local a, b, path = oc.messages[name], nc.messages[name], ch .. "." .. name
        if not b then
            add(BREAKING, path, "message removed")
        elseif not a then
            add(SAFE, path, "message added")
        elseif a.dir ~= b.dir then
            change(BREAKING, path, "direction changed", a.dir, b.dir)
        else
            if a.disc_value ~= b.disc_value then
                change(BREAKING, path, "discriminator value changed", a.disc_value, b.disc_value)
                disc_paths[path .. "." .. tostring(b.disc_field)] = true
            end
            if b.dir ~= "http" then root(name, b.dir) end
        end
    end

    -- endpoints
    for _, name in ipairs(sorted_keys(oc.endpoints, nc.endpoints)) do
        local a, b, path = oc.endpoints[name], nc.endpoints[name], ch .. "." .. name
        if not b then
            add(BREAKING, path, "endpoint removed")
        elseif not a then
            add(SAFE, path, "endpoint added")
        else
            if a.method ~= b.method then change(BREAKING, path, "method changed", a.method, b.method) end
            if a.path ~= b.path then change(BREAKING, path, "path changed", a.path, b.path) end
            if a.auth ~= b.auth then
                change(b.auth == false and SAFE or BREAKING, path, "auth changed", a.auth, b.auth)
            end
            if a.long_poll ~= b.long_poll then change(SAFE, path, "long_poll changed", a.long_poll, b.long_poll) end
            if a.optional_body ~= b.optional_body then
                change(b.optional_body and SAFE or BREAKING, path, "optional_body changed", a.optional_body,
                       b.optional_body)
            end
            local oe, ne = set_of(a.errors), set_of(b.errors)
            for _, e in ipairs(a.errors) do
                if not ne[e] then add(SAFE, path, "error " .. e .. " removed") end
            end
            for _, e in ipairs(b.errors) do
                if not oe[e] then add(SAFE, path, "error " .. e .. " added") end
            end
            for _, k in ipairs({ "query", "path_params" }) do
                local ot = a[k] and { kind = "ref", name = a[k] }
                local nt = b[k] and { kind = "ref", name = b[k] }
                walk(ot, nt, "in", path .. "." .. k)
            end
            if a.request and not b.request then
                add(BREAKING, path, "request body removed")
            elseif b.request and not a.request then
                add(b.optional_body and SAFE or BREAKING, path, "request body added")
            elseif a.request then
                walk(a.request, b.request, "in", path .. ".request")
            end
            walk(a.response, b.response, "out", path .. ".response")
        end
        for _, e in ipairs({ a, b }) do
            for _, k in ipairs({ "request", "response" }) do
                if e[k] and e[k].kind == "ref" then reached[e[k].name] = true end
            end
        end
    end
    if oc.http_errors and nc.http_errors then
        walk({ kind = "ref", name = oc.http_errors.body }, { kind = "ref", name = nc.http_errors.body }, "out",
             ch .. ".http_errors")
        reached[oc.http_errors.body], reached[nc.http_errors.body] = true, true
    end
    -- an http message no endpoint reaches (hand-written code uses it): both ways
    for _, name in ipairs(sorted_keys(oc.messages, nc.messages)) do
        local a, b = oc.messages[name], nc.messages[name]
        if a and b and a.dir == "http" and b.dir == "http" and not reached[name] then root(name, "both") end
    end

    -- actions
    for _, name in ipairs(sorted_keys(oc.actions, nc.actions)) do
        local a, b, path = oc.actions[name], nc.actions[name], ch .. "." .. name
        if not b then
            add(BREAKING, path, "action removed")
        elseif not a then
            add(SAFE, path, "action added")
        else
            if a.permission ~= b.permission then
                change(b.permission == nil and SAFE or BREAKING, path, "permission changed", a.permission,
                       b.permission)
            end
            if a.data and not b.data then
                add(BREAKING, path, "data removed")
            elseif b.data and not a.data then
                add(BREAKING, path, "data added")
            elseif a.data then
                walk(a.data, b.data, "in", path .. ".data")
            end
            if a.result and not b.result then
                add(BREAKING, path, "result removed")
            elseif b.result and not a.result then
                add(SAFE, path, "result added")
            elseif a.result then
                walk(a.result, b.result, "out", path .. ".result")
            end
        end
    end
end

------------------------------------------------------------------------------
-- Loading OLD and NEW

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function read_file(path)
    local fh = io.open(path, "rb")
    if not fh then return nil end
    local s = fh:read("a")
    fh:close()
    return s
end

local function is_dir(path)
    local p = io.popen("test -d " .. quote(path) .. " && echo yes")
    local r = p:read("a")
    p:close()
    return r:match("yes") ~= nil
end

local function lines_of(cmd)
    local p = io.popen(cmd)
    local out = {}
    for line in p:lines() do out[#out + 1] = line end
    local ok = p:close()
    return out, ok
end

local Usage = {}
local function usage_error(msg) error(setmetatable({ msg = msg }, Usage), 0) end

-- the checked model of a folder's *.lua, normalized
function M.load_dir(dir)
    local files = lines_of("find " .. quote(dir) .. " -maxdepth 1 -name '*.lua' -type f | LC_ALL=C sort")
    if #files == 0 then usage_error(dir .. ": no schema files (*.lua)") end
    local ok, result = pcall(function()
        local units = {}
        for _, f in ipairs(files) do units[#units + 1] = loader.load_file(f) end
        return check.model(units)
    end)
    if not ok then usage_error("schema error: " .. tostring(result)) end
    return model_json.model(result)
end

-- a snapshot (one channel) or a whole model (channel name -> channel)
function M.load_json(path)
    local text = read_file(path)
    if not text then usage_error(path .. ": cannot read") end
    local ok, v = pcall(model_json.decode, text)
    if not ok or type(v) ~= "table" then usage_error(path .. ": not a model: " .. tostring(v)) end
    if type(v.name) == "string" and v.types then return { [v.name] = v }, true end
    return v, false
end

local temps = {}
local function cleanup()
    for _, d in ipairs(temps) do os.execute("rm -rf " .. quote(d)) end
end

-- schema/ of a git revision of the current repository, in a temporary folder
function M.load_rev(rev)
    local _, ok = lines_of("git rev-parse --verify --quiet " .. quote(rev .. "^{commit}") .. " 2>/dev/null")
    if not ok then
        usage_error(rev .. ": neither a folder, a .json model nor a git revision of this repository")
    end
    local entries = lines_of("git ls-tree --full-tree " .. quote(rev) .. " schema/")
    local tmp = lines_of("mktemp -d")[1]
    temps[#temps + 1] = tmp
    for _, e in ipairs(entries) do
        local kind, path = e:match("^%d+ (%a+) %x+\t(.*)$")
        local base = path and path:match("^schema/([^/]+%.lua)$")
        if kind == "blob" and base then
            local rc = os.execute("git show " .. quote(rev .. ":" .. path) .. " > " .. quote(tmp .. "/" .. base))
            if not rc then usage_error("git show " .. rev .. ":" .. path .. " failed") end
        end
    end
    local ok, model = pcall(M.load_dir, tmp)
    if not ok then
        -- name the revision's files, not the temporary copies
        if getmetatable(model) == Usage then usage_error((model.msg:gsub(tmp:gsub("%p", "%%%0"), rev .. ":schema"))) end
        error(model, 0)
    end
    return model
end

function M.load(spec)
    if is_dir(spec) then return M.load_dir(spec) end
    if spec:match("%.json$") and read_file(spec) then return M.load_json(spec) end -- model, one channel?
    return M.load_rev(spec)
end

------------------------------------------------------------------------------
-- Commands

local function print_changes(changes)
    local breaking = false
    for _, c in ipairs(changes) do
        io.stdout:write(c[1], " ", c[2], ": ", c[3], "\n")
        breaking = breaking or c[1] == BREAKING
    end
    return breaking
end

local function cmd_diff(args)
    if #args ~= 2 then usage_error("usage: switchboard schema diff OLD NEW") end
    local old, old_one = M.load(args[1])
    local new, new_one = M.load(args[2])
    -- a snapshot holds one channel: compare the other side's same channel
    local function only(model, names)
        local out = {}
        for n in pairs(names) do out[n] = model[n] end
        return out
    end
    if old_one and not new_one then new = only(new, old) end
    if new_one and not old_one then old = only(old, new) end
    local changes = M.compare(old, new)
    return print_changes(changes) and 1 or 0
end

local function snapshot_path(dir, name, version)
    return string.format("%s/snapshots/%s.v%d.json", dir, name, version)
end

-- the newest snapshot version of a channel in DIR/snapshots (0: none)
local function latest_snapshot(dir, name)
    local top = 0
    for _, f in ipairs(lines_of("ls " .. quote(dir .. "/snapshots") .. " 2>/dev/null")) do
        local n, v = f:match("^(.-)%.v(%d+)%.json$")
        if n == name and tonumber(v) > top then top = tonumber(v) end
    end
    return top
end

local function cmd_snapshot(args)
    if #args > 1 then usage_error("usage: switchboard schema snapshot [DIR]") end
    local dir = args[1] or "schema"
    local model = M.load_dir(dir)
    local rc = 0
    for _, name in ipairs(sorted_keys(model)) do
        local ch = model[name]
        local path = snapshot_path(dir, name, ch.version)
        local text = model_json.encode(ch)
        local latest = latest_snapshot(dir, name)
        local old = read_file(path)
        if latest > ch.version then
            io.stderr:write(string.format("%s: version %d is older than its snapshot v%d\n", name, ch.version, latest))
            rc = 1
        elseif old == text then
            io.stdout:write("unchanged ", path, "\n")
        else
            -- a version's snapshot may only grow by safe changes
            local breaking = false
            if old then
                for _, c in ipairs(M.compare(M.load_json(path), { [name] = ch })) do
                    if c[1] == BREAKING then
                        breaking = true
                        io.stderr:write(c[1], " ", c[2], ": ", c[3], "\n")
                    end
                end
            end
            if breaking then
                io.stderr:write(string.format("%s: breaking changes against %s; raise the channel's version " ..
                    "(channel { version = %d }) and snapshot again\n", name, path, ch.version + 1))
                rc = 1
            else
                os.execute("mkdir -p " .. quote(dir .. "/snapshots"))
                local fh = assert(io.open(path, "wb"))
                fh:write(text)
                fh:close()
                io.stdout:write(old and "updated " or "wrote ", path, "\n")
            end
        end
    end
    return rc
end

local function cmd_compat(args)
    if #args > 1 then usage_error("usage: switchboard schema compat [DIR]") end
    local dir = args[1] or "schema"
    local model = M.load_dir(dir)
    local rc = 0
    local function bad(fmt, ...)
        io.stderr:write(string.format(fmt, ...), "\n")
        rc = 1
    end
    for _, name in ipairs(sorted_keys(model)) do
        local ch = model[name]
        local path = snapshot_path(dir, name, ch.version)
        local latest = latest_snapshot(dir, name)
        local old = read_file(path)
        if latest > ch.version then
            bad("%s: version %d is older than its newest snapshot (v%d)", name, ch.version, latest)
        elseif not old then
            bad("%s: no snapshot of version %d (%s); write it: switchboard schema snapshot %s",
                name, ch.version, path, dir)
        else
            local changes = M.compare(M.load_json(path), { [name] = ch })
            local breaking = false
            for _, c in ipairs(changes) do
                if c[1] == BREAKING then
                    breaking = true
                    bad("%s %s: %s", c[1], c[2], c[3])
                end
            end
            if breaking then
                bad("%s: breaking changes against %s without a new version; raise it (channel { version = %d }) " ..
                    "and write its snapshot: switchboard schema snapshot %s", name, path, ch.version + 1, dir)
            elseif old ~= model_json.encode(ch) then
                for _, c in ipairs(changes) do io.stderr:write(c[1], " ", c[2], ": ", c[3], "\n") end
                bad("%s: %s is out of date (safe changes); update it: switchboard schema snapshot %s",
                    name, path, dir)
            end
        end
    end
    -- a channel that is gone is the most breaking change of all: its
    -- snapshots stay until someone deletes them on purpose
    local seen = {}
    for _, f in ipairs(lines_of("ls " .. quote(dir .. "/snapshots") .. " 2>/dev/null")) do
        local n = f:match("^(.-)%.v%d+%.json$")
        if n and not model[n] and not seen[n] then
            seen[n] = true
            bad("BREAKING %s: channel removed (it has snapshots in %s/snapshots; delete them to confirm)", n, dir)
        end
    end
    if rc == 0 then io.stdout:write("every channel matches the snapshot of its version\n") end
    return rc
end

local COMMANDS = { diff = cmd_diff, snapshot = cmd_snapshot, compat = cmd_compat }

local function main(argv)
    local cmd = COMMANDS[argv[1] or ""]
    local ok, rc = pcall(function()
        if not cmd then usage_error("usage: switchboard schema diff OLD NEW | snapshot [DIR] | compat [DIR]") end
        return cmd({ table.unpack(argv, 2) })
    end)
    cleanup()
    if not ok then
        if getmetatable(rc) == Usage then
            io.stderr:write(rc.msg, "\n")
            os.exit(2)
        end
        io.stderr:write("switchboard schema: ", tostring(rc), "\n")
        os.exit(2)
    end
    io.stdout:flush()
    os.exit(rc)
end

if arg and arg[0] and arg[0]:match("diff%.lua$") then main(arg) end
return M
