-- lookup.lua: emits C that maps a byte string to a small integer without
-- hashing: switch on the length, then on the byte that best splits what is
-- left, then one memcmp. Keys and discriminators are short and few, so this
-- reads the input once and usually decides after one or two branches
-- (the idea of neovim's hashy.lua; written anew here).

local text = require("text")

local lookup = {}

-- entries: array of { key = "room_id", value = "3" }
-- Writes statements into w that `return <value>;` on a match; falls through otherwise.
local function emit_group(w, p, entries, used)
    if #entries == 1 then
        local e = entries[1]
        w:line("if (memcmp(%s, %s, %d) == 0)", p, text.c_string(e.key), #e.key)
        w:line("    return %s;", e.value)
        return
    end
    -- the position whose byte takes the most distinct values
    local best, best_n = nil, 0
    for pos = 1, #entries[1].key do
        if not used[pos] then
            local seen, n = {}, 0
            for _, e in ipairs(entries) do
                local b = e.key:byte(pos)
                if not seen[b] then seen[b] = true n = n + 1 end
            end
            if n > best_n then best, best_n = pos, n end
        end
    end
    if not best or best_n == 1 then
        -- keys of equal length that no byte position separates cannot exist
        -- (they would be equal); fall back to sequential compares
        for _, e in ipairs(entries) do emit_group(w, p, { e }, used) end
        return
    end
    local groups, order = {}, {}
    for _, e in ipairs(entries) do
        local b = e.key:byte(best)
        if not groups[b] then groups[b] = {} order[#order + 1] = b end
        table.insert(groups[b], e)
    end
    table.sort(order)
    w:line("switch (%s[%d]) {", p, best - 1)
    used[best] = true
    for _, b in ipairs(order) do
        w:line("case %s:", b >= 32 and b < 127 and b ~= 39 and b ~= 92 and ("'" .. string.char(b) .. "'") or tostring(b))
        w:indent()
        emit_group(w, p, groups[b], used)
        w:line("break;")
        w:dedent()
    end
    used[best] = nil
    w:line("}")
end

function lookup.emit(w, p, n, entries)
    local by_len, lens = {}, {}
    for _, e in ipairs(entries) do
        local l = #e.key
        if not by_len[l] then by_len[l] = {} lens[#lens + 1] = l end
        table.insert(by_len[l], e)
    end
    table.sort(lens)
    w:line("switch (%s) {", n)
    for _, l in ipairs(lens) do
        w:line("case %d:", l)
        w:indent()
        emit_group(w, p, by_len[l], {})
        w:line("break;")
        w:dedent()
    end
    w:line("default:")
    w:line("    break;")
    w:line("}")
end

return lookup
