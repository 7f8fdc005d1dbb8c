/*
 * test_writers.c: properties of the generated writers that the derived
 * cases cannot show, each from a bug found once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chat.h"
#include "dashboard.h"

/* A nullable field (required, may be null) left zeroed must be written as
 * null: it used to be omitted, and the parser then refused the writer's own
 * output ("src: missing required field"). */
static void test_nullable_zeroed_is_null(void **state)
{
    (void)state;
    dashboard_dashboard_component c;
    memset(&c, 0, sizeof c);
    c.type = DASHBOARD_DASHBOARD_COMPONENT_TYPE_TIMELINE;
    c.id = SB_STR_LIT("timeline_1");
    c.position = DASHBOARD_DASHBOARD_POSITION_TOP_FULL;
    c.component_name = DASHBOARD_DASHBOARD_COMPONENT_NAME_TIMELINE_COMPONENT;
    sb_buf b;
    sb_buf_init(&b);
    dashboard_dashboard_component_write(&b, &c);
    sb_buf_putc(&b, '\0');
    assert_string_equal(b.data,
                        "{\"type\":\"timeline\",\"id\":\"timeline_1\",\"position\":\"top_full\","
                        "\"component_name\":\"TimelineComponent\",\"src\":null}");
    sb_arena a;
    sb_arena_init(&a, 0);
    sb_reader r;
    dashboard_dashboard_component back;
    sb_reader_init(&r, b.data, b.len - 1, &a, NULL);
    assert_true(dashboard_dashboard_component_parse(&r, &back) && sb_read_end(&r));
    assert_int_equal(back.has.src, SB_NULL);
    sb_arena_free(&a);
    sb_buf_free(&b);
}

/* Optional fields left zeroed are absent, and an object of only optional
 * fields writes as {}. */
static void test_optional_zeroed_is_absent(void **state)
{
    (void)state;
    chat_customer c;
    memset(&c, 0, sizeof c);
    sb_buf b;
    sb_buf_init(&b);
    chat_customer_write(&b, &c);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "{}", 2);
    c.address = SB_STR_LIT("1 Main St");
    c.has.address = SB_SET;
    c.has.full_name = SB_NULL;
    sb_buf_reset(&b);
    chat_customer_write(&b, &c);
    sb_buf_putc(&b, '\0');
    assert_string_equal(b.data, "{\"full_name\":null,\"address\":\"1 Main St\"}");
    sb_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nullable_zeroed_is_null),
        cmocka_unit_test(test_optional_zeroed_is_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
