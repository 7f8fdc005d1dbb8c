-- emit_c.lua: C structs, parsers and writers, one .h/.c pair per channel,
-- plus registry.c, the table of every message that the CLI and tests walk.
--
-- Shape of the output, for a message NewMessagePayload of channel chat:
--   typedef struct chat_new_message_payload { ...; struct { sb_presence ...; } has; } ...;
--   bool chat_new_message_payload_parse(sb_reader *r, chat_new_message_payload *out);
--   void chat_new_message_payload_write(sb_buf *b, const chat_new_message_payload *m);
-- and per union (chat_in, chat_out) a tagged struct with _parse and _write
-- that pick the member by its discriminator.
--
-- Parsers read each value straight into its slot (see runtime/json.h for the
-- reader); keys are matched by generated switches (lookup.lua). Only fields
-- that are not plainly required get a `has` entry.

local text = require("text")
local lookup = require("lookup")
local names = require("names")
local json = require("json")

local emit = {}

local function needs_has(f)
    return f.presence ~= "required"
end

local function c_type(t, what)
    local k = t.kind
    if k == "string" or k == "any" or (k == "timestamp" and t.format == "iso8601") then
        return "sb_str"
    elseif k == "int" or k == "timestamp" then
        return "int64_t"
    elseif k == "number" then
        return "double"
    elseif k == "bool" then
        return "bool"
    elseif k == "enum" or k == "object" or k == "union" then
        return t.c_name
    elseif k == "array" then
        if t.of.kind == "array" then
            error(what .. ": arrays of arrays are not supported; wrap the inner array in an object", 0)
        end
        return "struct { " .. c_type(t.of, what) .. " *items; size_t count; }"
    elseif k == "literal" then
        return nil
    end
    error("c_type: " .. tostring(k))
end
emit.c_type = c_type

local function int_lit(v)
    if v == math.mininteger then return "INT64_MIN" end
    if v == math.maxinteger then return "INT64_MAX" end
    return string.format("INT64_C(%d)", v)
end

local function double_lit(v)
    if v == nil then return nil end
    return string.format("%.17g", v)
end

-- The checks of a str after its length: format, then pattern (the order of
-- validate.string_checks).
function emit.string_checks(w, t, dst)
    local fn = ({ iso8601 = "sb_check_iso8601", uri = "sb_check_uri", email = "sb_check_email" })[t.format or ""]
    if fn then
        w:line("if (!%s(r, %s))", fn, dst)
        w:line("    return false;")
    end
    if t.pattern then
        w:line("if (!sb_check_pattern(r, %s, &%s))", dst, t.pattern.c_name)
        w:line("    return false;")
    end
end

