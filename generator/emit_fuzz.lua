-- emit_fuzz.lua: one libFuzzer target per channel, with a dictionary of the
-- schema's keys and literal values and the examples as the seed corpus.
--
-- The target feeds each input to every parser of the channel (both unions,
-- HTTP bodies, connection parameters, actions' data). Whatever parses must survive a round
-- trip: write, parse the output, write again, same bytes. Anything else
-- (a crash, a sanitizer report, a failed round trip) aborts.

local text = require("text")
local json = require("json")

local emit = {}

local function fuzz_targets(ch)
    local targets = {}
    for _, dir in ipairs({ "in", "out" }) do
        if ch.unions[dir] then targets[#targets + 1] = ch.unions[dir] end
    end
    for _, m in ipairs(ch.messages) do
        if m.message.dir == "http" then targets[#targets + 1] = m end
    end
    for _, p in ipairs(ch.params) do targets[#targets + 1] = p end
    -- what an action's validate() parses, once per type
    local seen = {}
    for _, t in ipairs(targets) do seen[t] = true end
    for _, a in ipairs(ch.actions) do
        if a.data and not seen[a.data] then
            seen[a.data] = true
            targets[#targets + 1] = a.data
        end
    end
    return targets
end

local function emit_target(ch)
    local w = text.writer()
    w:line(text.banner(ch.file:match("[^/]*/[^/]*$") or ch.file))
    w:line("#include <stdint.h>")
    w:line("#include \"%s.h\"", ch.name)
    w:line("#include \"round_trip.h\" /* tests/fuzz/ */")
    w:line("")
    local targets = fuzz_targets(ch)
    for _, t in ipairs(targets) do
        w:line("static bool %s_parse_v(sb_reader *r, void *out)", t.c_name)
        w:line("{")
        w:line("    return %s_parse(r, out);", t.c_name)
        w:line("}")
        w:line("static void %s_write_v(sb_buf *b, const void *m)", t.c_name)
        w:line("{")
        w:line("    %s_write(b, m);", t.c_name)
        w:line("}")
    end
    w:line("")
    w:line("int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);")
    w:line("int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)")
    w:line("{")
    w:indent()
    for _, t in ipairs(targets) do
        w:line("sb_fuzz_round_trip(data, size, %s_parse_v, %s_write_v, sizeof(%s));", t.c_name,
               t.c_name, t.c_name)
    end
    w:line("return 0;")
    w:dedent()
    w:line("}")
    return w:text()
end

local function emit_dict(ch)
    local seen, entries = {}, {}
    local function add(s)
        local q = json.encode_string(s)
        if not seen[q] then
            seen[q] = true
            entries[#entries + 1] = q
        end
    end
    for _, t in ipairs(ch.types) do
        if t.kind == "object" then
            for _, f in ipairs(t.fields) do
                add(f.name)
                if f.type.kind == "literal" then add(f.type.value) end
            end
        elseif t.kind == "enum" then
            for _, v in ipairs(t.values) do add(v) end
        end
    end
    local lines = { "# libFuzzer dictionary for channel " .. ch.name .. " (generated)" }
    for i, e in ipairs(entries) do
        -- libFuzzer dictionary values are C-like strings in double quotes
        lines[#lines + 1] = string.format("k%d=\"%s\"", i, e:gsub("\\", "\\\\"):gsub('"', '\\"'))
    end
    for _, tok in ipairs({ "{", "}", "[", "]", ":", ",", "null", "true", "false", "-0.5e+3",
                           "\\u0000", "\\ud83d\\ude00" }) do
        lines[#lines + 1] = string.format("t%d=\"%s\"", #lines, tok:gsub("\\", "\\\\"))
    end
    return table.concat(lines, "\n") .. "\n"
end

function emit.emit(model)
    local out = {}
    for _, ch in ipairs(model.channels) do
        out[#out + 1] = { path = "fuzz/fuzz_" .. ch.name .. ".c", text = emit_target(ch) }
        out[#out + 1] = { path = "fuzz/" .. ch.name .. ".dict", text = emit_dict(ch) }
        local n = 0
        local function add(text)
            n = n + 1
            out[#out + 1] = { path = string.format("fuzz/corpus/%s/%03d.json", ch.name, n), text = text }
        end
        for _, m in ipairs(ch.messages) do
            for _, ex in ipairs(m.message.examples) do add(ex.text) end
        end
        for _, a in ipairs(ch.actions) do
            for _, ex in ipairs(a.examples) do
                if ex.data then add(ex.data.text) end
            end
        end
    end
    return out
end

return emit
