-- validate.lua: checks a decoded JSON value (json.lua) against a model type.
--
-- It mirrors what the generated C parser accepts, with the same error codes
-- (see sb_json_err in runtime/json.h) and the same paths, so that the checker
-- can refuse an example that its own message would refuse, and the test
-- emitter can predict the error each mutated example must produce.

local json = require("json")
local pattern = require("pattern")

local validate = {}

local function join(path, key)
    if path == "" then return key end
    return path .. "." .. key
end

local function err(path, code, reason)
    return { path = path == "" and "$" or path, code = code, reason = reason }
end

local function kind_of(v)
    if v == json.null then return "null" end
    if type(v) == "boolean" then return "boolean" end
    if type(v) == "string" then return "string" end
    if json.is_number(v) then return "number" end
    if json.is_array(v) then return "array" end
    if json.is_object(v) then return "object" end
    return "?"
end

function validate.iso8601(s)
    local y, mo, d, h, mi, sec, rest =
        s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)(.*)$")
    if not y then return false end
    y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
    if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then return false end
    local frac_tz = rest:match("^%.%d+(.*)$")
    if frac_tz then rest = frac_tz end
    if rest == "Z" then return true end
    local th, tm = rest:match("^[+-](%d%d):(%d%d)$")
    return th ~= nil and tonumber(th) <= 23 and tonumber(tm) <= 59
end

-- format = "uri": the same rules as sb_is_uri (runtime/pattern.c).
function validate.uri(s)
    local scheme_end = s:match("^[A-Za-z][A-Za-z0-9+.%-]*():")
    if not scheme_end or scheme_end + 1 > #s then return false end
    local i = scheme_end + 1
    while i <= #s do
        local c = s:sub(i, i)
        if c == "%" then
            if not s:sub(i + 1, i + 2):match("^%x%x$") then return false end
            i = i + 3
        elseif c:match("[A-Za-z0-9]") or ("-._~:/?#[]@!$&'()*+,;="):find(c, 1, true) then
            i = i + 1
        else
            return false
        end
    end
    return true
end

-- format = "email": the same rules as sb_is_email (runtime/pattern.c).
function validate.email(s)
    if #s > 254 then return false end
    local at = s:find("@", 1, true)
    if not at then return false end
    local loc, dom = s:sub(1, at - 1), s:sub(at + 1)
    if #loc == 0 or #loc > 64 or loc:sub(1, 1) == "." or loc:sub(-1) == "." or loc:find("..", 1, true) then
        return false
    end
    for c in loc:gmatch(".") do
        if not (c:match("[A-Za-z0-9.]") or ("!#$%&'*+/=?^_`{|}~-"):find(c, 1, true)) then return false end
    end
    local labels = 0
    for label in (dom .. "."):gmatch("([^.]*)%.") do
        if #label == 0 or #label > 63 or not label:match("^[A-Za-z0-9-]+$") or label:sub(1, 1) == "-"
            or label:sub(-1) == "-" then
            return false
        end
        labels = labels + 1
    end
    return labels >= 2
end

-- The checks of a str after its length, in the C parser's order: format,
-- then pattern. Returns nil or { code, reason }.
function validate.string_checks(t, v)
    if t.format == "iso8601" and not validate.iso8601(v) then
        return "format", "expected an ISO-8601 timestamp"
    elseif t.format == "uri" and not validate.uri(v) then
        return "format", "expected a URI"
    elseif t.format == "email" and not validate.email(v) then
        return "format", "expected an email address"
    end
    if t.pattern and not pattern.match(t.pattern, v) then
        return "format", "does not match pattern " .. t.pattern.source
    end
    return nil
end

local function is_integer_text(text)
    return text:match("^-?%d+$") ~= nil
end

-- int64 bounds compared on text, since Lua integers wrap
local function int_in_range(text, lo, hi)
    local v = math.tointeger(tonumber(text))
    if not v then return false end
    if tostring(v) ~= text:gsub("^%-0$", "0") then return false end -- overflowed
    return v >= lo and v <= hi
end

