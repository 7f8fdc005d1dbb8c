/*
 * form.c: percent-encoding and form bodies (form.h).
 */
#include <string.h>

#include "form.h"

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void sb_percent_encode(sb_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    /* worst case three bytes each: reserve once, then write */
    if (len > ((size_t)-1) / 3) {
        out->oom = true;
        return;
    }
    if (!sb_buf_reserve(out, len * 3))
        return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c)) {
            sb_buf_putc(out, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            sb_buf_put(out, esc, 3);
        }
    }
}

void sb_form_append(sb_buf *out, const char *key, const char *value)
{
    if (out->len)
        sb_buf_putc(out, '&');
    sb_percent_encode(out, key, strlen(key));
    sb_buf_putc(out, '=');
    if (value)
        sb_percent_encode(out, value, strlen(value));
}
