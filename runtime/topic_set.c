/*
 * topic_set.c: the union of some topics' connections minus other topics'
 * (topic_set.h). Both sides are gathered as they come, then sorted: the
 * union is the sorted list without repeats, and the exclusion one merge
 * walk over both lists. O(n log n) in the subscriptions named; nothing is
 * kept between deliveries but the arrays' memory.
 */
#include <stdlib.h>
#include <string.h>

#include "topic_set.h"

void sb_topic_set_init(sb_topic_set *s)
{
    memset(s, 0, sizeof *s);
}

void sb_topic_set_free(sb_topic_set *s)
{
    free(s->in);
    free(s->out);
    sb_topic_set_init(s);
}

void sb_topic_set_reset(sb_topic_set *s)
{
    s->n_in = s->n_out = 0;
    s->oom = false;
}

static void append(sb_topic_set *s, uint64_t **arr, size_t *len, size_t *cap, const uint64_t *ids,
                   size_t n)
{
    if (s->oom || n == 0)
        return;
    if (n > *cap - *len) {
        size_t want = *cap ? *cap : 64;
        while (want - *len < n) {
            if (want > SIZE_MAX / 2 / sizeof **arr) {
                s->oom = true;
                return;
            }
            want *= 2;
        }
        uint64_t *p = realloc(*arr, want * sizeof *p);
        if (!p) {
            s->oom = true;
            return;
        }
        *arr = p;
        *cap = want;
    }
    memcpy(*arr + *len, ids, n * sizeof *ids);
    *len += n;
}

void sb_topic_set_add(sb_topic_set *s, const sb_topics *t, const char *topic)
{
    size_t n = 0;
    const uint64_t *ids = sb_topics_conns(t, topic, &n);
    append(s, &s->in, &s->n_in, &s->cap_in, ids, n);
}

void sb_topic_set_add_conn(sb_topic_set *s, uint64_t conn)
{
    append(s, &s->in, &s->n_in, &s->cap_in, &conn, 1);
}

void sb_topic_set_except(sb_topic_set *s, const sb_topics *t, const char *topic)
{
    size_t n = 0;
    const uint64_t *ids = sb_topics_conns(t, topic, &n);
    append(s, &s->out, &s->n_out, &s->cap_out, ids, n);
}

static int cmp_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

const uint64_t *sb_topic_set_finish(sb_topic_set *s, size_t *n)
{
    *n = 0;
    if (s->oom)
        return NULL;
    static const uint64_t none[1];
    if (s->n_in == 0)
        return none;
    qsort(s->in, s->n_in, sizeof *s->in, cmp_id);
    if (s->n_out)
        qsort(s->out, s->n_out, sizeof *s->out, cmp_id);
    size_t w = 0, j = 0;
    for (size_t i = 0; i < s->n_in; i++) {
        uint64_t id = s->in[i];
        if (w && s->in[w - 1] == id)
            continue; /* in two of the topics */
        while (j < s->n_out && s->out[j] < id)
            j++;
        if (j < s->n_out && s->out[j] == id)
            continue; /* excluded */
        s->in[w++] = id;
    }
    s->n_in = w;
    *n = w;
    return s->in;
}
