/*
 * sio_packet.h: Socket.IO v5 packets as text, apart from any session: the
 * header (`<type>[<attachments>-][<namespace>,][<ack id>]`), an event's or
 * ack's JSON array, an event's name, a binary packet's placeholders. sio.c
 * reads every packet a client sends through these; fuzz_sio drives them with
 * arbitrary bytes.
 */
#ifndef SB_SIO_PACKET_H
#define SB_SIO_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "json.h"

enum {
    SB_SIO_CONNECT = 0,
    SB_SIO_DISCONNECT = 1,
    SB_SIO_EVENT = 2,
    SB_SIO_ACK = 3,
    SB_SIO_CONNECT_ERROR = 4,
    SB_SIO_BINARY_EVENT = 5,
    SB_SIO_BINARY_ACK = 6,
};

#define SB_SIO_NSP_MAX 127 /* bytes of a namespace */

typedef struct sb_sio_packet {
    int type;
    int attachments;              /* binary packets: how many follow (1..max) */
    char nsp[SB_SIO_NSP_MAX + 1]; /* "/" when none was given */
    int64_t ack;                  /* -1: none */
    const char *json;             /* the rest (may be empty): points into the input */
    size_t json_len;
} sb_sio_packet;

/* NULL, or what is wrong: an unknown type, a bad attachment count, too many
 * attachments (over max_attachments) or none, a namespace too long or with
 * a control byte (a NUL would cut it short when it is looked up), an ack
 * ID on a CONNECT or DISCONNECT, an ack ID over 15 digits. */
const char *sb_sio_packet_parse(const char *p, size_t len, int max_attachments, sb_sio_packet *out);

/* The JSON array of an event or ack: each element's raw text (in the arena)
 * and the elements as written between the brackets. false: not one array. */
bool sb_sio_array(sb_arena *arena, const char *p, size_t len, sb_str **items, size_t *n,
                  sb_str *inner);

/* An event's name: a string that is not one of the reserved names (connect,
 * connect_error, disconnect, disconnecting, newListener, removeListener),
 * decoded; or a number, as written. */
bool sb_sio_event_name(sb_arena *arena, sb_str raw, sb_str *name);

/* Every {"_placeholder": true, "num": i} of a binary packet's JSON (an array)
 * names one of its n attachments. */
bool sb_sio_placeholders_ok(sb_arena *arena, const char *json, size_t len, int n);

#endif
