/*
 * id_set.c: a bounded sorted set of IDs (id_set.h).
 */
#include "id_set.h"

#include <stdlib.h>
#include <string.h>

/* Where id is, or would go. */
static size_t lower_bound(const sb_id_set *s, int64_t id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool sb_id_set_has(const sb_id_set *s, int64_t id)
{
    size_t at = lower_bound(s, id);
    return at < s->n && s->ids[at] == id;
}

bool sb_id_set_add(sb_id_set *s, int64_t id)
{
    size_t at = lower_bound(s, id);
    if (at < s->n && s->ids[at] == id)
        return false;
    if (s->n >= (s->max ? s->max : SB_ID_SET_MAX)) {
        s->overflow = true;
        return true;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        int64_t *p = realloc(s->ids, cap * sizeof *p);
        if (!p)
            return true;
        s->ids = p;
        s->cap = cap;
    }
    memmove(s->ids + at + 1, s->ids + at, (s->n - at) * sizeof *s->ids);
    s->ids[at] = id;
    s->n++;
    return true;
}

void sb_id_set_clear(sb_id_set *s)
{
    free(s->ids);
    s->ids = NULL;
    s->n = s->cap = 0;
    s->overflow = false;
}
