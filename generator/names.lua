-- names.lua: how schema names become C and TypeScript identifiers.

local names = {}

-- "NewMessagePayload" -> "new_message_payload"; "IFRAMEComponent" -> "iframe_component"
function names.snake(s)
    s = s:gsub("(%u+)(%u%l)", "%1_%2")
    s = s:gsub("(%l)(%u)", "%1_%2")
    s = s:gsub("(%d)(%u)", "%1_%2")
    s = s:gsub("[^%w]+", "_")
    return s:lower()
end

-- "room_id" -> "RoomId"; "requestId" -> "RequestId"
function names.camel(s)
    s = s:gsub("^%l", string.upper)
    s = s:gsub("[_%-%s]+(%w)", function(c) return c:upper() end)
    return (s:gsub("[^%w]", ""))
end

function names.upper(s)
    return names.snake(s):upper()
end

local C_RESERVED = {}
for w in ([[auto break case char const continue default do double else enum extern float
  for goto if inline int long register restrict return short signed sizeof static struct
  switch typedef union unsigned void volatile while bool true false has]]):gmatch("%S+") do
    C_RESERVED[w] = true
end

-- A wire field name as a C struct member: non-identifier bytes become '_',
-- and C keywords get a trailing '_' ("default" -> "default_").
function names.c_field(s)
    local c = s:gsub("[^%w_]", "_")
    if c:match("^%d") then c = "_" .. c end
    if C_RESERVED[c] then c = c .. "_" end
    return c
end

-- An enum value as a C constant suffix: "view_standard_3" -> "VIEW_STANDARD_3"
function names.c_const(s)
    local c = names.snake(s):upper()
    if c:match("^%d") then c = "_" .. c end
    return c
end

return names
