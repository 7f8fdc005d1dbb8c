-- emit_random.lua: per channel, functions that fill a struct with a random
-- VALID instance (within every limit, enum and literal of the schema), for
-- the round-trip property test: write it, parse it back, write again, and
-- the bytes must be equal. Linked into tests only (tests/support/rand.h).

local text = require("text")
local pattern = require("pattern")

local emit = {}

local function presence_pick(f)
    -- the presences a field may take, as C expressions
    if f.presence == "required" then return nil end
    if f.presence == "optional" then return "SB_ABSENT", "SB_SET" end
    if f.presence == "nullable" then return "SB_NULL", "SB_SET" end
    return "SB_ABSENT", "SB_NULL", "SB_SET"
end

local function int_lit(v)
    if v == math.mininteger then return "INT64_MIN" end
    if v == math.maxinteger then return "INT64_MAX" end
    return string.format("INT64_C(%d)", v)
end

local function random_value(w, t, dst, uid)
    local k = t.kind
    if (k == "timestamp" or k == "string") and t.format == "iso8601" then
        w:line("%s = sb_rand_iso8601(g, a);", dst)
    elseif k == "string" and (t.pattern or t.format) then
        -- a few valid strings chosen at generation time (pattern.samples)
        local samples
        if t.pattern then
            samples = pattern.samples(t.pattern, t.min, t.max, 4)
        else
            samples = {}
            local fixed = ({ uri = { "https://example.com/a?b=1", "urn:x", "http://h/%41" },
                             email = { "a@example.com", "first.last+tag@sub.example.org" } })[t.format]
            for _, s in ipairs(fixed) do
                if #s >= t.min and #s <= t.max then samples[#samples + 1] = s end
            end
        end
        if #samples == 0 then
            error(string.format("no sample string of %d..%d bytes for %s", t.min, t.max,
                                t.pattern and ("pattern " .. t.pattern.source) or t.format), 0)
        end
        w:line("{")
        w:line("    static const sb_str samples%d[] = {", uid.n)
        for _, s in ipairs(samples) do
            w:line("        {%s, %d},", text.c_string(s), #s)
        end
        w:line("    };")
        w:line("    %s = samples%d[sb_rand_below(g, %d)];", dst, uid.n, #samples)
        w:line("}")
        uid.n = uid.n + 1
    elseif k == "string" then
        w:line("%s = sb_rand_str(g, a, %d, %d);", dst, t.min, t.max)
    elseif k == "any" then
        w:line("%s = sb_rand_any(g, a);", dst)
    elseif k == "int" then
        w:line("%s = sb_rand_int(g, %s, %s);", dst, int_lit(t.min), int_lit(t.max))
    elseif k == "timestamp" then
        w:line("%s = sb_rand_int(g, 0, INT64_MAX);", dst)
    elseif k == "number" then
        w:line("%s = sb_rand_double(g, %s, %.17g, %s, %.17g);", dst, t.min and "true" or "false",
               t.min or 0, t.max and "true" or "false", t.max or 0)
    elseif k == "bool" then
        w:line("%s = sb_rand_below(g, 2) == 1;", dst)
    elseif k == "enum" then
        w:line("%s = (%s)(1 + sb_rand_below(g, %d));", dst, t.c_name, #t.values)
    elseif k == "object" or k == "union" then
        w:line("%s_random(g, a, &%s);", t.c_name, dst)
    elseif k == "array" then
        local n = uid.n
        uid.n = uid.n + 1
        local most = math.min(t.max, 4)
        local least = math.min(t.min, most)
        w:line("%s.count = %d + sb_rand_below(g, %d);", dst, least, most - least + 1)
        w:line("%s.items = sb_arena_alloc(a, (%s.count + 1) * sizeof *%s.items);", dst, dst, dst)
        w:line("for (size_t i%d = 0; i%d < %s.count; i%d++) {", n, n, dst, n)
        w:indent()
        random_value(w, t.of, dst .. ".items[i" .. n .. "]", uid)
        w:dedent()
        w:line("}")
    elseif k == "literal" then
        -- nothing stored
    else
        error("random_value: " .. k)
    end
end

local function emit_object(w, t)
    local uid = { n = 0 }
    w:line("void %s_random(sb_rand *g, sb_arena *a, %s *m)", t.c_name, t.c_name)
    w:line("{")
    w:indent()
    w:line("memset(m, 0, sizeof *m);")
    if #t.fields == 0 then w:line("(void)g;") w:line("(void)a;") end
    for _, f in ipairs(t.fields) do
        local dst = "m->" .. f.c_name
        local choices = { presence_pick(f) }
        if #choices == 0 then
            random_value(w, f.type, dst, uid)
        else
            w:line("{")
            w:indent()
            w:line("static const sb_presence p[] = {%s};", table.concat(choices, ", "))
            w:line("m->has.%s = p[sb_rand_below(g, %d)];", f.c_name, #choices)
            if f.type.kind ~= "literal" then
                w:line("if (m->has.%s == SB_SET) {", f.c_name)
                w:indent()
                random_value(w, f.type, dst, uid)
                w:dedent()
                w:line("}")
            end
            w:dedent()
            w:line("}")
        end
    end
    if t.one_of_required then
        local first = t.by_name[t.one_of_required[1]]
        local conds = {}
        for _, name in ipairs(t.one_of_required) do
            conds[#conds + 1] = "m->has." .. t.by_name[name].c_name .. " == SB_ABSENT"
        end
        w:line("if (%s) {", table.concat(conds, " && "))
        w:indent()
        w:line("m->has.%s = SB_SET;", first.c_name)
        random_value(w, first.type, "m->" .. first.c_name, uid)
        w:dedent()
        w:line("}")
    end
    w:dedent()
    w:line("}")
    w:line("")
end

local function emit_union(w, u)
    w:line("void %s_random(sb_rand *g, sb_arena *a, %s *m)", u.c_name, u.c_name)
    w:line("{")
    w:indent()
    w:line("memset(m, 0, sizeof *m);")
    w:line("m->kind = (%s_kind)(1 + sb_rand_below(g, %d));", u.c_name, #u.members)
    w:line("switch (m->kind) {")
    for _, msg in ipairs(u.members) do
        local member = require("names").snake(msg.name)
        w:line("case %s_%s:", u.c_name:upper(), require("names").upper(msg.name))
        w:line("    %s_random(g, a, &m->as.%s);", msg.c_name, member)
        w:line("    break;")
    end
    w:line("default:")
    w:line("    break;")
    w:line("}")
    w:dedent()
    w:line("}")
    w:line("")
end

function emit.emit(model)
    local out = {}
    local hw = text.writer()
    hw:line(text.banner("every schema/ file"))
    hw:line("#ifndef SB_GENERATED_RANDOM_H")
    hw:line("#define SB_GENERATED_RANDOM_H")
    hw:line("")
    hw:line("#include \"rand.h\"")
    hw:line("#include \"registry.h\"")
    for _, ch in ipairs(model.channels) do hw:line("#include \"%s.h\"", ch.name) end
    hw:line("")
    for _, ch in ipairs(model.channels) do
        local src = ch.file:match("[^/]*/[^/]*$") or ch.file
        local w = text.writer()
        w:line(text.banner(src))
        w:line("#include <string.h>")
        w:line("")
        w:line("#include \"random_gen.h\"")
        w:line("")
        -- unions first in prototypes (members may be arrays of unions)
        for _, t in ipairs(ch.c_types) do
            if t.kind == "object" then
                hw:line("void %s_random(sb_rand *g, sb_arena *a, %s *m);", t.c_name, t.c_name)
                emit_object(w, t)
            end
        end
        for _, dir in ipairs({ "in", "out" }) do
            local u = ch.unions[dir]
            if u then
                hw:line("void %s_random(sb_rand *g, sb_arena *a, %s *m);", u.c_name, u.c_name)
                emit_union(w, u)
            end
        end
        out[#out + 1] = { path = "c/" .. ch.name .. "_random.c", text = w:text() }
    end
    hw:line("")
    hw:line("typedef void (*sb_random_fn)(sb_rand *g, sb_arena *a, void *m);")
    hw:line("typedef struct sb_random_info {")
    hw:line("    const char *name; /* a message name, or CHANNEL:in / CHANNEL:out */")
    hw:line("    sb_random_fn random;")
    hw:line("} sb_random_info;")
    hw:line("extern const sb_random_info sb_random_table[];")
    hw:line("extern const size_t sb_random_table_count;")
    hw:line("")
    hw:line("#endif")
    out[#out + 1] = { path = "c/random_gen.h", text = hw:text() }

    local tw = text.writer()
    tw:line(text.banner("every schema/ file"))
    tw:line("#include \"random_gen.h\"")
    tw:line("")
    local rows = {}
    local function adapter(c_name, label)
        tw:line("static void %s_random_any(sb_rand *g, sb_arena *a, void *m)", c_name)
        tw:line("{")
        tw:line("    %s_random(g, a, m);", c_name)
        tw:line("}")
        rows[#rows + 1] = string.format("    {%s, %s_random_any},", text.c_string(label), c_name)
    end
    for _, m in ipairs(model.messages) do adapter(m.c_name, m.name) end
    for _, ch in ipairs(model.channels) do
        for _, dir in ipairs({ "in", "out" }) do
            if ch.unions[dir] then adapter(ch.unions[dir].c_name, ch.name .. ":" .. dir) end
        end
    end
    tw:line("")
    tw:line("const sb_random_info sb_random_table[] = {")
    for _, r in ipairs(rows) do tw:line("%s", r) end
    tw:line("};")
    tw:line("const size_t sb_random_table_count = sizeof sb_random_table / sizeof sb_random_table[0];")
    out[#out + 1] = { path = "c/registry_random.c", text = tw:text() }
    return out
end

return emit
