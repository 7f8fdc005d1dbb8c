-- emit_docs.lua: placeholder
return { emit = function(model) return {} end }
