/* test_error.c — the error convention and JSON logging. */
#include <string.h>

#include "sr_error.h"
#include "sr_log.h"
#include "test_suite.h"

START_TEST(fail_fills_status_and_message) {
    sr_error err;
    sr_status s = sr_fail(&err, SR_ERR_TRUNCATED, "record ended at byte %d", 7);
    ck_assert_int_eq(s, SR_ERR_TRUNCATED);
    ck_assert_int_eq(err.status, SR_ERR_TRUNCATED);
    ck_assert_str_eq(err.message, "record ended at byte 7");
    ck_assert_str_eq(sr_status_name(err.status), "truncated");
}
END_TEST

START_TEST(fail_accepts_null_error) {
    ck_assert_int_eq(sr_fail(NULL, SR_ERR_IO, "x"), SR_ERR_IO);
}
END_TEST

START_TEST(wrap_prefixes_context) {
    sr_error err;
    sr_fail(&err, SR_ERR_IO, "no such file");
    ck_assert_int_eq(sr_error_wrap(&err, SR_ERR_IO, "loading %s", "m.bin"), SR_ERR_IO);
    ck_assert_str_eq(err.message, "loading m.bin: no such file");
}
END_TEST

START_TEST(wrap_accepts_null_error) {
    ck_assert_int_eq(sr_error_wrap(NULL, SR_ERR_IO, "x"), SR_ERR_IO);
}
END_TEST

START_TEST(every_status_has_a_distinct_name) {
    for (int a = 0; a < SR_STATUS_COUNT; a++) {
        ck_assert_str_ne(sr_status_name((sr_status)a), "unknown_status");
        for (int b = 0; b < a; b++)
            ck_assert_str_ne(sr_status_name((sr_status)a), sr_status_name((sr_status)b));
    }
    ck_assert_str_eq(sr_status_name((sr_status)999), "unknown_status");
}
END_TEST

START_TEST(log_levels_parse) {
    ck_assert_int_eq(sr_log_level_parse("warn"), SR_LOG_WARN);
    ck_assert_int_eq(sr_log_level_parse("verbose"), -1);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, fail_fills_status_and_message);
    tcase_add_test(tc, fail_accepts_null_error);
    tcase_add_test(tc, wrap_prefixes_context);
    tcase_add_test(tc, wrap_accepts_null_error);
    tcase_add_test(tc, every_status_has_a_distinct_name);
    tcase_add_test(tc, log_levels_parse);
    suite_add_tcase(s, tc);
    return s;
}
