-- emit_tests.lua: test cases derived from the schema, run by
-- tests/schema/test_generated.c against the generated C parsers (cases.c),
-- and by tests/unit/test_actions.c against the actions' validate()
-- (action_cases.c: each action's example data, broken the same ways).
--
-- For every example: it parses, and the writer gives back exactly its
-- canonical form (fields in schema order, compact). Then each example is
-- mutated one rule at a time (a required field removed, a value of the wrong
-- type, a bad literal or enum value, a string one byte over its limit, an
-- integer one past its range, an array one item over its limit, an unknown
-- field, a duplicate field, a missing or unknown discriminator, broken JSON)
-- and validate.lua, the reference semantics, says what must come out: the
-- error code and the path. The C parser has to agree on every case.

local json = require("json")
local text = require("text")
local validate = require("validate")
local pattern = require("pattern")

local emit = {}

local CODES = {
    ok = "SB_OK", syntax = "SB_ERR_SYNTAX", type = "SB_ERR_TYPE", missing = "SB_ERR_MISSING",
    duplicate = "SB_ERR_DUPLICATE", unknown_field = "SB_ERR_UNKNOWN_FIELD",
    literal = "SB_ERR_LITERAL", enum = "SB_ERR_ENUM", range = "SB_ERR_RANGE",
    too_long = "SB_ERR_TOO_LONG", too_many = "SB_ERR_TOO_MANY", format = "SB_ERR_FORMAT",
    no_discriminator = "SB_ERR_NO_DISCRIMINATOR",
    unknown_discriminator = "SB_ERR_UNKNOWN_DISCRIMINATOR",
}

local MAX_LONG_STRING = 20000 -- keep the generated file reasonable

-- The shortest %.Ng text that reads back as the same double, as the C writer does.
local function shortest_double(x)
    for _, p in ipairs({ 15, 16, 17 }) do
        local s = string.format("%." .. p .. "g", x)
        if tonumber(s) == x then return s end
    end
    return string.format("%.17g", x)
end

-- What the C writer emits for a value of type t: fields in schema order,
-- unknown (ignored) fields dropped, numbers as the writer prints them.
local function canonical(t, v)
    if v == json.null then return v end
    local k = t.kind
    if k == "object" then
        local o = json.object()
        for _, f in ipairs(t.fields) do
            local fv = v.values[f.name]
            if fv ~= nil then json.set(o, f.name, canonical(f.type, fv)) end
        end
        return o
    elseif k == "union" then
        return canonical(t.by_value[v.values[t.discriminator]], v)
    elseif k == "array" then
        local a = json.array()
        for i = 1, v.n do json.push(a, canonical(t.of, v[i])) end
        return a
    elseif k == "number" then
        return json.number(shortest_double(v.value))
    elseif k == "int" or k == "timestamp" and json.is_number(v) then
        return json.number(tostring(math.tointeger(tonumber(v.text))))
    end
    return v
end

-- Navigate a decoded value by steps (keys and 1-based indices).
local function parent_of(root, steps)
    local node = root
    for i = 1, #steps - 1 do
        local s = steps[i]
        node = type(s) == "number" and node[s] or node.values[s]
    end
    return node, steps[#steps]
end

local function set_at(root, steps, value)
    local parent, last = parent_of(root, steps)
    if type(last) == "number" then parent[last] = value else json.set(parent, last, value) end
end

local function wrong_type_value(t)
    local k = t.kind
    if k == "string" or k == "literal" or k == "enum" or (k == "timestamp" and t.format == "iso8601") then
        return json.number("12345")
    elseif k == "int" or k == "number" or k == "timestamp" then
        return "not a number"
    elseif k == "bool" then
        return "true"
    elseif k == "object" or k == "union" then
        return json.array()
    elseif k == "array" then
        return json.object()
    end
    return nil -- any: every value is right
end

local function step_copy(steps, extra)
    local s = { table.unpack(steps) }
    s[#s + 1] = extra
    return s
end

-- Collect mutations of the value v (of type t) found at `steps`.
-- Each mutation is { what = "...", apply = function(root) ... end } or
-- { what, text = function(root) return json_text end } for ones json.lua
-- cannot represent (duplicate keys).
local function mutations(t, v, steps, label, out)
    if v == json.null then return end
    local k = t.kind
    if k == "union" then
        local member = t.by_value[v.values[t.discriminator]]
        if member then mutations(member, v, steps, label, out) end
        return
    end
    if k == "array" then
        if v.n >= 1 and t.max <= 256 then
            out[#out + 1] = { what = label .. ": one item over the limit", apply = function(root)
                local arr = json.array()
                for _ = 1, t.max + 1 do json.push(arr, json.copy(v[1])) end
                if #steps == 0 then return arr end
                set_at(root, steps, arr)
            end }
        end
        if v.n >= 1 then mutations(t.of, v[1], step_copy(steps, 1), label .. "[0]", out) end
        return
    end
    if k ~= "object" then return end
    for _, f in ipairs(t.fields) do
        local fv = v.values[f.name]
        local fsteps = step_copy(steps, f.name)
        local flabel = (label == "" and "" or label .. ".") .. f.name
        if fv ~= nil then
            if not f.optional then
                out[#out + 1] = { what = flabel .. " removed", apply = function(root)
                    local parent = parent_of(root, fsteps)
                    json.remove(parent, f.name)
                end }
            end
            local wrong = wrong_type_value(f.type)
            if wrong ~= nil then
                out[#out + 1] = { what = flabel .. " of the wrong type", apply = function(root)
                    set_at(root, fsteps, json.copy(wrong))
                end }
            end
            if f.type.kind ~= "any" then
                out[#out + 1] = { what = flabel .. " null", apply = function(root)
                    set_at(root, fsteps, json.null)
                end }
            end
            local ft = f.type
            if ft.kind == "literal" or ft.kind == "enum" then
                out[#out + 1] = { what = flabel .. " not an allowed value", apply = function(root)
                    set_at(root, fsteps, "__not_allowed__")
                end }
            elseif ft.kind == "string" and ft.max < MAX_LONG_STRING then
                out[#out + 1] = { what = flabel .. " one byte too long", apply = function(root)
                    set_at(root, fsteps, string.rep("a", ft.max + 1))
                end }
            elseif ft.kind == "timestamp" and ft.format == "iso8601" or ft.kind == "string" and ft.format then
                local name = ({ uri = "a URI", email = "an email address" })[ft.format] or "ISO-8601"
                out[#out + 1] = { what = flabel .. " not " .. name, apply = function(root)
                    set_at(root, fsteps, "2023-13-02 21:47")
                end }
            end
            if ft.kind == "string" and ft.pattern then
                -- within the length limits, so that the pattern is what refuses it
                for _, c in ipairs({ "~", " ", "a", "0" }) do
                    local bad = string.rep(c, math.max(ft.min, 1))
                    if #bad <= ft.max and not pattern.match(ft.pattern, bad) then
                        out[#out + 1] = { what = flabel .. " not matching its pattern", apply = function(root)
                            set_at(root, fsteps, bad)
                        end }
                        break
                    end
                end
            elseif ft.kind == "int" then
                if ft.has_max and ft.max < math.maxinteger then
                    out[#out + 1] = { what = flabel .. " over max", apply = function(root)
                        set_at(root, fsteps, json.number(tostring(ft.max + 1)))
                    end }
                end
                if ft.has_min and ft.min > math.mininteger then
                    out[#out + 1] = { what = flabel .. " under min", apply = function(root)
                        set_at(root, fsteps, json.number(tostring(ft.min - 1)))
                    end }
                end
                out[#out + 1] = { what = flabel .. " past int64", apply = function(root)
                    set_at(root, fsteps, json.number("9223372036854775808"))
                end }
                out[#out + 1] = { what = flabel .. " with a fraction", apply = function(root)
                    set_at(root, fsteps, json.number("1.5"))
                end }
            end
            out[#out + 1] = { what = flabel .. " twice", duplicate = f.name, steps = steps }
            mutations(f.type, fv, fsteps, flabel, out)
        end
    end
    out[#out + 1] = { what = (label == "" and "an" or label .. ": an") .. " unknown field",
                      apply = function(root)
        local obj = #steps == 0 and root or select(1, parent_of(root, step_copy(steps, "x")))
        json.set(obj, "__unknown__", json.number("1"))
    end }
end

local function path_of(steps)
    local p = ""
    for _, s in ipairs(steps) do
        if type(s) == "number" then
            p = (p == "" and "$" or p) .. "[" .. (s - 1) .. "]"
        else
            p = p == "" and s or p .. "." .. s
        end
    end
    return p == "" and "$" or p
end

local function add_case(cases, target, name, input, code, path, output)
    cases[#cases + 1] = { target = target, name = name, input = input, code = code, path = path,
                          output = output }
end

local function cases_for(cases, target_name, t, example)
    local value = example.value
    add_case(cases, target_name, "example", example.text, "ok", nil,
             json.encode(canonical(t, value)))
    -- broken JSON
    add_case(cases, target_name, "truncated", example.text:sub(1, -2), "syntax", nil, nil)
    add_case(cases, target_name, "trailing garbage", example.text .. "x", "syntax", nil, nil)
    local muts = {}
    mutations(t, value, {}, "", muts)
    for _, m in ipairs(muts) do
        if m.duplicate then
            local root = json.copy(value)
            local obj = #m.steps == 0 and root or select(1, parent_of(root, step_copy(m.steps, "x")))
            table.insert(obj.keys, m.duplicate) -- json.encode writes it twice
            add_case(cases, target_name, m.what, json.encode(root), "duplicate",
                     path_of(step_copy(m.steps, m.duplicate)), nil)
        else
            local root = json.copy(value)
            root = m.apply(root) or root
            local err = validate.value(t, root, "")
            if err then
                add_case(cases, target_name, m.what, json.encode(root), err.code, err.path, nil)
            else
                add_case(cases, target_name, m.what, json.encode(root), "ok", nil,
                         json.encode(canonical(t, root)))
            end
        end
    end
end

function emit.emit(model)
    local cases = {}
    for _, m in ipairs(model.messages) do
        for i, ex in ipairs(m.message.examples) do
            local before = #cases
            cases_for(cases, m.name, m, ex)
            for j = before + 1, #cases do
                cases[j].name = m.name .. " example " .. i .. ": " .. cases[j].name
            end
        end
    end
    -- the unions: every example through its channel's union, and the
    -- discriminator rules that only a union has
    for _, ch in ipairs(model.channels) do
        for _, dir in ipairs({ "in", "out" }) do
            local u = ch.unions[dir]
            if u then
                local target = ch.name .. ":" .. dir
                for _, m in ipairs(u.members) do
                    local ex = m.message.examples[1]
                    add_case(cases, target, m.name .. " through the union", ex.text, "ok", nil,
                             json.encode(canonical(u, ex.value)))
                    local root = json.copy(ex.value)
                    json.remove(root, u.discriminator)
                    local err = validate.value(u, root, "")
                    add_case(cases, target, m.name .. " without its discriminator",
                             json.encode(root), err.code, err.path, nil)
                    root = json.copy(ex.value)
                    json.set(root, u.discriminator, "__no_such_message__")
                    err = validate.value(u, root, "")
                    add_case(cases, target, m.name .. " with an unknown discriminator",
                             json.encode(root), err.code, err.path, nil)
                end
                add_case(cases, target, "not an object", "[1,2]", "type", "$", nil)
            end
        end
    end

    local function write_cases(w, array, list)
        w:line("const sb_case %s[] = {", array)
        for _, c in ipairs(list) do
            w:line("    {%s,", text.c_string(c.target))
            w:line("     %s,", text.c_string(c.name))
            w:line("     %s, %d,", text.c_string(c.input), #c.input)
            w:line("     %s, %s,", CODES[c.code] or error("no code " .. c.code),
                   c.path and text.c_string(c.path) or "NULL")
            if c.output then
                w:line("     %s, %d},", text.c_string(c.output), #c.output)
            else
                w:line("     NULL, 0},")
            end
        end
        if #list == 0 then
            -- C has no empty arrays
            w:line("    {NULL, NULL, NULL, 0, SB_OK, NULL, NULL, 0},")
            w:line("};")
            w:line("const size_t %s_count = 0;", array)
        else
            w:line("};")
            w:line("const size_t %s_count = sizeof %s / sizeof %s[0];", array, array, array)
        end
    end
    local w = text.writer()
    w:line(text.banner("every schema/ file"))
    w:line("#include \"cases.h\"")
    w:line("")
    write_cases(w, "sb_cases", cases)

    -- The same cases as JSON lines, one object per case (target, name, input,
    -- code, path), for tests outside C: tests/exports/differential.test.mjs
    -- runs each through the C parser and through the JSON Schema export.
    local jl = {}
    for _, c in ipairs(cases) do
        local o = json.object()
        json.set(o, "target", c.target)
        json.set(o, "name", c.name)
        json.set(o, "input", c.input)
        json.set(o, "code", c.code)
        json.set(o, "path", c.path or json.null)
        jl[#jl + 1] = json.encode(o)
    end

    -- Actions: each example's data, and each broken one rule at a time, as
    -- the request's data field carries it, for the action table's validate()
    -- (target CHANNEL:ACTION; the path starts at the envelope's field). An
    -- empty input is an absent data.
    local acases = {}
    for _, ch in ipairs(model.channels) do
        local field = ch.action_spec and ch.action_spec.data
        for _, a in ipairs(ch.actions) do
            local target = ch.name .. ":" .. a.name
            if a.data then
                add_case(acases, target, a.name .. ": no data", "", "missing", field, nil)
                add_case(acases, target, a.name .. ": null data", "null", "type", field, nil)
                local t = a.data.kind == "alias" and a.data.of or a.data
                for i, ex in ipairs(a.examples) do
                    local before = #acases
                    cases_for(acases, target, t, ex.data)
                    for j = before + 1, #acases do
                        local c = acases[j]
                        c.name = a.name .. " example " .. i .. ": " .. c.name
                        c.output = nil
                        if c.path == "$" then
                            c.path = field
                        elseif c.path and c.path:sub(1, 2) == "$[" then
                            c.path = field .. c.path:sub(2)
                        elseif c.path then
                            c.path = field .. "." .. c.path
                        end
                    end
                end
            else
                add_case(acases, target, a.name .. ": no data", "", "ok", nil, nil)
                add_case(acases, target, a.name .. ": null data", "null", "ok", nil, nil)
                add_case(acases, target, a.name .. ": data given", "{}", "type", field, nil)
            end
        end
    end
    local aw = text.writer()
    aw:line(text.banner("every schema/ file"))
    aw:line("#include \"cases.h\"")
    aw:line("")
    write_cases(aw, "sb_action_cases", acases)
    return { { path = "tests/cases.c", text = w:text() }, { path = "tests/action_cases.c", text = aw:text() },
             { path = "tests/cases.json", text = table.concat(jl, "\n") .. "\n" } }
end

return emit
