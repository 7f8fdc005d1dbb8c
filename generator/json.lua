-- json.lua: a small strict JSON decoder and encoder for the generator.
--
-- The generator reads the seed documents' examples (JSON text inside schema
-- files) to check them against their messages and to derive tests from them.
-- Objects keep their key order, because the order is part of what we compare
-- (the writer emits fields in schema order), so a decoded object is
--   { kind = "object", keys = { "a", "b" }, values = { a = ..., b = ... } }
-- and arrays are { kind = "array", n = 2, [1] = ..., [2] = ... }.
-- null is json.null; numbers keep their source text in `text` so that
-- integers past 2^53 survive.

local json = {}

json.null = setmetatable({}, { __tostring = function() return "null" end })

local function is_object(v) return type(v) == "table" and v.kind == "object" end
local function is_array(v) return type(v) == "table" and v.kind == "array" end
local function is_number(v) return type(v) == "table" and v.kind == "number" end
json.is_object, json.is_array, json.is_number = is_object, is_array, is_number

function json.number(text) return { kind = "number", text = text, value = tonumber(text) } end
function json.object() return { kind = "object", keys = {}, values = {} } end
function json.array() return { kind = "array", n = 0 } end

function json.set(obj, key, value)
    if obj.values[key] == nil then obj.keys[#obj.keys + 1] = key end
    obj.values[key] = value
end

function json.remove(obj, key)
    if obj.values[key] == nil then return end
    obj.values[key] = nil
    for i, k in ipairs(obj.keys) do
        if k == key then table.remove(obj.keys, i) break end
    end
end

function json.push(arr, value)
    arr.n = arr.n + 1
    arr[arr.n] = value
end

-- Decoding ---------------------------------------------------------------

local function decode_error(s, pos, what)
    error(string.format("invalid JSON at byte %d: %s", pos, what), 0)
end

local function skip_ws(s, pos)
    return (s:find("[^ \t\r\n]", pos)) or #s + 1
end

local escapes = { ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f',
                  n = '\n', r = '\r', t = '\t' }

local function decode_string(s, pos)
    -- pos is at the opening quote
    local out, i = {}, pos + 1
    while true do
        local c = s:sub(i, i)
        if c == "" then decode_error(s, i, "unterminated string") end
        if c == '"' then return table.concat(out), i + 1 end
        if c:byte() < 0x20 then decode_error(s, i, "control character in string") end
        if c == "\\" then
            local e = s:sub(i + 1, i + 1)
            if escapes[e] then
                out[#out + 1] = escapes[e]
                i = i + 2
            elseif e == "u" then
                local hex = s:sub(i + 2, i + 5)
                if not hex:match("^%x%x%x%x$") then decode_error(s, i, "bad \\u escape") end
                local cp = tonumber(hex, 16)
                i = i + 6
                if cp >= 0xD800 and cp <= 0xDBFF then
                    local lo = s:match("^\\u(%x%x%x%x)", i)
                    local lov = lo and tonumber(lo, 16)
                    if not lov or lov < 0xDC00 or lov > 0xDFFF then
                        decode_error(s, i, "lone surrogate")
                    end
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lov - 0xDC00)
                    i = i + 6
                elseif cp >= 0xDC00 and cp <= 0xDFFF then
                    decode_error(s, i, "lone surrogate")
                end
                out[#out + 1] = utf8.char(cp)
            else
                decode_error(s, i, "bad escape")
            end
        else
            local j = s:find('[%z\1-\31"\\]', i) or #s + 1
            out[#out + 1] = s:sub(i, j - 1)
            i = j
        end
    end
end

local decode_value

local function decode_object(s, pos, depth)
    local obj = json.object()
    pos = skip_ws(s, pos + 1)
    if s:sub(pos, pos) == "}" then return obj, pos + 1 end
    while true do
        if s:sub(pos, pos) ~= '"' then decode_error(s, pos, "expected key") end
        local key
        key, pos = decode_string(s, pos)
        pos = skip_ws(s, pos)
        if s:sub(pos, pos) ~= ":" then decode_error(s, pos, "expected ':'") end
        local v
        v, pos = decode_value(s, skip_ws(s, pos + 1), depth + 1)
        if obj.values[key] ~= nil then decode_error(s, pos, "duplicate key " .. key) end
        json.set(obj, key, v)
        pos = skip_ws(s, pos)
        local c = s:sub(pos, pos)
        if c == "}" then return obj, pos + 1 end
        if c ~= "," then decode_error(s, pos, "expected ',' or '}'") end
        pos = skip_ws(s, pos + 1)
    end
end

local function decode_array(s, pos, depth)
    local arr = json.array()
    pos = skip_ws(s, pos + 1)
    if s:sub(pos, pos) == "]" then return arr, pos + 1 end
    while true do
        local v
        v, pos = decode_value(s, pos, depth + 1)
        json.push(arr, v)
        pos = skip_ws(s, pos)
        local c = s:sub(pos, pos)
        if c == "]" then return arr, pos + 1 end
        if c ~= "," then decode_error(s, pos, "expected ',' or ']'") end
        pos = skip_ws(s, pos + 1)
    end
end

function decode_value(s, pos, depth)
    if depth > 64 then decode_error(s, pos, "too deep") end
    pos = skip_ws(s, pos)
    local c = s:sub(pos, pos)
    if c == "{" then return decode_object(s, pos, depth) end
    if c == "[" then return decode_array(s, pos, depth) end
    if c == '"' then return decode_string(s, pos) end
    if s:sub(pos, pos + 3) == "null" then return json.null, pos + 4 end
    if s:sub(pos, pos + 3) == "true" then return true, pos + 4 end
    if s:sub(pos, pos + 4) == "false" then return false, pos + 5 end
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if num and (num:match("^-?0%d") or num:match("%.$") or num:match("%.[eE]")
                or num:match("[eE][-+]?$")) then
        decode_error(s, pos, "bad number")
    end
    if num then return json.number(num), pos + #num end
    decode_error(s, pos, "unexpected " .. (c == "" and "end of input" or "'" .. c .. "'"))
end

function json.decode(s)
    local v, pos = decode_value(s, 1, 0)
    pos = skip_ws(s, pos)
    if pos <= #s then decode_error(s, pos, "trailing characters") end
    return v
end

-- Encoding (compact, key order kept) --------------------------------------

local function encode_string(s)
    return '"' .. s:gsub('[%z\1-\31"\\]', function(c)
        local short = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                        ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
        return short[c] or string.format("\\u%04x", c:byte())
    end) .. '"'
end
json.encode_string = encode_string

function json.encode(v)
    if v == json.null then return "null" end
    local tv = type(v)
    if tv == "boolean" then return tostring(v) end
    if tv == "string" then return encode_string(v) end
    if tv == "number" then return math.type(v) == "integer" and tostring(v) or string.format("%.17g", v) end
    if is_number(v) then return v.text end
    if is_array(v) then
        local parts = {}
        for i = 1, v.n do parts[i] = json.encode(v[i]) end
        return "[" .. table.concat(parts, ",") .. "]"
    end
    if is_object(v) then
        local parts = {}
        for i, k in ipairs(v.keys) do parts[i] = encode_string(k) .. ":" .. json.encode(v.values[k]) end
        return "{" .. table.concat(parts, ",") .. "}"
    end
    error("cannot encode " .. tv)
end

function json.copy(v)
    if is_object(v) then
        local o = json.object()
        for _, k in ipairs(v.keys) do json.set(o, k, json.copy(v.values[k])) end
        return o
    elseif is_array(v) then
        local a = json.array()
        for i = 1, v.n do json.push(a, json.copy(v[i])) end
        return a
    elseif is_number(v) then
        return json.number(v.text)
    end
    return v
end

return json
