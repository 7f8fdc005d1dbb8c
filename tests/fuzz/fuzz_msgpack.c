/*
 * fuzz_msgpack.c: MessagePack as the emitter bridge reads it
 * (runtime/msgpack.c): the input as one value turned into JSON, and skipped.
 * What is checked beside ASan/UBSan: JSON that is produced is valid JSON
 * (the runtime's own strict reader says so), every attachment lies inside
 * the input, at most max_attachments are made, the output stays within
 * max_out, and skip and to_json agree on where a value ends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "msgpack.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sb_buf out;
    sb_buf_reset(&out);
    sb_str att[4];
    sb_mp_json j = {.max_depth = 32, .max_out = 1 << 16, .attachments = att, .max_attachments = 4};
    sb_mp_reader r;
    sb_mp_reader_init(&r, data, size);
    bool ok = sb_mp_to_json(&r, &out, &j);
    size_t end = (size_t)(r.p - r.begin);
    check(ok == (r.err == SB_MP_OK));
    check(j.n_attachments <= 4);
    if (!ok) {
        check(r.err_msg[0] != '\0' && r.err_offset <= size);
        return 0;
    }
    check(out.len <= j.max_out && !out.oom);
    check(sb_json_validate(out.data, out.len, NULL, NULL, NULL, 0));
    for (size_t i = 0; i < j.n_attachments; i++)
        check(att[i].ptr >= (const char *)data &&
              att[i].ptr + att[i].len <= (const char *)data + size);
    /* the same value, skipped, ends at the same byte */
    sb_mp_reader s;
    sb_mp_reader_init(&s, data, size);
    check(sb_mp_skip(&s, 32));
    check((size_t)(s.p - s.begin) == end);
    (void)sb_mp_end(&s);
    return 0;
}