-- Every pattern of a channel's types, in emission order, once.
local function channel_patterns(ch)
    local out, seen = {}, {}
    local function visit(t)
        if t.kind == "string" and t.pattern and not seen[t.pattern.c_name] then
            seen[t.pattern.c_name] = true
            out[#out + 1] = t.pattern
        elseif t.kind == "array" then
            visit(t.of)
        elseif t.kind == "alias" then
            visit(t.of)
        end
    end
    for _, t in ipairs(ch.c_types) do
        if t.kind == "object" then
            for _, f in ipairs(t.fields) do visit(f.type) end
        elseif t.kind == "alias" then
            visit(t)
        end
    end
    return out
end

-- A pattern's program (generator/pattern.lua) as static tables.
local function emit_pattern(w, p)
    w:line("/* %s: compiled by generator/pattern.lua (runtime/pattern.h) */", text.c_comment(p.source))
    w:line("static const uint32_t %s_sets[][8] = {", p.c_name)
    for _, words in ipairs(p.sets) do
        local hex = {}
        for k, v in ipairs(words) do hex[k] = string.format("0x%08x", v) end
        w:line("    {%s},", table.concat(hex, ", "))
    end
    w:line("};")
    local op = { set = "SB_PAT_SET", split = "SB_PAT_SPLIT", jmp = "SB_PAT_JMP", match = "SB_PAT_MATCH" }
    w:line("static const sb_pattern_inst %s_prog[] = {", p.c_name)
    for pc, inst in ipairs(p.prog) do
        local x, y = inst.x or 0, inst.y or 0
        if inst.op == "set" then x = inst.set end
        w:line("    {%s, %d, %d}, /* %d */", op[inst.op], x, y, pc - 1)
    end
    w:line("};")
    w:line("static const sb_pattern %s = {%s, %s_prog, %d, %s_sets, %d};", p.c_name, text.c_string(p.source),
           p.c_name, #p.prog, p.c_name, #p.sets)
    w:line("")
end
emit.channel_patterns = channel_patterns

-- Statements that parse the next value into the lvalue `dst`.
-- Every failure path returns false with the error recorded in the reader.
local function parse_value(w, t, dst, uid)
    local k = t.kind
    if k == "string" then
        w:line("if (!sb_read_string_len(r, &%s, %d, %d))", dst, t.min, t.max)
        w:line("    return false;")
        emit.string_checks(w, t, dst)
    elseif k == "any" then
        w:line("if (!sb_read_any(r, &%s))", dst)
        w:line("    return false;")
    elseif k == "timestamp" and t.format == "iso8601" then
        w:line("if (!sb_read_string(r, &%s) || !sb_check_iso8601(r, %s))", dst, dst)
        w:line("    return false;")
    elseif k == "int" or k == "timestamp" then
        local lo, hi = t.min or 0, t.max or math.maxinteger
        if k == "timestamp" then lo, hi = 0, math.maxinteger end
        if k == "int" and not t.has_min and not t.has_max then
            w:line("if (!sb_read_int64(r, &%s))", dst)
        else
            w:line("if (!sb_read_int64(r, &%s) || !sb_check_int(r, %s, %s, %s))", dst, dst,
                   int_lit(lo), int_lit(hi))
        end
        w:line("    return false;")
    elseif k == "number" then
        if t.min or t.max then
            w:line("if (!sb_read_double(r, &%s) || !sb_check_double(r, %s, %s, %s, %s, %s))", dst, dst,
                   t.min and "true" or "false", double_lit(t.min) or "0",
                   t.max and "true" or "false", double_lit(t.max) or "0")
        else
            w:line("if (!sb_read_double(r, &%s))", dst)
        end
        w:line("    return false;")
    elseif k == "bool" then
        w:line("if (!sb_read_bool(r, &%s))", dst)
        w:line("    return false;")
    elseif k == "literal" then
        w:line("if (!sb_read_literal(r, %s, %d))", text.c_string(t.value), #t.value)
        w:line("    return false;")
    elseif k == "enum" then
        w:line("{")
        w:indent()
        w:line("sb_str s%d;", uid.n)
        w:line("if (!sb_read_string(r, &s%d))", uid.n)
        w:line("    return false;")
        w:line("%s = %s_from(s%d.ptr, s%d.len);", dst, t.c_name, uid.n, uid.n)
        w:line("if (%s == 0)", dst)
        w:line("    return sb_fail(r, SB_ERR_ENUM, %s);",
               text.c_string("expected one of " .. table.concat(t.values, ", ")))
        w:dedent()
        w:line("}")
        uid.n = uid.n + 1
    elseif k == "object" or k == "union" then
        w:line("if (!%s_parse(r, &%s))", t.c_name, dst)
        w:line("    return false;")
    elseif k == "array" then
        local n = uid.n
        uid.n = uid.n + 1
        w:line("{")
        w:indent()
        w:line("size_t cap%d = 0;", n)
        w:line("int more%d;", n)
        w:line("if (!sb_read_array_begin(r))")
        w:line("    return false;")
        w:line("while ((more%d = sb_read_array_next(r)) == 1) {", n)
        w:indent()
        w:line("if (%s.count == %d)", dst, t.max)
        w:line("    return sb_fail(r, SB_ERR_TOO_MANY, \"more than %d items\");", t.max)
        w:line("if (%s.count == cap%d && !sb_array_grow(r, (void **)&%s.items, &cap%d, sizeof *%s.items))",
               dst, n, dst, n, dst)
        w:line("    return false;")
        w:line("sb_path_push_index(r, %s.count);", dst)
        parse_value(w, t.of, dst .. ".items[" .. dst .. ".count]", uid)
        w:line("sb_path_pop(r);")
        w:line("%s.count++;", dst)
        w:dedent()
        w:line("}")
        w:line("if (more%d < 0)", n)
        w:line("    return false;")
        if t.min > 0 then
            w:line("if (%s.count < %d)", dst, t.min)
            w:line("    return sb_fail(r, SB_ERR_TOO_MANY, \"fewer than %d items\");", t.min)
        end
        w:dedent()
        w:line("}")
    else
        error("parse_value: " .. k)
    end
end

-- Statements that write the value `src`.
local function write_value(w, t, src, uid)
    local k = t.kind
    if k == "string" or (k == "timestamp" and t.format == "iso8601") then
        w:line("sb_write_string(b, %s);", src)
    elseif k == "any" then
        w:line("sb_write_any(b, %s);", src)
    elseif k == "int" or k == "timestamp" then
        w:line("sb_write_int64(b, %s);", src)
    elseif k == "number" then
        w:line("sb_write_double(b, %s);", src)
    elseif k == "bool" then
        w:line("sb_write_bool(b, %s);", src)
    elseif k == "literal" then
        local lit = json.encode_string(t.value)
        w:line("sb_buf_put(b, %s, %d);", text.c_string(lit), #lit)
    elseif k == "enum" then
        w:line("sb_write_string(b, %s_name(%s));", t.c_name, src)
    elseif k == "object" or k == "union" then
        w:line("%s_write(b, &%s);", t.c_name, src)
    elseif k == "array" then
        local n = uid.n
        uid.n = uid.n + 1
        w:line("sb_buf_putc(b, '[');")
        w:line("for (size_t i%d = 0; i%d < %s.count; i%d++) {", n, n, src, n)
        w:indent()
        w:line("if (i%d)", n)
        w:line("    sb_buf_putc(b, ',');")
        write_value(w, t.of, src .. ".items[i" .. n .. "]", uid)
        w:dedent()
        w:line("}")
        w:line("sb_buf_putc(b, ']');")
    else
        error("write_value: " .. k)
    end
end

local function emit_enum_h(w, t)
    w:line("/* %s */", text.c_comment(t.doc or ("Values of " .. t.name)))
    w:line("typedef enum %s {", t.c_name)
    w:line("    %s__UNSET = 0,", t.c_name:upper())
    for i, v in ipairs(t.values) do
        w:line("    %s_%s = %d, /* %s */", t.c_name:upper(), names.c_const(v), i, text.c_comment(v))
    end
    w:line("} %s;", t.c_name)
    w:line("#define %s__COUNT %d", t.c_name:upper(), #t.values + 1)
    w:line("%s %s_from(const char *p, size_t n); /* 0 when not a value */", t.c_name, t.c_name)
    w:line("sb_str %s_name(%s v);", t.c_name, t.c_name)
    w:line("")
end

local function emit_enum_c(w, t)
    w:line("%s %s_from(const char *p, size_t n)", t.c_name, t.c_name)
    w:line("{")
    w:indent()
    local entries = {}
    for _, v in ipairs(t.values) do
        entries[#entries + 1] = { key = v, value = t.c_name:upper() .. "_" .. names.c_const(v) }
    end
    lookup.emit(w, "p", "n", entries)
    w:line("return %s__UNSET;", t.c_name:upper())
    w:dedent()
    w:line("}")
    w:line("")
    w:line("sb_str %s_name(%s v)", t.c_name, t.c_name)
    w:line("{")
    w:line("    static const sb_str names[] = {")
    w:line("        {\"\", 0},")
    for _, v in ipairs(t.values) do
        w:line("        {%s, %d},", text.c_string(v), #v)
    end
    w:line("    };")
    w:line("    return (unsigned)v < %d ? names[v] : names[0];", #t.values + 1)
    w:line("}")
    w:line("")
end

local function emit_struct_h(w, t)
    local what = t.name
    w:line("/* %s */", text.c_comment(t.doc or (t.inline and ("Inline object of " .. t.name) or t.name)))
    w:line("typedef struct %s {", t.c_name)
    w:indent()
    local has = {}
    for _, f in ipairs(t.fields) do
        local ct = c_type(f.type, what .. "." .. f.name)
        local note = f.presence ~= "required" and (" /* " .. f.presence .. " */") or ""
        if ct then
            w:line("%s %s;%s", ct, f.c_name, note)
        else
            w:line("/* %s: always %s */", f.name, json.encode_string(f.type.value))
        end
        if needs_has(f) then has[#has + 1] = f.c_name end
    end
    if #has > 0 then
        w:line("struct {")
        for _, n in ipairs(has) do w:line("    sb_presence %s;", n) end
        w:line("} has;")
    end
    w:dedent()
    w:line("} %s;", t.c_name)
    w:line("bool %s_parse(sb_reader *r, %s *out);", t.c_name, t.c_name)
    w:line("void %s_write(sb_buf *b, const %s *m);", t.c_name, t.c_name)
    w:line("")
end

local function emit_parse(w, t)
    local uid = { n = 0 }
    w:line("static int %s_field(const char *p, size_t n)", t.c_name)
    w:line("{")
    w:indent()
    local entries = {}
    for _, f in ipairs(t.fields) do entries[#entries + 1] = { key = f.name, value = tostring(f.index) } end
    lookup.emit(w, "p", "n", entries)
    w:line("return -1;")
    w:dedent()
    w:line("}")
    w:line("")
    -- The members after '{': a union that has read the discriminator
    -- already (the usual first key) enters here with its bit in `seen`.
    w:line("static bool %s_fields(sb_reader *r, %s *out, uint64_t seen)", t.c_name, t.c_name)
    w:line("{")
    w:indent()
    w:line("sb_str key;")
    w:line("int more;")
    -- The statements that read field f's value (a `break` leaves them).
    -- In the schema-order sequence (`fast`) the cursor is the local `cur`:
    -- a null and a string are read from it and give it back, without a
    -- store and reload of r->p per step; any other value writes it back
    -- to r->p for the reader's r->p-based calls and takes it up after.
    local function field_value(f, fast)
        local dst = "out->" .. f.c_name
        if f.nullable then
            w:line(fast and "if (sb_null_p(r, &cur, lim)) {" or "if (sb_read_null(r)) {")
            w:line("    out->has.%s = SB_NULL;", f.c_name)
            w:line("    break;")
            w:line("}")
        end
        if fast and f.type.kind == "string" then
            local t = f.type
            w:line("if (!(cur = sb_read_string_len_p(r, cur, &%s, %d, %d)))", dst, t.min, t.max)
            w:line("    return false;")
            if t.pattern or ({ iso8601 = true, uri = true, email = true })[t.format or ""] then
                w:line("r->p = cur;")
                emit.string_checks(w, t, dst)
            end
        else
            if fast then w:line("r->p = cur;") end
            if f.type.kind == "literal" then
                parse_value(w, f.type, nil, uid)
            else
                parse_value(w, f.type, dst, uid)
            end
            if fast then w:line("cur = r->p;") end
        end
        if needs_has(f) then w:line("out->has.%s = SB_SET;", f.c_name) end
    end
    -- Fast path: the fields in schema order, which is the order of our
    -- writers and of nearly every client. Each key is one comparison with
    -- its quoted literal and colon (after a ',' once something was read:
    -- `seen` is 0 only right after '{'); a field that is not next is
    -- skipped, and whatever is left (other orders, whitespace, escaped
    -- keys, duplicates, unknown fields) goes through the general loop
    -- below, which carries on from the same `seen`.
    if #t.fields > 0 then
        w:line("const char *cur = r->p, *lim = r->end;")
        w:line("const int path_at = r->path_len;")
    end
    for _, f in ipairs(t.fields) do
        local lit = json.encode_string(f.name) .. ":"
        w:line("if (!(seen & ((uint64_t)1 << %d)) && sb_key_p(&cur, lim, %s, %d, seen != 0)) {", f.index,
               text.c_string(lit), #lit)
        w:indent()
        w:line("sb_path_put_key(r, path_at, %s, %d);", text.c_string(f.name), #f.name)
        w:line("seen |= (uint64_t)1 << %d;", f.index)
        w:line("do {")
        w:indent()
        field_value(f, true)
        w:dedent()
        w:line("} while (0);")
        w:dedent()
        w:line("}")
    end
    if #t.fields > 0 then
        w:line("r->p = cur;")
        w:line("r->path_len = path_at;")
    end
    w:line("if (!sb_object_end_at(r)) {")
    w:indent()
    w:line("while ((more = sb_read_object_next(r, &key)) == 1) {")
    w:indent()
    w:line("int f = %s_field(key.ptr, key.len);", t.c_name)
    w:line("if (f < 0) {")
    w:line("    if (!sb_unknown_field(r, key, %s))", t.unknown_fields == "reject" and "true" or "false")
    w:line("        return false;")
    w:line("    continue;")
    w:line("}")
    w:line("sb_path_push_key(r, key.ptr, key.len);")
    w:line("if (seen & ((uint64_t)1 << f))")
    w:line("    return sb_fail(r, SB_ERR_DUPLICATE, \"duplicate field\");")
    w:line("seen |= (uint64_t)1 << f;")
    w:line("switch (f) {")
    for _, f in ipairs(t.fields) do
        w:line("case %d:", f.index)
        w:indent()
        field_value(f)
        w:line("break;")
        w:dedent()
    end
    w:line("}")
    w:line("sb_path_pop(r);")
    w:dedent()
    w:line("}")
    w:line("if (more < 0)")
    w:line("    return false;")
    w:dedent()
    w:line("}")
    local req_mask = 0
    for _, f in ipairs(t.fields) do
        if not f.optional then req_mask = req_mask | (1 << f.index) end
    end
    if req_mask ~= 0 then
        w:line("if ((seen & UINT64_C(0x%x)) != UINT64_C(0x%x)) {", req_mask, req_mask)
        w:indent()
        for _, f in ipairs(t.fields) do
            if not f.optional then
                w:line("if (!(seen & ((uint64_t)1 << %d)))", f.index)
                w:line("    return sb_missing_field(r, %s, %d);", text.c_string(f.name), #f.name)
            end
        end
        w:dedent()
        w:line("}")
    end
    if t.one_of_required then
        local mask = 0
        for _, name in ipairs(t.one_of_required) do mask = mask | (1 << t.by_name[name].index) end
        w:line("if (!(seen & UINT64_C(0x%x)))", mask)
        w:line("    return sb_fail(r, SB_ERR_MISSING, %s);",
               text.c_string("needs one of " .. table.concat(t.one_of_required, ", ")))
    end
    w:line("return true;")
    w:dedent()
    w:line("}")
    w:line("")
    w:line("bool %s_parse(sb_reader *r, %s *out)", t.c_name, t.c_name)
    w:line("{")
    w:line("    memset(out, 0, sizeof *out);")
    w:line("    return sb_read_object_begin(r) && %s_fields(r, out, 0);", t.c_name)
    w:line("}")
    w:line("")
end

-- The writer knows statically whether a '{' or a ',' comes before a field
-- while every earlier field is required; after an optional one it keeps a
-- separator byte at run time.
local function emit_write(w, t)
    local uid = { n = 0 }
    -- A run-time separator is needed only if an optional field can be the
    -- first one written or can follow one that was not surely written.
    local dynamic, surely = false, false
    for _, f in ipairs(t.fields) do
        if f.optional then
            if not surely then dynamic = true end
        else
            surely = true
        end
    end
    w:line("void %s_write(sb_buf *b, const %s *m)", t.c_name, t.c_name)
    w:line("{")
    w:indent()
    local state = "none" -- none: nothing written; some: something surely written; dyn: see sep
    if dynamic then w:line("char sep = '{';") end
    local reads_m = false
    for _, f in ipairs(t.fields) do
        if needs_has(f) or f.type.kind ~= "literal" then reads_m = true end
    end
    if not reads_m then w:line("(void)m; /* every field is a fixed literal */") end
    for _, f in ipairs(t.fields) do
        local key = json.encode_string(f.name) .. ":"
        local src = "m->" .. f.c_name
        if not needs_has(f) then
            local prefix = (state == "none" and "{" or (state == "some" and "," or "")) .. key
            if state == "dyn" then w:line("sb_buf_putc(b, sep);") end
            if f.type.kind == "literal" then
                local whole = prefix .. json.encode_string(f.type.value)
                w:line("sb_buf_put(b, %s, %d);", text.c_string(whole), #whole)
            else
                w:line("sb_buf_put(b, %s, %d);", text.c_string(prefix), #prefix)
                write_value(w, f.type, src, uid)
            end
            state = "some"
        elseif f.presence == "nullable" then
            -- required but may be null: the key is always written, and the
            -- value is null unless set (a zeroed struct writes null)
            local prefix = (state == "none" and "{" or (state == "some" and "," or "")) .. key
            if state == "dyn" then w:line("sb_buf_putc(b, sep);") end
            w:line("sb_buf_put(b, %s, %d);", text.c_string(prefix), #prefix)
            w:line("if (m->has.%s != SB_SET) {", f.c_name)
            w:line("    sb_write_null(b);")
            w:line("} else {")
            w:indent()
            write_value(w, f.type, src, uid)
            w:dedent()
            w:line("}")
            state = "some"
        else
            w:line("if (m->has.%s != SB_ABSENT) {", f.c_name)
            w:indent()
            if state == "some" then
                local prefix = "," .. key
                w:line("sb_buf_put(b, %s, %d);", text.c_string(prefix), #prefix)
            else
                w:line("sb_buf_putc(b, sep);")
                w:line("sep = ',';")
                w:line("sb_buf_put(b, %s, %d);", text.c_string(key), #key)
                state = "dyn"
            end
            if f.nullable then
                w:line("if (m->has.%s == SB_NULL) {", f.c_name)
                w:line("    sb_write_null(b);")
                w:line("} else {")
                w:indent()
                write_value(w, f.type, src, uid)
                w:dedent()
                w:line("}")
            else
                write_value(w, f.type, src, uid)
            end
            w:dedent()
            w:line("}")
        end
    end
    if state == "none" then
        w:line("sb_buf_put(b, \"{}\", 2);")
    elseif state == "some" then
        w:line("sb_buf_putc(b, '}');")
    else
        w:line("if (sep == '{')")
        w:line("    sb_buf_putc(b, '{');")
        w:line("sb_buf_putc(b, '}');")
    end
    w:dedent()
    w:line("}")
    w:line("")
end

local function emit_alias(w, t)
    w:line("bool %s_parse(sb_reader *r, %s *out)", t.c_name, t.c_name)
    w:line("{")
    w:indent()
    w:line("memset(out, 0, sizeof *out);")
    parse_value(w, t.of, "(*out)", { n = 0 })
    w:line("return true;")
    w:dedent()
    w:line("}")
    w:line("")
    w:line("void %s_write(sb_buf *b, const %s *m)", t.c_name, t.c_name)
    w:line("{")
    w:indent()
    write_value(w, t.of, "(*m)", { n = 0 })
    w:dedent()
    w:line("}")
    w:line("")
end

-- Connection and query parameters arrive as text pairs (a URL's query), not
-- JSON: each value is converted by its field's type. Keys the schema does not
-- declare are ignored, since clients and proxies add their own (cache
-- busters, Socket.IO's EIO and transport).
local function emit_from_query_h(w, t)
    w:line("bool %s_from_query(sb_reader *r, const sb_query *q, %s *out);", t.c_name, t.c_name)
end

local function emit_from_query(w, t)
    w:line("bool %s_from_query(sb_reader *r, const sb_query *q, %s *out)", t.c_name, t.c_name)
    w:line("{")
    w:indent()
    w:line("uint64_t seen = 0;")
    w:line("memset(out, 0, sizeof *out);")
    w:line("for (size_t i = 0; i < q->count; i++) {")
    w:indent()
    w:line("const char *k = q->item[i].key, *v = q->item[i].value;")
    w:line("size_t kn = strlen(k);")
    w:line("int f = %s_field(k, kn);", t.c_name)
    w:line("if (f < 0)")
    w:line("    continue;")
    w:line("sb_path_push_key(r, k, kn);")
    w:line("if (seen & ((uint64_t)1 << f))")
    w:line("    return sb_fail(r, SB_ERR_DUPLICATE, \"duplicate parameter\");")
    w:line("seen |= (uint64_t)1 << f;")
    w:line("switch (f) {")
    for _, f in ipairs(t.fields) do
        local ft, dst = f.type, "out->" .. f.c_name
        w:line("case %d:", f.index)
        w:indent()
        if ft.kind == "string" or (ft.kind == "timestamp" and ft.format == "iso8601") then
            w:line("%s = (sb_str){v, strlen(v)};", dst)
            if ft.kind == "string" then
                w:line("if (!sb_check_str(r, %s, %d, %d))", dst, ft.min, ft.max)
                w:line("    return false;")
                emit.string_checks(w, ft, dst)
            elseif ft.format == "iso8601" then
                w:line("if (!sb_check_iso8601(r, %s))", dst)
                w:line("    return false;")
            end
        elseif ft.kind == "int" or ft.kind == "timestamp" then
            local lo, hi = ft.min or 0, ft.max or math.maxinteger
            if ft.kind == "timestamp" then lo, hi = 0, math.maxinteger end
            w:line("if (!sb_text_int64(r, v, &%s) || !sb_check_int(r, %s, %s, %s))", dst, dst,
                   int_lit(lo), int_lit(hi))
            w:line("    return false;")
        elseif ft.kind == "bool" then
            w:line("if (!sb_text_bool(r, v, &%s))", dst)
            w:line("    return false;")
        elseif ft.kind == "enum" then
            w:line("%s = %s_from(v, strlen(v));", dst, ft.c_name)
            w:line("if (%s == 0)", dst)
            w:line("    return sb_fail(r, SB_ERR_ENUM, %s);",
                   text.c_string("expected one of " .. table.concat(ft.values, ", ")))
        elseif ft.kind == "literal" then
            w:line("if (strcmp(v, %s) != 0)", text.c_string(ft.value))
            w:line("    return sb_fail(r, SB_ERR_LITERAL, %s);", text.c_string("expected " .. ft.value))
        else
            error(string.format("%s: params field %s: a query parameter must be a string, integer, " ..
                                "boolean, enum, literal or timestamp", t.where, f.name), 0)
        end
        if needs_has(f) then w:line("out->has.%s = SB_SET;", f.c_name) end
        w:line("break;")
        w:dedent()
    end
    w:line("}")
    w:line("sb_path_pop(r);")
    w:dedent()
    w:line("}")
    for _, f in ipairs(t.fields) do
        if not f.optional then
            w:line("if (!(seen & ((uint64_t)1 << %d)))", f.index)
            w:line("    return sb_missing_field(r, %s, %d);", text.c_string(f.name), #f.name)
        end
    end
    w:line("return true;")
    w:dedent()
    w:line("}")
    w:line("")
end

local function member_name(m) return names.snake(m.name) end

local function emit_union_h(w, u)
    local up = u.c_name:upper()
    w:line("/* %s: %s messages, picked by \"%s\". */", u.c_name,
           u.dir == "in" and "client-to-server" or "server-to-client", u.discriminator)
    w:line("typedef enum %s_kind {", u.c_name)
    w:line("    %s__NONE = 0,", up)
    for i, m in ipairs(u.members) do
        w:line("    %s_%s = %d, /* %s=%s */", up, names.upper(m.name), i, u.discriminator, m.message.disc_value)
    end
    w:line("} %s_kind;", u.c_name)
    w:line("#define %s__COUNT %d", up, #u.members + 1)
    w:line("")
    w:line("typedef struct %s {", u.c_name)
    w:line("    %s_kind kind;", u.c_name)
    w:line("    sb_str tag; /* the discriminator as read, also when unknown */")
    w:line("    union {")
    for _, m in ipairs(u.members) do
        w:line("        %s %s;", m.c_name, member_name(m))
    end
    w:line("    } as;")
    w:line("} %s;", u.c_name)
    w:line("bool %s_parse(sb_reader *r, %s *out);", u.c_name, u.c_name)
    w:line("void %s_write(sb_buf *b, const %s *m);", u.c_name, u.c_name)
    w:line("const char *%s_kind_name(%s_kind k); /* the discriminator value */", u.c_name, u.c_name)
    w:line("")
end

local function emit_union_c(w, u)
    local up = u.c_name:upper()
    local d = u.discriminator
    -- sb_union_begin (runtime/codec.c) finds the discriminator: read at once
    -- when it is the first key (then the member's field loop goes on from
    -- there), else looked ahead for (then the member parses from '{').
    w:line("bool %s_parse(sb_reader *r, %s *out)", u.c_name, u.c_name)
    w:line("{")
    w:indent()
    -- Fast path: '{', the discriminator and a member's value, compact, right
    -- at the cursor (how our writers and nearly every client send them):
    -- one comparison per member, and the member's fields go on from there.
    for _, m in ipairs(u.members) do
        local mn = member_name(m)
        local v = m.message.disc_value
        local lit = "{" .. json.encode_string(d) .. ":" .. json.encode_string(v)
        w:line("if (sb_union_tag_at(r, %s, %d)) {", text.c_string(lit), #lit)
        w:indent()
        w:line("out->tag = (sb_str){%s, %d};", text.c_string(v), #v)
        w:line("out->kind = %s_%s;", up, names.upper(m.name))
        w:line("memset(&out->as.%s, 0, sizeof out->as.%s);", mn, mn)
        w:line("return %s_fields(r, &out->as.%s, (uint64_t)1 << %d);", m.c_name, mn,
               m.message.disc_field.index)
        w:dedent()
        w:line("}")
    end
    w:line("int at = sb_union_begin(r, %s, %d, &out->tag);", text.c_string(d), #d)
    w:line("if (!at)")
    w:line("    return false;")
    w:line("out->kind = %s_kind_from(out->tag.ptr, out->tag.len);", u.c_name)
    w:line("switch (out->kind) {")
    for _, m in ipairs(u.members) do
        local mn = member_name(m)
        w:line("case %s_%s:", up, names.upper(m.name))
        w:line("    if (at == SB_UNION_AT_OBJECT)")
        w:line("        return %s_parse(r, &out->as.%s);", m.c_name, mn)
        w:line("    memset(&out->as.%s, 0, sizeof out->as.%s);", mn, mn)
        w:line("    return %s_fields(r, &out->as.%s, (uint64_t)1 << %d);", m.c_name, mn,
               m.message.disc_field.index)
    end
    w:line("default:")
    w:line("    return sb_union_unknown(r, %s, %d, out->tag);", text.c_string(d), #d)
    w:line("}")
    w:dedent()
    w:line("}")
    w:line("")
    w:line("void %s_write(sb_buf *b, const %s *m)", u.c_name, u.c_name)
    w:line("{")
    w:indent()
    w:line("switch (m->kind) {")
    for _, m in ipairs(u.members) do
        w:line("case %s_%s:", up, names.upper(m.name))
        w:line("    %s_write(b, &m->as.%s);", m.c_name, member_name(m))
        w:line("    break;")
    end
    w:line("default:")
    w:line("    sb_write_null(b); /* an unset union has no JSON form */")
    w:line("    break;")
    w:line("}")
    w:dedent()
    w:line("}")
    w:line("")
    w:line("const char *%s_kind_name(%s_kind k)", u.c_name, u.c_name)
    w:line("{")
    w:line("    switch (k) {")
    for _, m in ipairs(u.members) do
        w:line("    case %s_%s:", up, names.upper(m.name))
        w:line("        return %s;", text.c_string(m.message.disc_value))
    end
    w:line("    default:")
    w:line("        return \"\";")
    w:line("    }")
    w:line("}")
    w:line("")
end

local function emit_union_kind_from(w, u)
    local up = u.c_name:upper()
    w:line("static %s_kind %s_kind_from(const char *p, size_t n)", u.c_name, u.c_name)
    w:line("{")
    w:indent()
    local entries = {}
    for _, m in ipairs(u.members) do
        entries[#entries + 1] = { key = m.message.disc_value, value = up .. "_" .. names.upper(m.name) }
    end
    lookup.emit(w, "p", "n", entries)
    w:line("return %s__NONE;", up)
    w:dedent()
    w:line("}")
    w:line("")
end

local function emit_channel(ch)
    local src = ch.file:match("[^/]*/[^/]*$") or ch.file
    local h = text.writer()
    local guard = "SB_GENERATED_" .. ch.name:upper() .. "_H"
    h:line(text.banner(src))
    h:line("#ifndef %s", guard)
    h:line("#define %s", guard)
    h:line("")
    h:line("#include <stdbool.h>")
    h:line("#include <stdint.h>")
    h:line("")
    h:line("#include \"codec.h\"")
    h:line("")
    local c = text.writer()
    c:line(text.banner(src))
    c:line("#include <string.h>")
    c:line("")
    c:line("#include \"%s.h\"", ch.name)
    c:line("")
    h:line("#define %s_SCHEMA_VERSION %d", ch.name:upper(), ch.version)
    if ch.path then h:line("#define %s_PATH %s", ch.name:upper(), text.c_string(ch.path)) end
    h:line("")
    if #ch.errors > 0 then
        h:line("/* Error strings, exactly as the protocol document has them. */")
        for _, e in ipairs(ch.errors) do
            h:line("#define %s_ERR_%s %s", ch.name:upper(), e.name, text.c_string(e.text))
        end
        h:line("")
    end
    if #ch.errors > 0 or #ch.endpoints > 0 then
        h:line("/* The same errors as codes (1..n, schema order): an HTTP handler returns")
        h:line(" * -CODE; %s_errors[CODE] has its name, text and HTTP status. */", ch.name)
        if #ch.errors > 0 then
            h:line("typedef enum %s_error_code {", ch.name)
            for _, e in ipairs(ch.errors) do
                h:line("    %s_ERROR_%s = %d,%s", ch.name:upper(), e.name, e.code,
                       e.status and (" /* HTTP " .. e.status .. " */") or "")
            end
            h:line("} %s_error_code;", ch.name)
        end
        h:line("#define %s_ERROR_COUNT %d", ch.name:upper(), #ch.errors)
        h:line("extern const sb_error_def %s_errors[%d];", ch.name, #ch.errors + 1)
        h:line("")
        c:line("const sb_error_def %s_errors[%d] = {", ch.name, #ch.errors + 1)
        c:line("    {NULL, NULL, 0},")
        for _, e in ipairs(ch.errors) do
            c:line("    {%s, %s_ERR_%s, %d},", text.c_string(e.name), ch.name:upper(), e.name, e.status or 0)
        end
        c:line("};")
        c:line("")
    end
    -- unions are referenced by members of other types (therapy's arrays of
    -- actions), so forward-declare union struct tags first
    for _, dir in ipairs({ "in", "out" }) do
        local u = ch.unions[dir]
        if u then h:line("typedef struct %s %s;", u.c_name, u.c_name) end
    end
    h:line("")

    -- Union structs embed their members by value, so they come after them;
    -- objects that contain a union (by value) come after the union.
    local emitted_union = {}
    local function maybe_union(dir)
        local u = ch.unions[dir]
        if not u or emitted_union[dir] then return end
        for _, m in ipairs(u.members) do
            if not m.emitted_h then return end
        end
        emitted_union[dir] = true
        emit_union_h(h, u)
    end
    local function uses_union(t)
        if t.kind == "union" then return t end
        if t.kind == "array" then return nil end -- arrays hold pointers
        return nil
    end
    for _, t in ipairs(ch.c_types) do
        if t.kind == "enum" then
            emit_enum_h(h, t)
            emit_enum_c(c, t)
        elseif t.kind == "alias" then
            maybe_union("in")
            maybe_union("out")
            h:line("/* %s */", text.c_comment(t.doc))
            h:line("typedef %s %s;", c_type(t.of, t.name), t.c_name)
            h:line("bool %s_parse(sb_reader *r, %s *out);", t.c_name, t.c_name)
            h:line("void %s_write(sb_buf *b, const %s *m);", t.c_name, t.c_name)
            h:line("")
        else
            for _, f in ipairs(t.fields) do
                local u = uses_union(f.type)
                if u then maybe_union(u.dir) end
            end
            emit_struct_h(h, t)
            if t.is_params then emit_from_query_h(h, t) h:line("") end
            t.emitted_h = true
            maybe_union("in")
            maybe_union("out")
        end
    end
    for _, dir in ipairs({ "in", "out" }) do maybe_union(dir) end

    for _, p in ipairs(channel_patterns(ch)) do emit_pattern(c, p) end
    for _, dir in ipairs({ "in", "out" }) do
        local u = ch.unions[dir]
        if u then emit_union_kind_from(c, u) end
    end
    for _, t in ipairs(ch.c_types) do
        if t.kind == "object" then
            emit_parse(c, t)
            emit_write(c, t)
            if t.is_params then emit_from_query(c, t) end
        elseif t.kind == "alias" then
            emit_alias(c, t)
        end
    end
    for _, dir in ipairs({ "in", "out" }) do
        local u = ch.unions[dir]
        if u then emit_union_c(c, u) end
    end
    h:line("#endif")
    return {
        { path = "c/" .. ch.name .. ".h", text = h:text() },
        { path = "c/" .. ch.name .. ".c", text = c:text() },
    }
end

-- registry.c: one row per message, union and endpoint, for the CLI
-- (`switchboard schema`, `switchboard validate`) and the generic tests.
local function emit_registry(model)
    local w = text.writer()
    w:line(text.banner("every schema/ file"))
    w:line("#include <stddef.h>")
    w:line("")
    w:line("#include \"registry.h\"")
    for _, ch in ipairs(model.channels) do w:line("#include \"%s.h\"", ch.name) end
    w:line("")
    -- void-pointer adapters so that one table can hold every message
    local function adapters(c_name)
        w:line("static bool %s_parse_any(sb_reader *r, void *out)", c_name)
        w:line("{")
        w:line("    return %s_parse(r, out);", c_name)
        w:line("}")
        w:line("static void %s_write_any(sb_buf *b, const void *m)", c_name)
        w:line("{")
        w:line("    %s_write(b, m);", c_name)
        w:line("}")
    end
    for _, m in ipairs(model.messages) do adapters(m.c_name) end
    for _, ch in ipairs(model.channels) do
        for _, dir in ipairs({ "in", "out" }) do
            if ch.unions[dir] then adapters(ch.unions[dir].c_name) end
        end
    end
    w:line("")
    w:line("const sb_message_info sb_messages[] = {")
    for _, m in ipairs(model.messages) do
        local mm = m.message
        w:line("    {%s, %s, %s, %s, %s, sizeof(%s), %s_parse_any, %s_write_any},",
               text.c_string(m.name), text.c_string(m.channel.name), text.c_string(mm.dir),
               mm.union and text.c_string(mm.union.discriminator) or "NULL",
               mm.disc_value and text.c_string(mm.disc_value) or "NULL",
               m.c_name, m.c_name, m.c_name)
    end
    w:line("};")
    w:line("const size_t sb_messages_count = sizeof sb_messages / sizeof sb_messages[0];")
    w:line("")
    w:line("const sb_union_info sb_unions[] = {")
    for _, ch in ipairs(model.channels) do
        for _, dir in ipairs({ "in", "out" }) do
            local u = ch.unions[dir]
            if u then
                w:line("    {%s, %s, %s, sizeof(%s), %s_parse_any, %s_write_any},",
                       text.c_string(ch.name), text.c_string(dir), text.c_string(u.discriminator),
                       u.c_name, u.c_name, u.c_name)
            end
        end
    end
    w:line("};")
    w:line("const size_t sb_unions_count = sizeof sb_unions / sizeof sb_unions[0];")
    w:line("")
    w:line("const sb_endpoint_info sb_endpoints[] = {")
    local n = 0
    for _, ch in ipairs(model.channels) do
        for _, ep in ipairs(ch.endpoints) do
            n = n + 1
            w:line("    {%s, %s, %s, %s, %s},", text.c_string(ep.name), text.c_string(ch.name),
                   text.c_string(ep.method), text.c_string(ep.path), ep.auth and "true" or "false")
        end
    end
    if n == 0 then w:line("    {NULL, NULL, NULL, NULL, false},") end
    w:line("};")
    w:line("const size_t sb_endpoints_count = %d;", n)
    return { path = "c/registry.c", text = w:text() }
end

function emit.emit(model)
    local out = {}
    for _, ch in ipairs(model.channels) do
        for _, o in ipairs(emit_channel(ch)) do out[#out + 1] = o end
    end
    out[#out + 1] = emit_registry(model)
    return out
end

return emit
