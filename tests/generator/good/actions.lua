-- A channel with every form of action the language has: data and result as
-- field lists, a ref, a non-object type (an alias) and absent; a permission;
-- handler errors; a proxy whose result only TypeScript gets; data whose
-- unknown fields are ignored; a response without the action's name.
-- test_good_schemas.sh generates it, compiles the C, type-checks the
-- TypeScript and finds each line below in the named output file.
--
-- expect-file: c/t_handlers.h: #include "action.h"
-- expect-file: c/t_handlers.h: int t_action_touch(struct sb_ctx *ctx);
-- expect-file: c/t_handlers.h: int t_action_get_item(struct sb_ctx *ctx, const t_item_ref *data, t_get_item_result *result);
-- expect-file: c/t_handlers.h: int t_action_list(struct sb_ctx *ctx, t_list_result *result);
-- expect-file: c/t_handlers.h: int t_action_lenient(struct sb_ctx *ctx, const t_lenient_data *data);
-- expect-file: c/t_handlers.h: /* getItem: Read an item. Permission: items:read. Errors: BAD_DATA, FAILED, NOT_FOUND. */
-- expect-file: c/t_handlers.h: #define T_ACTION_ERROR_DENIED T_ERROR_DENIED
-- expect-file: c/t_handlers.h: const sb_action_def *t_action_find(const char *name, size_t len);
-- expect-file: c/t.h: typedef struct { t_item_ref *items; size_t count; } t_list_result;
-- expect-file: c/t.c:                 if (!sb_unknown_field(r, key, false))
-- expect-file: c/t_actions.c: static const int errors_get_item[] = {T_ERROR_BAD_DATA, T_ERROR_FAILED, T_ERROR_NOT_FOUND};
-- expect-file: c/t_actions.c:      .permission = "items:read",
-- expect-file: c/t_actions.c:      .run = NULL,
-- expect-file: c/t_actions.c:     (void)result; /* no result: the response has no result */
-- expect-file: c/t_actions.c:     sb_path_push_key(&r, "payload", 7);
-- expect-file: ts/t.ts:         data: undefined;
-- expect-file: ts/t.ts:         result: ListResult;
-- expect-file: ts/t.ts: export type ListResult = ItemRef[];
-- expect-file: ts/t.ts:     forward: { permission: null, proxy: true },
-- expect-file: ts/t.ts:         payload?: null;
-- expect-file: ts/t.ts:         result?: never;
-- expect-file: ts/t.ts: export interface ForwardResultStats {
-- expect-file: ts/examples/t.examples.ts: export const touchAction_1: TRequestMap["touch"] = { data: undefined, result: undefined };
-- expect-file: docs/t.md: | [`getItem`](#getitem) | [ItemRef](#itemref) | [GetItemResult](#getitemresult) | `items:read` | C handler | Read an item. |
-- expect-file: docs/index.md: | [t](t.md) | Socket.IO |  | 2 | 5 | 0 | d |
-- expect-absent: c/t.h: forward_result
-- expect-absent: c/t.c: forward_result
-- expect-absent: c/t_random.c: forward_result
-- expect-absent: c/t_handlers.h: t_action_forward

channel "t" { doc = "d", since = 1, transport = "socketio", inbound = { discriminator = "type" },
    outbound = { discriminator = "type" },
    errors = { { "BAD_DATA", "Bad data" }, { "NO_SUCH", "No such action" }, { "DENIED", "Denied" },
               { "FAILED", "Failed" }, { "NOT_FOUND", "Not found" } },
    actions = { request = ref "Req", name = "op", data = "payload", response = ref "Resp", result = "result",
                errors = { invalid = "BAD_DATA", unknown = "NO_SUCH", denied = "DENIED", internal = "FAILED" } } }

message "Req" { dir = "in", doc = "d", since = 1,
    fields = { { "type", literal "REQ", required }, { "op", str { min = 1, max = 32 }, required },
               { "payload", any, optional_nullable } },
    examples = { [[{"type": "REQ", "op": "touch"}]] } }

message "Resp" { dir = "out", doc = "d", since = 1,
    fields = { { "type", literal "RESP", required }, { "result", any, optional } },
    examples = { [[{"type": "RESP"}]] } }

payload "ItemRef" { doc = "An item.", since = 1, fields = { { "id", str { min = 1, max = 16 }, required } } }

action "touch" { doc = "No data, no result.", since = 1, examples = { {} } }

action "getItem" {
    doc = "Read an item.", since = 1, permission = "items:read", errors = { "NOT_FOUND" },
    data = ref "ItemRef",
    result = { { "id", str { min = 1, max = 16 }, required }, { "size", int { min = 0 }, optional } },
    examples = { { data = [[{"id": "i-1"}]], result = [[{"id": "i-1", "size": 3}]] } },
}

action "list" {
    doc = "Every item.", since = 2,
    result = array { ref "ItemRef", max = 100 },
    examples = { { result = [=[[{"id": "i-1"}, {"id": "i-2"}]]=] } },
}

action "lenient" {
    doc = "Unknown fields of its data are ignored.", since = 1,
    data = object { { "flag", bool, required }, unknown_fields = "ignore" },
    examples = { { data = [[{"flag": true, "extra": 1}]] } },
}

action "forward" {
    doc = "Proxied.", since = 1, proxy = true,
    result = { { "stats", object { { "n", int {}, required } }, required } },
    examples = { { result = [[{"stats": {"n": 1}}]] } },
}
