/*
 * cases.h: the shape of the schema-derived test cases in
 * generated/tests/cases.c and action_cases.c (see generator/emit_tests.lua).
 */
#ifndef SB_TEST_CASES_H
#define SB_TEST_CASES_H

#include <stddef.h>

#include "json.h"

typedef struct sb_case {
    const char *target; /* a message name, or CHANNEL:in / CHANNEL:out */
    const char *name;   /* what the case checks */
    const char *input;
    size_t input_len;
    sb_json_err expect; /* SB_OK, or the error the parser must report */
    const char *path;   /* the error's path; NULL: not checked */
    const char *output; /* for SB_OK: the writer's exact output */
    size_t output_len;
} sb_case;

extern const sb_case sb_cases[];
extern const size_t sb_cases_count;

/* generated/tests/action_cases.c: each action's data, for the action
 * table's validate(). target is CHANNEL:ACTION, input the request's data
 * field as raw JSON (empty: absent), path the error's path under that field;
 * output is unused. */
extern const sb_case sb_action_cases[];
extern const size_t sb_action_cases_count;

#endif
