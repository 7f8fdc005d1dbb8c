-- pattern.lua: the regular-expression subset of `str { pattern = "..." }`.
--
-- A pattern is compiled here, at generation time, into a small program that
-- generated C runs with sb_pattern_match (runtime/pattern.c) and that
-- validate.lua runs with pattern.match below: the same program, the same
-- simulation, so the generator and the server cannot disagree.
--
-- The subset (docs/schema.md, "Patterns"):
--   ^ ... $         required, first and last: the whole string must match
--   x               a literal byte: anything but . [ ] ( ) | * + ? { } \ ^ $
--   \. \\ \- ...    an escaped punctuation character is literal
--   .               any byte
--   \d \w \s        [0-9], [A-Za-z0-9_], [ \t\n\r\f\v]; \D \W \S their complements
--   [abc] [a-z] [^...]  classes, with ranges, the escapes above, - first or last
--   ( ... )         a group; a|b alternatives (at any level)
--   * + ? {n} {n,} {n,m}  greedy quantifiers, n <= m <= 255
-- Refused: back-references, lookaround, (? groups, lazy or possessive
-- quantifiers, \b, \n and other escapes, ^ or $ inside, empty classes.
--
-- Matching is on bytes, by Thompson's construction: the program is a
-- nondeterministic automaton (SET, SPLIT, JMP, MATCH) simulated one input
-- byte at a time with a set of states, never backtracking: time is
-- O(bytes * instructions), whatever the pattern and the input.

local pattern = {}

pattern.MAX_INSTS = 512 -- SB_PATTERN_MAX_INSTS in runtime/pattern.h
pattern.MAX_REPEAT = 255

local META = {}
for c in ("[](){}|*+?.\\^$"):gmatch(".") do META[c] = true end

local function set_new() return {} end
local function set_add(s, b) s[b] = true end
local function set_range(s, lo, hi) for b = lo, hi do s[b] = true end end
local function set_invert(s)
    local o = {}
    for b = 0, 255 do if not s[b] then o[b] = true end end
    return o
end
local function set_union(a, b)
    for k in pairs(b) do a[k] = true end
    return a
end

local function class_set(letter)
    local s = set_new()
    local l = letter:lower()
    if l == "d" then
        set_range(s, 48, 57)
    elseif l == "w" then
        set_range(s, 48, 57); set_range(s, 65, 90); set_range(s, 97, 122); set_add(s, 95)
    elseif l == "s" then
        for _, b in ipairs({ 32, 9, 10, 13, 12, 11 }) do set_add(s, b) end
    else
        return nil
    end
    if letter ~= l then s = set_invert(s) end
    return s
end

-- Punctuation that may be escaped to stand for itself.
local ESCAPABLE = {}
for c in ("[](){}|*+?.\\^$-/"):gmatch(".") do ESCAPABLE[c] = true end

-- Parse into an AST: { t = "set", set } | { t = "cat", items } |
-- { t = "alt", items } | { t = "rep", node, min, max (nil: unbounded) }.
local function parse(src)
    if src:sub(1, 1) ~= "^" then error("must start with ^ (patterns match the whole string)", 0) end
    if #src < 2 or src:sub(-1) ~= "$" or (src:sub(-2, -2) == "\\" and src:sub(-3, -3) ~= "\\") then
        error("must end with $ (patterns match the whole string)", 0)
    end
    local s = src:sub(2, -2)
    local i = 1
    local function peek() return s:sub(i, i) end
    local function at(msg) error(string.format("%s at offset %d", msg, i), 0) end

    local parse_alt

    local function parse_escape(in_class)
        -- s[i] is the character after the backslash
        local c = peek()
        if c == "" then at("a trailing \\") end
        i = i + 1
        local cs = class_set(c)
        if cs then return cs end
        if ESCAPABLE[c] then
            local one = set_new()
            set_add(one, c:byte())
            return one, c:byte()
        end
        error(string.format("unsupported escape \\%s at offset %d", c, i - 1), 0)
    end

    local function parse_class()
        -- after '['
        local set = set_new()
        local negate = false
        if peek() == "^" then negate = true; i = i + 1 end
        local first = true
        local any = false
        while true do
            local c = peek()
            if c == "" then at("an unclosed [") end
            if c == "]" and not first then i = i + 1; break end
            if c == "]" then at("an empty class (write \\] for a literal ])") end
            local lo_set, lo
            if c == "\\" then
                i = i + 1
                lo_set, lo = parse_escape(true)
            elseif c == "[" then
                at("a [ inside a class (write \\[)")
            else
                i = i + 1
                lo = c:byte()
                lo_set = set_new(); set_add(lo_set, lo)
            end
            if peek() == "-" and s:sub(i + 1, i + 1) ~= "]" and s:sub(i + 1, i + 1) ~= "" then
                if not lo then at("a range from a class escape") end
                i = i + 1
                local hc = peek()
                local hi
                if hc == "\\" then
                    i = i + 1
                    local _, b = parse_escape(true)
                    if not b then at("a range to a class escape") end
                    hi = b
                else
                    i = i + 1
                    hi = hc:byte()
                end
                if hi < lo then at("a reversed range") end
                set_range(set, lo, hi)
            else
                set_union(set, lo_set)
            end
            first = false
            any = true
        end
        if not any then at("an empty class") end
        if negate then set = set_invert(set) end
        return set
    end

    local function parse_atom()
        local c = peek()
        if c == "(" then
            i = i + 1
            if peek() == "?" then at("(? groups are not supported") end
            local node = parse_alt()
            if peek() ~= ")" then at("an unclosed (") end
            i = i + 1
            return node
        elseif c == "[" then
            i = i + 1
            return { t = "set", set = parse_class() }
        elseif c == "." then
            i = i + 1
            local all = set_new()
            set_range(all, 0, 255)
            return { t = "set", set = all }
        elseif c == "\\" then
            i = i + 1
            local set = parse_escape(false)
            return { t = "set", set = set }
        elseif c == "^" or c == "$" then
            at("^ and $ are allowed only at the ends")
        elseif META[c] then
            at("a misplaced " .. c)
        end
        i = i + 1
        local one = set_new()
        set_add(one, c:byte())
        return { t = "set", set = one }
    end

    local function parse_quant(node)
        local c = peek()
        local lo, hi
        if c == "*" then lo, hi = 0, nil; i = i + 1
        elseif c == "+" then lo, hi = 1, nil; i = i + 1
        elseif c == "?" then lo, hi = 0, 1; i = i + 1
        elseif c == "{" then
            local body, stop = s:match("^{([^}]*)}()", i)
            if not body then at("an unclosed {") end
            local a, b
            if body:match("^%d+$") then
                a = tonumber(body); b = a
            elseif body:match("^%d+,$") then
                a = tonumber(body:sub(1, -2))
            elseif body:match("^%d+,%d+$") then
                a, b = body:match("^(%d+),(%d+)$")
                a, b = tonumber(a), tonumber(b)
            else
                at("a malformed {n,m}")
            end
            if a > pattern.MAX_REPEAT or (b and b > pattern.MAX_REPEAT) then
                at("a repeat count over " .. pattern.MAX_REPEAT)
            end
            if b and b < a then at("{n,m} with m < n") end
            lo, hi = a, b
            i = stop
        else
            return node
        end
        local n = peek()
        if n == "*" or n == "+" or n == "?" or n == "{" then
            at("a quantifier after a quantifier (lazy and possessive forms are not supported)")
        end
        return { t = "rep", node = node, min = lo, max = hi }
    end

    local function parse_cat()
        local items = {}
        while true do
            local c = peek()
            if c == "" or c == "|" or c == ")" then break end
            if c == "*" or c == "+" or c == "?" or c == "{" then at("a quantifier with nothing to repeat") end
            items[#items + 1] = parse_quant(parse_atom())
        end
        return { t = "cat", items = items }
    end

    function parse_alt()
        local items = { parse_cat() }
        while peek() == "|" do
            i = i + 1
            items[#items + 1] = parse_cat()
        end
        if #items == 1 then return items[1] end
        return { t = "alt", items = items }
    end

    local ast = parse_alt()
    if i <= #s then at("a misplaced " .. peek()) end
    return ast
end

-- Code generation. Instructions: { op = "set", set = n } (consume one byte
-- of set n, go on), { op = "split", x, y }, { op = "jmp", x }, { op = "match" }.
local function codegen(ast)
    local prog, sets, set_index = {}, {}, {}
    local function set_id(set)
        local words = {}
        for w = 0, 7 do
            local v = 0
            for bit = 0, 31 do
                if set[w * 32 + bit] then v = v | (1 << bit) end
            end
            words[w + 1] = v
        end
        local key = table.concat(words, ",")
        if not set_index[key] then
            sets[#sets + 1] = words
            set_index[key] = #sets - 1
        end
        return set_index[key]
    end
    local function emit(inst)
        prog[#prog + 1] = inst
        if #prog > pattern.MAX_INSTS then
            error("compiles to more than " .. pattern.MAX_INSTS .. " instructions (fewer or smaller repeats)", 0)
        end
        return #prog - 1 -- 0-based pc
    end
    local gen
    function gen(n)
        if n.t == "set" then
            emit({ op = "set", set = set_id(n.set) })
        elseif n.t == "cat" then
            for _, it in ipairs(n.items) do gen(it) end
        elseif n.t == "alt" then
            local jumps = {}
            for k, it in ipairs(n.items) do
                if k < #n.items then
                    local split = emit({ op = "split" })
                    prog[split + 1].x = split + 1
                    gen(it)
                    jumps[#jumps + 1] = emit({ op = "jmp" })
                    prog[split + 1].y = #prog
                else
                    gen(it)
                end
            end
            for _, j in ipairs(jumps) do prog[j + 1].x = #prog end
        elseif n.t == "rep" then
            for _ = 1, n.min do gen(n.node) end
            if n.max == nil then
                local split = emit({ op = "split" })
                prog[split + 1].x = split + 1
                gen(n.node)
                emit({ op = "jmp", x = split })
                prog[split + 1].y = #prog
            else
                local splits = {}
                for _ = n.min + 1, n.max do
                    local split = emit({ op = "split" })
                    prog[split + 1].x = split + 1
                    splits[#splits + 1] = split
                    gen(n.node)
                end
                for _, sp in ipairs(splits) do prog[sp + 1].y = #prog end
            end
        end
    end
    gen(ast)
    emit({ op = "match" })
    return prog, sets
end

-- Compile a pattern: returns { source, ast, prog, sets } or nil, reason.
function pattern.compile(src)
    if type(src) ~= "string" then return nil, "pattern must be a string" end
    local ok, ast = pcall(parse, src)
    if not ok then return nil, ast end
    local ok2, prog, sets = pcall(codegen, ast)
    if not ok2 then return nil, prog end
    return { source = src, ast = ast, prog = prog, sets = sets }
end

local function in_set(words, b)
    return (words[(b >> 5) + 1] >> (b & 31)) & 1 == 1
end

-- The simulation: the same algorithm as sb_pattern_match in runtime/pattern.c.
function pattern.match(p, s)
    local prog, sets = p.prog, p.sets
    local mark, gen = {}, 0
    local function closure(list, start)
        local stack = { start }
        if mark[start] == gen then return end
        mark[start] = gen
        while #stack > 0 do
            local pc = table.remove(stack)
            local inst = prog[pc + 1]
            if inst.op == "jmp" then
                if mark[inst.x] ~= gen then mark[inst.x] = gen; stack[#stack + 1] = inst.x end
            elseif inst.op == "split" then
                -- y pushed first so that x is explored first (order does not
                -- change the result: there are no captures)
                if mark[inst.y] ~= gen then mark[inst.y] = gen; stack[#stack + 1] = inst.y end
                if mark[inst.x] ~= gen then mark[inst.x] = gen; stack[#stack + 1] = inst.x end
            else
                list[#list + 1] = pc
            end
        end
    end
    gen = gen + 1
    local clist = {}
    closure(clist, 0)
    for k = 1, #s do
        local b = s:byte(k)
        gen = gen + 1
        local nlist = {}
        for _, pc in ipairs(clist) do
            local inst = prog[pc + 1]
            if inst.op == "set" and in_set(sets[inst.set + 1], b) then closure(nlist, pc + 1) end
        end
        clist = nlist
        if #clist == 0 then return false end
    end
    for _, pc in ipairs(clist) do
        if prog[pc + 1].op == "match" then return true end
    end
    return false
end

-- A few strings the pattern accepts, of min..max bytes, for the random
-- instance generators: a deterministic walk of the AST (variant v picks the
-- v-th alternative and repeats `extra` more times than the minimum).
function pattern.samples(p, min, max, want)
    local out, seen = {}, {}
    local PREFERRED = { 97, 48, 65, 95, 45, 46 } -- a 0 A _ - .
    local function pick(set, v)
        local choices = {}
        for _, b in ipairs(PREFERRED) do if set[b] then choices[#choices + 1] = b end end
        for b = 32, 126 do if set[b] and #choices < 4 then choices[#choices + 1] = b end end
        for b = 0, 255 do if set[b] and #choices == 0 then choices[1] = b end end
        return string.char(choices[(v % #choices) + 1])
    end
    local function walk(n, v, extra, buf)
        if n.t == "set" then
            buf[#buf + 1] = pick(n.set, v)
        elseif n.t == "cat" then
            for _, it in ipairs(n.items) do walk(it, v, extra, buf) end
        elseif n.t == "alt" then
            walk(n.items[(v % #n.items) + 1], v, extra, buf)
        elseif n.t == "rep" then
            local count = n.min + extra
            if n.max and count > n.max then count = n.max end
            for _ = 1, count do walk(n.node, v, extra, buf) end
        end
    end
    for extra = 0, 64 do
        for v = 0, 3 do
            local buf = {}
            walk(p.ast, v, extra, buf)
            local s = table.concat(buf)
            if #s >= min and #s <= max and not seen[s] and pattern.match(p, s) then
                seen[s] = true
                out[#out + 1] = s
                if #out >= want then return out end
            end
        end
    end
    return out
end

return pattern
