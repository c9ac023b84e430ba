/* test_kafka_errors.c — which librdkafka errors stop a command and what the
 * user is told (kafka_errors.c), without a broker: the classification, the
 * message for each cause, and the process's terminal error as the error
 * callback records it (called here with the codes librdkafka reports). */
#include <librdkafka/rdkafka.h>
#include <string.h>

#include "sr_kafka.h"
#include "test_suite.h"

START_TEST(refusals_are_terminal_and_outages_are_not) {
    ck_assert(sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR__AUTHENTICATION, "SASL authentication error"));
    ck_assert(sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED, NULL));
    ck_assert(sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, NULL));
    ck_assert(sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, NULL));
    ck_assert(sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, NULL));
    ck_assert(sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, NULL));
    /* TLS: a certificate that does not verify, yes; a reset mid-handshake, no. */
    ck_assert(sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR__SSL,
                                         "SSL handshake failed: error:0A000086:SSL routines::"
                                         "certificate verify failed: broker certificate could not be verified"));
    ck_assert(sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR__SSL, "Broker did not provide a certificate"));
    ck_assert(!sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR__SSL, "SSL transport error: Connection reset by peer"));
    ck_assert(!sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR__SSL, NULL));
    /* What a broker restart or a rebalance looks like: retried. */
    ck_assert(!sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR__TRANSPORT, "Connection refused"));
    ck_assert(!sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, NULL));
    ck_assert(!sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR__TIMED_OUT, NULL));
    ck_assert(!sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, NULL));
    ck_assert(!sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, NULL));
    ck_assert(!sr_kafka_error_is_terminal(RD_KAFKA_RESP_ERR_NO_ERROR, NULL));
}
END_TEST

static const sr_kafka_identity alice = {.mechanism = "PLAIN", .username = "alice",
                                        .ca_location = "/etc/kafka/ca.pem"};

static void assert_contains(const char *text, const char *part) {
    ck_assert_msg(strstr(text, part) != NULL, "'%s' not in '%s'", part, text);
}

START_TEST(messages_name_the_cause_and_what_to_check) {
    char text[SR_ERROR_MESSAGE_MAX];
    sr_kafka_describe_terminal(RD_KAFKA_RESP_ERR__AUTHENTICATION,
                               "SASL authentication error: Invalid username or password", &alice,
                               text, sizeof text);
    assert_contains(text, "Kafka authentication failed (SASL PLAIN as 'alice'");
    assert_contains(text, "sasl.password");
    assert_contains(text, "Invalid username or password");

    sr_kafka_describe_terminal(RD_KAFKA_RESP_ERR__SSL, "certificate verify failed", &alice, text,
                               sizeof text);
    assert_contains(text, "Kafka TLS failed: the broker's certificate is not trusted");
    assert_contains(text, "ssl.ca.location /etc/kafka/ca.pem");

    sr_kafka_describe_terminal(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, NULL, &alice, text,
                               sizeof text);
    assert_contains(text, "Kafka authorization failed for 'alice' (TOPIC_AUTHORIZATION_FAILED");
    assert_contains(text, "ACLs");
    assert_contains(text, "Topic authorization failed"); /* librdkafka's text when no reason */

    sr_kafka_identity nobody = {0};
    sr_kafka_describe_terminal(RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, "", &nobody, text,
                               sizeof text);
    assert_contains(text, "for '(not set)' (GROUP_AUTHORIZATION_FAILED");
}
END_TEST

START_TEST(scram_on_an_old_librdkafka_says_so) {
    char text[SR_ERROR_MESSAGE_MAX];
    sr_kafka_identity scram = alice;
    scram.mechanism = "SCRAM-SHA-512";
    sr_kafka_describe_terminal(RD_KAFKA_RESP_ERR__AUTHENTICATION, "invalid credentials", &scram,
                               text, sizeof text);
    assert_contains(text, "(SASL SCRAM-SHA-512 as 'alice'");
    if (rd_kafka_version() < 0x020601ff) assert_contains(text, "#4895");
    else ck_assert_ptr_null(strstr(text, "#4895"));
}
END_TEST

