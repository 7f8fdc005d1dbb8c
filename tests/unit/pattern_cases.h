/* pattern_cases.h: the cases that tests/unit/pattern_cases.lua writes (each
 * already checked against the generator's pattern.lua and validate.lua). */
#ifndef SB_PATTERN_CASES_H
#define SB_PATTERN_CASES_H

#include <stdbool.h>
#include <stddef.h>

#include "pattern.h"

enum { SB_CASE_PATTERN, SB_CASE_URI, SB_CASE_EMAIL, SB_CASE_ISO8601 };

typedef struct sb_pattern_case {
    int kind;
    const sb_pattern *pattern; /* SB_CASE_PATTERN */
    const char *source;        /* the pattern, or the format's name */
    const char *input;
    size_t len;
    bool accept; /* what pattern.lua / validate.lua say, and the list */
} sb_pattern_case;

extern const sb_pattern_case sb_pattern_cases[];
extern const size_t sb_pattern_n_cases;

#endif
