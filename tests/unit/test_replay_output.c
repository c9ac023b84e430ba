/* test_replay_output.c — the pieces of `streamrec replay` that need no broker:
 * the token bucket (with a fake clock), the progress bar text and the summary. */
#include <stdio.h>
#include <string.h>

#include "replay/progress.h"
#include "replay/rate_limiter.h"
#include "test_suite.h"

START_TEST(unlimited_rate_never_waits) {
    replay_rate_limiter rl;
    replay_rate_limiter_init(&rl, 0, 0);
    for (int i = 0; i < 100000; i++) ck_assert(replay_rate_limiter_take(&rl, 0) == 0);
}
END_TEST

/* Simulates `seconds` of a sender that sleeps exactly as told; returns events. */
static int simulate(double rate, double seconds) {
    replay_rate_limiter rl;
    replay_rate_limiter_init(&rl, rate, 0);
    double now = 0;
    int sent = 0;
    while (now < seconds) {
        double wait = replay_rate_limiter_take(&rl, now);
        if (wait > 0) now += wait;
        else sent++;
    }
    return sent;
}

START_TEST(token_bucket_holds_the_rate) {
    /* A tenth of a second of burst at the start, then the rate. */
    int sent = simulate(1000, 10);
    ck_assert_int_ge(sent, 10000);
    ck_assert_int_le(sent, 10000 + 100 + 1);
    sent = simulate(3, 10);
    ck_assert_int_ge(sent, 30);
    ck_assert_int_le(sent, 32);
}
END_TEST

START_TEST(token_bucket_burst_is_bounded_after_a_pause) {
    replay_rate_limiter rl;
    replay_rate_limiter_init(&rl, 100, 0);
    int burst = 0;
    while (replay_rate_limiter_take(&rl, 60) == 0) burst++;  /* a minute later */
    ck_assert_int_eq(burst, 10);
}
END_TEST

START_TEST(progress_text_with_and_without_total) {
    char line[160];
    replay_progress_format(line, sizeof line, 500000, 1000000, 5);
    ck_assert_str_eq(line, "[############------------]  50.0%  500000/1000000 events  100.0k ev/s  ETA 0:05");
    replay_progress_format(line, sizeof line, 1234, 0, 2);
    ck_assert_str_eq(line, "1234 events  617 ev/s");
    replay_progress_format(line, sizeof line, 0, 10, 0);
    ck_assert_str_eq(line, "[------------------------]   0.0%  0/10 events  0 ev/s");
}
END_TEST

START_TEST(summary_line_and_json) {
    replay_summary s = {.source = "lines", .topic = "user-events", .events = 2000,
                        .delivered = 2000, .bytes = 3000000, .seconds = 2, .bad_lines = 3};
    char text[512] = {0};
    FILE *out = fmemopen(text, sizeof text, "w");
    replay_summary_print(out, &s);
    fclose(out);
    ck_assert_str_eq(text, "replay: 2000 events (2000 delivered, 0 failed), 3.00 MB in 2.00 s: "
                           "1000 events/s, 1.50 MB/s; 3 bad lines skipped\n");
    memset(text, 0, sizeof text);
    out = fmemopen(text, sizeof text, "w");
    replay_summary_print_json(out, &s);
    fclose(out);
    ck_assert_str_eq(text, "{\"source\":\"lines\",\"topic\":\"user-events\",\"events\":2000,"
                           "\"delivered\":2000,\"failed\":0,\"bytes\":3000000,\"seconds\":2.000,"
                           "\"events_per_second\":1000.0,\"mb_per_second\":1.500,"
                           "\"bad_lines_skipped\":3,\"blank_lines\":0,\"interrupted\":false}\n");
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("replay_output");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, unlimited_rate_never_waits);
    tcase_add_test(tc, token_bucket_holds_the_rate);
    tcase_add_test(tc, token_bucket_burst_is_bounded_after_a_pause);
    tcase_add_test(tc, progress_text_with_and_without_total);
    tcase_add_test(tc, summary_line_and_json);
    suite_add_tcase(s, tc);
    return s;
}
