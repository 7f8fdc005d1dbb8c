/*
 * form.h: application/x-www-form-urlencoded bodies (what Twilio's REST API
 * and most form-style APIs take), written piece by piece into an sb_buf.
 *
 * Encoding: RFC 3986's unreserved bytes (A-Z a-z 0-9 - . _ ~) are copied;
 * every other byte, UTF-8 included, becomes %XX with upper-case hex. A space
 * is written as %20, never '+': both decode to a space under the form rules
 * (WHATWG URL, application/x-www-form-urlencoded), but %20 also means a
 * space in a URL's path or query, so the same encoder serves both.
 */
#ifndef SB_FORM_H
#define SB_FORM_H

#include <stddef.h>

#include "json.h" /* sb_buf */

/* Percent-encode s[0..len) onto out. */
void sb_percent_encode(sb_buf *out, const char *s, size_t len);

/* Append "key=value" (both encoded), preceded by '&' unless out is empty:
 * out holds the form and nothing else. value NULL is written as empty. */
void sb_form_append(sb_buf *out, const char *key, const char *value);

#endif
