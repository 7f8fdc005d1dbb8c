-- expect: schema files may not set globals ('x')
channel "t" { doc = "d", since = 1, transport = "websocket" }
x = 1
