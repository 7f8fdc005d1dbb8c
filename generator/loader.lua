-- loader.lua: runs schema files as Lua data in a sandbox and collects raw
-- declarations, in file order.
--
-- A schema file can call only the declaration functions below and use only
-- the type constructors and presence words; any other global is an error that
-- names the file and line (a typo such as `optinal` must not pass silently).
-- It has no io, os, require or load: a schema describes, it does not run.
--
-- What comes out is a list of "units" (one per file), each holding its raw
-- declarations. check.lua turns them into the checked model.

local loader = {}

local PRESENCE = { required = true, optional = true, nullable = true, optional_nullable = true }

-- Type constructors. Each returns a plain table describing a type; `ref`s are
-- resolved by check.lua once every file is loaded.
local function make_types()
    local T = {}
    function T.str(opts)
        opts = opts or {}
        return { kind = "string", min = opts.min, max = opts.max, format = opts.format,
                 pattern = opts.pattern }
    end
    function T.int(opts)
        opts = opts or {}
        return { kind = "int", min = opts.min, max = opts.max }
    end
    function T.number(opts)
        opts = opts or {}
        return { kind = "number", min = opts.min, max = opts.max }
    end
    T.bool = { kind = "bool" }
    T.any = { kind = "any" }
    function T.literal(value)
        return { kind = "literal", value = value }
    end
    -- enum { "a", "b" } inline, or ref "Name" to a declared enum
    function T.enum(values)
        return { kind = "enum", values = values }
    end
    -- timestamp "unix" (integer seconds) | "unix_ms" | "iso8601" (string)
    function T.timestamp(format)
        return { kind = "timestamp", format = format }
    end
    -- array { T, max = N }
    function T.array(spec)
        return { kind = "array", of = spec[1], max = spec.max, min = spec.min }
    end
    -- object { field, field, ... } inline (named after its parent field)
    function T.object(spec)
        return { kind = "object", fields = spec, unknown_fields = spec.unknown_fields,
                 one_of_required = spec.one_of_required }
    end
    function T.ref(name)
        return { kind = "ref", name = name }
    end
    -- union "in" | "out": the channel's inbound or outbound union
    function T.union(dir)
        return { kind = "unionref", dir = dir }
    end
    return T
end

local function where()
    -- file:line of the schema statement that is running
    local info = debug.getinfo(3, "Sl")
    return info and (info.short_src .. ":" .. (info.currentline or "?")) or "?"
end

function loader.load_file(path)
    local unit = { file = path, decls = {} }
    local env = {}
    for k, v in pairs(make_types()) do env[k] = v end
    for p in pairs(PRESENCE) do env[p] = p end

    local function declare(kind)
        return function(name)
            if type(name) ~= "string" then
                error(string.format("%s: %s needs a name string", where(), kind), 0)
            end
            local at = where()
            return function(body)
                if type(body) ~= "table" then
                    error(string.format("%s: %s %q needs a { ... } body", at, kind, name), 0)
                end
                body.decl, body.name, body.where = kind, name, at
                unit.decls[#unit.decls + 1] = body
            end
        end
    end
    env.channel = declare("channel")
    env.enumeration = declare("enumeration")
    env.payload = declare("payload")
    env.message = declare("message")
    env.endpoint = declare("endpoint")
    env.params = declare("params")
    env.action = declare("action")

    setmetatable(env, {
        __index = function(_, k)
            error(string.format("%s: unknown name '%s' in schema", where(), tostring(k)), 0)
        end,
        __newindex = function(_, k)
            error(string.format("%s: schema files may not set globals ('%s')", where(), tostring(k)), 0)
        end,
    })

    local fh, err = io.open(path, "rb")
    if not fh then error(path .. ": " .. tostring(err), 0) end
    local text = fh:read("a")
    fh:close()
    local chunk, perr = load(text, "@" .. path, "t", env)
    if not chunk then error(perr, 0) end
    local ok, rerr = pcall(chunk)
    if not ok then error(rerr, 0) end
    return unit
end

loader.PRESENCE = PRESENCE
return loader