function validate.value(t, v, path)
    local kind = kind_of(v)
    local k = t.kind
    if k == "any" then
        return nil
    elseif k == "string" then
        if kind ~= "string" then return err(path, "type", "expected string, got " .. kind) end
        if #v > t.max then return err(path, "too_long", "longer than " .. t.max .. " bytes") end
        if #v < t.min then return err(path, "too_long", "shorter than " .. t.min .. " bytes") end
        local code, reason = validate.string_checks(t, v)
        if code then return err(path, code, reason) end
    elseif k == "literal" then
        if kind ~= "string" then return err(path, "type", "expected string, got " .. kind) end
        if v ~= t.value then return err(path, "literal", "expected \"" .. t.value .. "\"") end
    elseif k == "enum" then
        if kind ~= "string" then return err(path, "type", "expected string, got " .. kind) end
        for _, e in ipairs(t.values) do if e == v then return nil end end
        return err(path, "enum", "expected one of " .. table.concat(t.values, ", "))
    elseif k == "bool" then
        if kind ~= "boolean" then return err(path, "type", "expected boolean, got " .. kind) end
    elseif k == "int" or (k == "timestamp" and t.format ~= "iso8601") then
        if kind ~= "number" then return err(path, "type", "expected integer, got " .. kind) end
        if not is_integer_text(v.text) then return err(path, "type", "expected integer, got number") end
        local lo, hi = t.min or math.mininteger, t.max or math.maxinteger
        if k == "timestamp" then lo, hi = 0, math.maxinteger end
        if not int_in_range(v.text, lo, hi) then return err(path, "range", "out of range") end
    elseif k == "timestamp" then
        if kind ~= "string" then return err(path, "type", "expected string, got " .. kind) end
        if not validate.iso8601(v) then return err(path, "format", "expected an ISO-8601 timestamp") end
    elseif k == "number" then
        if kind ~= "number" then return err(path, "type", "expected number, got " .. kind) end
        local n = v.value
        if (t.min and n < t.min) or (t.max and n > t.max) then return err(path, "range", "out of range") end
    elseif k == "array" then
        if kind ~= "array" then return err(path, "type", "expected array, got " .. kind) end
        if v.n > t.max then return err(path, "too_many", "more than " .. t.max .. " items") end
        if v.n < t.min then return err(path, "too_many", "fewer than " .. t.min .. " items") end
        for i = 1, v.n do
            local e = validate.value(t.of, v[i], (path == "" and "$" or path) .. "[" .. (i - 1) .. "]")
            if e then return e end
        end
    elseif k == "union" then
        if kind ~= "object" then return err(path, "type", "expected object, got " .. kind) end
        local d = v.values[t.discriminator]
        local dpath = join(path, t.discriminator)
        if d == nil then return err(dpath, "no_discriminator", "missing discriminator") end
        if type(d) ~= "string" then return err(dpath, "type", "expected string, got " .. kind_of(d)) end
        local member = t.by_value[d]
        if not member then return err(dpath, "unknown_discriminator", "unknown value \"" .. d .. "\"") end
        return validate.value(member, v, path)
    elseif k == "alias" then
        return validate.value(t.of, v, path)
    elseif k == "object" then
        if kind ~= "object" then return err(path, "type", "expected object, got " .. kind) end
        for _, key in ipairs(v.keys) do
            local f = t.by_name[key]
            local fpath = join(path, key)
            if not f then
                if t.unknown_fields == "reject" then return err(fpath, "unknown_field", "unknown field") end
            else
                local fv = v.values[key]
                if fv == json.null and f.nullable then
                    -- fine
                else
                    local e = validate.value(f.type, fv, fpath)
                    if e then return e end
                end
            end
        end
        for _, f in ipairs(t.fields) do
            if not f.optional and v.values[f.name] == nil then
                return err(join(path, f.name), "missing", "missing required field")
            end
        end
        if t.one_of_required then
            local any = false
            for _, name in ipairs(t.one_of_required) do
                if v.values[name] ~= nil then any = true end
            end
            if not any then
                return err(path, "missing", "needs one of " .. table.concat(t.one_of_required, ", "))
            end
        end
    else
        error("validate: unknown kind " .. tostring(k))
    end
    return nil
end

return validate
