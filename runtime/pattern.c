/*
 * pattern.c: patterns (a Thompson-NFA simulation, see pattern.h) and the
 * uri and email formats.
 */
#include "pattern.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "json.h" /* SB_LIKELY */

static bool in_set(const sb_pattern *p, uint16_t set, unsigned char b)
{
    return (p->sets[set][b >> 5] >> (b & 31)) & 1u;
}

/* Add pc and everything it reaches without consuming a byte to list. A pc is
 * pushed at most once per step (mark), so the stack never exceeds n_insts. */
static void closure(const sb_pattern *p, uint16_t start, uint16_t *list, size_t *n, uint32_t *mark,
                    uint32_t gen)
{
    uint16_t stack[SB_PATTERN_MAX_INSTS];
    size_t top = 0;
    if (mark[start] == gen)
        return;
    mark[start] = gen;
    stack[top++] = start;
    while (top > 0) {
        uint16_t pc = stack[--top];
        const sb_pattern_inst *in = &p->prog[pc];
        if (in->op == SB_PAT_JMP || in->op == SB_PAT_SPLIT) {
            if (in->op == SB_PAT_SPLIT && mark[in->y] != gen) {
                mark[in->y] = gen;
                stack[top++] = in->y;
            }
            if (mark[in->x] != gen) {
                mark[in->x] = gen;
                stack[top++] = in->x;
            }
        } else {
            list[(*n)++] = pc;
        }
    }
}

static bool valid(const sb_pattern *p)
{
    if (p->n_insts == 0 || p->n_insts > SB_PATTERN_MAX_INSTS ||
        p->prog[p->n_insts - 1].op != SB_PAT_MATCH)
        return false;
    for (size_t i = 0; i < p->n_insts; i++) {
        const sb_pattern_inst *in = &p->prog[i];
        switch (in->op) {
        case SB_PAT_SET:
            if (in->x >= p->n_sets || i + 1 >= p->n_insts)
                return false;
            break;
        case SB_PAT_SPLIT:
            if (in->y >= p->n_insts)
                return false;
            /* fall through */
        case SB_PAT_JMP:
            if (in->x >= p->n_insts)
                return false;
            break;
        case SB_PAT_MATCH:
            break;
        default:
            return false;
        }
    }
    return true;
}

bool sb_pattern_match(const sb_pattern *p, const char *s, size_t n)
{
    if (!valid(p))
        return false;
    uint16_t a[SB_PATTERN_MAX_INSTS], b[SB_PATTERN_MAX_INSTS];
    uint32_t mark[SB_PATTERN_MAX_INSTS];
    memset(mark, 0, sizeof mark);
    uint16_t *clist = a, *nlist = b;
    size_t cn = 0, nn;
    uint32_t gen = 1;
    closure(p, 0, clist, &cn, mark, gen);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        gen++;
        nn = 0;
        for (size_t k = 0; k < cn; k++) {
            const sb_pattern_inst *in = &p->prog[clist[k]];
            if (in->op == SB_PAT_SET && in_set(p, in->x, c))
                closure(p, (uint16_t)(clist[k] + 1), nlist, &nn, mark, gen);
        }
        uint16_t *t = clist;
        clist = nlist;
        nlist = t;
        cn = nn;
        if (cn == 0)
            return false;
    }
    for (size_t k = 0; k < cn; k++)
        if (p->prog[clist[k]].op == SB_PAT_MATCH)
            return true;
    return false;
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The bytes a URI may hold after its scheme besides '%' (RFC 3986:
 * unreserved, gen-delims, sub-delims), as a 256-bit set: one load and one
 * test per byte, where a strchr per byte was a tenth of a message's parse. */
static const uint32_t uri_chars[8] = {
    0,          /* 0x00-0x1F */
    0xAFFFFFDA, /* ! # $ & ' ( ) * + , - . / 0-9 : ; = ? */
    0xAFFFFFFF, /* @ A-Z [ ] _ */
    0x47FFFFFE, /* a-z ~ */
    0,          0, 0, 0,
};

static inline bool uri_char(unsigned char c)
{
    return uri_chars[c >> 5] >> (c & 31) & 1;
}

bool sb_is_uri(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_alpha((unsigned char)s[0]))
        return false;
    while (i < n && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) ||
                     s[i] == '+' || s[i] == '.' || s[i] == '-'))
        i++;
    if (i == n || s[i] != ':' || i + 1 == n)
        return false;
    for (i++; i < n; i++) {
#if defined(__SSE2__)
        /* 16 bytes per step: printable ASCII (0x21-0x7E) minus the ten that
         * RFC 3986 leaves out (" % < > \\ ^ ` { | }); a '%' (or anything
         * else) stops for a look. `< > \\ ^` are two compares once bit 1 is
         * set, and `{ | }` with DEL is the range above 'z' but for '~'. */
        while (n - i >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            __m128i v2 = _mm_or_si128(v, _mm_set1_epi8(0x02));
            __m128i above = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('~')),
                                             _mm_cmpgt_epi8(v, _mm_set1_epi8('z')));
            __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x21)), above);
            bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v2, _mm_set1_epi8('>')),
                                                 _mm_cmpeq_epi8(v2, _mm_set1_epi8('^'))));
            bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('%'))));
            bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8('`')));
            unsigned mask = (unsigned)_mm_movemask_epi8(bad);
            if (mask) {
                i += (unsigned)__builtin_ctz(mask);
                break;
            }
            i += 16;
        }
        if (i >= n)
            break;
#endif
        unsigned char c = (unsigned char)s[i];
        if (SB_LIKELY(uri_char(c)))
            continue;
        if (c != '%' || i + 2 >= n || !is_hex((unsigned char)s[i + 1]) ||
            !is_hex((unsigned char)s[i + 2]))
            return false;
        i += 2;
    }
    return true;
}

bool sb_is_email(const char *s, size_t n)
{
    static const char atext[] = "!#$%&'*+/=?^_`{|}~-";
    if (n > 254)
        return false;
    const char *at = memchr(s, '@', n);
    if (!at)
        return false;
    size_t local = (size_t)(at - s);
    if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.')
        return false;
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (s[i + 1] == '.')
                return false;
        } else if (!(is_alpha(c) || is_digit(c)) && (c == 0 || !strchr(atext, c))) {
            return false;
        }
    }
    size_t labels = 0, len = 0;
    for (size_t i = local + 1; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)s[i] : '.';
        if (c == '.') {
            if (len == 0 || len > 63 || s[i - 1] == '-')
                return false;
            labels++;
            len = 0;
        } else if (is_alpha(c) || is_digit(c) || c == '-') {
            if (len == 0 && c == '-')
                return false;
            len++;
        } else {
            return false;
        }
    }
    return labels >= 2;
}
