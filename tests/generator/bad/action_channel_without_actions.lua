-- expect: channel t: has actions, so needs actions = { request = ref "...", name = "...", data = "...", response = ref "...", result = "...", errors = { ... } }
channel "t" { doc = "d", since = 1, transport = "socketio" }
action "ping" { doc = "d", since = 1, examples = { {} } }
