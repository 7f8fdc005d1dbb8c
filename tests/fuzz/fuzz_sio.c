/*
 * fuzz_sio.c: what a Socket.IO client sends, read as the server reads it.
 *
 * The input is an Engine.IO polling payload (packets joined with 0x1e; a
 * binary one as "b" + base64): every packet is split off, a "b" one decoded
 * (runtime/base64.c), a message ("4...") read as a Socket.IO packet
 * (runtime/sio_packet.c: the header, the JSON array of an event or ack, the
 * event's name, a binary packet's placeholders), exactly the calls sio.c
 * makes. The whole input is also read as one packet, as a WebSocket frame
 * is. ASan/UBSan watch; the checks below catch results that contradict the
 * input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "base64.h"
#include "sio_packet.h"

static sb_arena arena;

static void check(int cond)
{
    if (!cond)
        abort();
}

static void read_packet(const char *p, size_t len)
{
    sb_arena_reset(&arena);
    sb_sio_packet pk;
    if (sb_sio_packet_parse(p, len, 10, &pk) != NULL)
        return;
    check(pk.json >= p && pk.json + pk.json_len == p + len);
    check(pk.type >= 0 && pk.type <= 6);
    check(pk.nsp[0] == '/' && strlen(pk.nsp) <= SB_SIO_NSP_MAX);
    check(pk.attachments >= 0 && pk.attachments <= 10);
    if (pk.type == SB_SIO_CONNECT || pk.type == SB_SIO_DISCONNECT)
        check(pk.ack == -1);
    if (pk.attachments)
        (void)sb_sio_placeholders_ok(&arena, pk.json, pk.json_len, pk.attachments);
    if (pk.type == SB_SIO_CONNECT || pk.type == SB_SIO_DISCONNECT ||
        pk.type == SB_SIO_CONNECT_ERROR || !pk.json_len)
        return;
    sb_str *items, inner;
    size_t n;
    if (!sb_sio_array(&arena, pk.json, pk.json_len, &items, &n, &inner))
        return;
    check(inner.ptr >= pk.json && inner.ptr + inner.len <= pk.json + pk.json_len);
    for (size_t i = 0; i < n; i++)
        check(items[i].ptr >= inner.ptr && items[i].ptr + items[i].len <= inner.ptr + inner.len);
    sb_str name;
    if (n && (pk.type == SB_SIO_EVENT || pk.type == SB_SIO_BINARY_EVENT))
        (void)sb_sio_event_name(&arena, items[0], &name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        sb_arena_init(&arena, 1u << 24);
        ready = 1;
    }
    const char *p = (const char *)data, *end = p + size;
    /* a polling payload */
    for (;;) {
        const char *sep = memchr(p, '\x1e', (size_t)(end - p));
        const char *stop = sep ? sep : end;
        size_t len = (size_t)(stop - p);
        if (len && p[0] == 'b') {
            unsigned char *bin = malloc(len);
            long n = bin ? sb_b64_decode(p + 1, len - 1, bin) : -1;
            check(n <= (long)len);
            free(bin);
        } else if (len && p[0] == '4') {
            read_packet(p + 1, len - 1);
        }
        if (!sep)
            break;
        p = sep + 1;
    }
    /* one WebSocket frame */
    read_packet((const char *)data, size);
    return 0;
}
