/*
 * pattern.h: the string checks of `str { pattern = ..., format = ... }`.
 *
 * A pattern is compiled by the generator (generator/pattern.lua) into a
 * small program that generated code keeps as a static sb_pattern. The
 * program is a nondeterministic automaton: SET consumes one byte of a
 * 256-bit set, SPLIT forks, JMP jumps, MATCH accepts. sb_pattern_match
 * simulates it Thompson's way, with the set of live states advanced one
 * input byte at a time, so it never backtracks: time is
 * O(len * n_insts) and memory is bounded by SB_PATTERN_MAX_INSTS, whatever
 * the pattern and the input. validate.lua runs the same program the same
 * way at generation time.
 */
#ifndef SB_PATTERN_H
#define SB_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_PATTERN_MAX_INSTS 512 /* pattern.MAX_INSTS in generator/pattern.lua */

enum { SB_PAT_SET = 0, SB_PAT_SPLIT = 1, SB_PAT_JMP = 2, SB_PAT_MATCH = 3 };

typedef struct sb_pattern_inst {
    uint16_t op;
    uint16_t x; /* SET: the set's index; SPLIT, JMP: a target */
    uint16_t y; /* SPLIT: the other target */
} sb_pattern_inst;

typedef struct sb_pattern {
    const char *source;          /* as written in the schema, for errors */
    const sb_pattern_inst *prog; /* n_insts instructions, the last MATCH */
    size_t n_insts;
    const uint32_t (*sets)[8]; /* byte b is in set s when sets[s][b >> 5] bit (b & 31) */
    size_t n_sets;
} sb_pattern;

/* The whole of s[0..n) matches. False also for a malformed program (a target
 * or set out of range, more than SB_PATTERN_MAX_INSTS). */
bool sb_pattern_match(const sb_pattern *p, const char *s, size_t n);

/* format = "uri": an absolute URI (RFC 3986): a scheme [A-Za-z][A-Za-z0-9+.-]*,
 * ':', then at least one byte, each unreserved, reserved, or '%' and two
 * hex digits. No spaces, no bytes over 0x7e (IRIs are not accepted). */
bool sb_is_uri(const char *s, size_t n);
/* format = "email": local@domain. local: 1..64 bytes of RFC 5322 atext and
 * dots, no leading, trailing or double dot. domain: two or more labels of
 * 1..63 [A-Za-z0-9-], not starting or ending with '-'. At most 254 bytes. */
bool sb_is_email(const char *s, size_t n);

#endif