/* The message's head survives a long reason: the cause is never cut off. */
START_TEST(a_long_reason_is_cut_not_the_cause) {
    char reason[1024];
    memset(reason, 'x', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    sr_error err;
    ck_assert_int_eq(sr_kafka_fail(NULL, RD_KAFKA_RESP_ERR__AUTHENTICATION, reason, &err), SR_ERR_KAFKA);
    ck_assert_int_eq(err.status, SR_ERR_KAFKA);
    assert_contains(err.message, "Kafka authentication failed");
    ck_assert_uint_eq(strlen(err.message), SR_ERROR_MESSAGE_MAX - 1);
}
END_TEST

START_TEST(other_errors_keep_their_reason) {
    sr_error err;
    ck_assert_int_eq(sr_kafka_fail(NULL, RD_KAFKA_RESP_ERR__TRANSPORT, "Connection refused", &err),
                     SR_ERR_KAFKA);
    ck_assert_str_eq(err.message, "Connection refused");
    ck_assert_int_eq(sr_kafka_fail(NULL, RD_KAFKA_RESP_ERR__TIMED_OUT, NULL, &err), SR_ERR_KAFKA);
    ck_assert_str_eq(err.message, rd_kafka_err2str(RD_KAFKA_RESP_ERR__TIMED_OUT));
}
END_TEST

/* The error callback's path, with a real client handle for the identity:
 * outages are only logged, the first refusal is kept for the process. */
START_TEST(the_first_refusal_is_kept_for_the_process) {
    rd_kafka_conf_t *conf;
    sr_kafka_settings settings = {0};
    sr_error err;
    ck_assert_int_eq(sr_kafka_settings_add(&settings, "security.protocol=SASL_SSL", &err), SR_OK);
    ck_assert_int_eq(sr_kafka_settings_add(&settings, "sasl.mechanisms=PLAIN", &err), SR_OK);
    ck_assert_int_eq(sr_kafka_settings_add(&settings, "sasl.username=bob", &err), SR_OK);
    ck_assert_int_eq(sr_kafka_settings_add(&settings, "sasl.password=hunter2", &err), SR_OK);
    ck_assert_int_eq(sr_kafka_conf_new(&settings, "127.0.0.1:1", &conf, &err), SR_OK);
    char errstr[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    ck_assert_msg(rk != NULL, "%s", errstr);

    ck_assert_int_eq(sr_kafka_terminal_error(&err), SR_OK);
    sr_kafka_note_error(rk, RD_KAFKA_RESP_ERR__TRANSPORT, "Connection refused");
    sr_kafka_note_error(rk, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "1/1 brokers are down");
    ck_assert_int_eq(sr_kafka_terminal_error(&err), SR_OK);
    sr_kafka_note_error(rk, RD_KAFKA_RESP_ERR__AUTHENTICATION, "SASL authentication error: Invalid "
                        "username or password");
    sr_kafka_note_error(rk, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "later");
    ck_assert_int_eq(sr_kafka_terminal_error(&err), SR_ERR_KAFKA);
    assert_contains(err.message, "Kafka authentication failed (SASL PLAIN as 'bob'");
    ck_assert_ptr_null(strstr(err.message, "hunter2"));
    ck_assert_int_eq(sr_kafka_terminal_error(NULL), SR_ERR_KAFKA);
    rd_kafka_destroy(rk);
    sr_kafka_settings_free(&settings);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("kafka_errors");
    TCase *t = tcase_create("terminal errors");
    tcase_add_test(t, refusals_are_terminal_and_outages_are_not);
    tcase_add_test(t, messages_name_the_cause_and_what_to_check);
    tcase_add_test(t, scram_on_an_old_librdkafka_says_so);
    tcase_add_test(t, a_long_reason_is_cut_not_the_cause);
    tcase_add_test(t, other_errors_keep_their_reason);
    tcase_add_test(t, the_first_refusal_is_kept_for_the_process);
    suite_add_tcase(s, t);
    return s;
}
