/* test_kafka_log.c — librdkafka's own log lines come out as streamrec's JSON
 * log lines (component "librdkafka", the client's name in the message), from
 * the application thread and from librdkafka's broker threads alike.
 *
 * Each test points stderr at a temporary file (dup2), makes librdkafka log —
 * `debug=generic` at creation and destruction (debug), a consumer property on
 * a producer (warn), a bootstrap address that refuses connections (error) —
 * then reads the file back and parses every line. */
#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sr_kafka.h"
#include "sr_log.h"
#include "test_suite.h"

#define CLIENT_ID "kafka-log-test"

/* ---- stderr to a file and back ---- */

typedef struct captured {
    char path[64];
    int saved_stderr;
} captured;

static void capture_start(captured *c) {
    snprintf(c->path, sizeof c->path, "/tmp/test_kafka_log_XXXXXX");
    int fd = mkstemp(c->path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    c->saved_stderr = dup(STDERR_FILENO);
    ck_assert_int_ge(c->saved_stderr, 0);
    ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
    close(fd);
}

/* Restores stderr and returns what was written meanwhile (caller frees). */
static char *capture_end(captured *c) {
    fflush(stderr);
    dup2(c->saved_stderr, STDERR_FILENO);
    close(c->saved_stderr);
    FILE *f = fopen(c->path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    ck_assert_uint_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    unlink(c->path);
    return text;
}

static bool file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

/* ---- A strict parser for sr_log's lines: one flat JSON object of strings ---- */

typedef struct log_fields {
    char ts[64], level[16], component[64], msg[2048];
} log_fields;

/* Parses the JSON string at *p into out (escapes decoded; \u00XX as that
 * byte, other \u as '?'); false when it is not a valid JSON string. */
static bool parse_string(const char **p, char *out, size_t cap) {
    const char *s = *p;
    size_t n = 0;
    if (*s++ != '"') return false;
    for (;;) {
        unsigned char c = (unsigned char)*s++;
        if (c == '"') break;
        if (c < 0x20) return false; /* also the end of the text */
        if (c == '\\') {
            char e = *s++;
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e != '\0' && simple) {
                c = (unsigned char)"\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            } else if (e == 'u') {
                unsigned v = 0;
                for (int i = 0; i < 4; i++, s++) {
                    char h = *s;
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
                        return false;
                    v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
                }
                c = v < 0x100 ? (unsigned char)v : '?';
            } else {
                return false;
            }
        }
        if (n + 1 < cap) out[n++] = (char)c;
    }
    out[n] = '\0';
    *p = s;
    return true;
}

/* Parses one line as {"ts":..,"level":..,"component":..,"msg":..} (those keys,
 * string values, nothing else). */
static bool parse_log_line(const char *line, log_fields *f) {
    memset(f, 0, sizeof *f);
    const char *p = line;
    if (*p++ != '{') return false;
    for (int fields = 0;; fields++) {
        char key[32];
        if (!parse_string(&p, key, sizeof key) || *p++ != ':') return false;
        char *value;
        size_t cap;
        if (strcmp(key, "ts") == 0) value = f->ts, cap = sizeof f->ts;
        else if (strcmp(key, "level") == 0) value = f->level, cap = sizeof f->level;
        else if (strcmp(key, "component") == 0) value = f->component, cap = sizeof f->component;
        else if (strcmp(key, "msg") == 0) value = f->msg, cap = sizeof f->msg;
        else return false;
        if (!parse_string(&p, value, cap)) return false;
        if (*p == ',') {
            p++;
            continue;
        }
        return *p == '}' && p[1] == '\0' && fields == 3;
    }
}

/* Counts of the captured lines by level; fails on any line that is not one of
 * our JSON log lines from component librdkafka naming the client. */
typedef struct line_counts {
    int total, debug, info, warn, error;
    bool saw_init, saw_confwarn, saw_broker_thread;
} line_counts;

static line_counts check_lines(char *text) {
    line_counts c = {0};
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        log_fields f;
        ck_assert_msg(parse_log_line(line, &f), "not a JSON log line: %s", line);
        ck_assert_str_eq(f.component, "librdkafka");
        ck_assert_uint_eq(strlen(f.ts), 24); /* 2026-11-30T09:00:00.123Z */
        ck_assert_msg(strncmp(f.msg, "[" CLIENT_ID "#producer-", strlen(CLIENT_ID) + 11) == 0,
                      "no client name: %s", f.msg);
        c.total++;
        if (strcmp(f.level, "debug") == 0) c.debug++;
        else if (strcmp(f.level, "info") == 0) c.info++;
        else if (strcmp(f.level, "warn") == 0) c.warn++;
        else if (strcmp(f.level, "error") == 0) c.error++;
        else ck_abort_msg("unknown level %s", f.level);
        if (strstr(f.msg, "] INIT: ") && strcmp(f.level, "debug") == 0) c.saw_init = true;
        if (strstr(f.msg, "] CONFWARN: ") && strcmp(f.level, "warn") == 0) c.saw_confwarn = true;
        if (strstr(f.msg, "[thrd:127.0.0.1:")) c.saw_broker_thread = true;
    }
    return c;
}

/* ---- Clients ---- */

/* A TCP port on 127.0.0.1 that refuses connections: bound, never listening,
 * held open (in *fd) so that nothing else takes it meanwhile. */
static int refusing_port(int *fd) {
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(*fd, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(*fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    ck_assert_int_eq(getsockname(*fd, (struct sockaddr *)&addr, &len), 0);
    return ntohs(addr.sin_port);
}

static rd_kafka_conf_t *conf_with(const char *bootstrap, const char *const *settings) {
    sr_kafka_settings s = {0};
    sr_error err;
    for (int i = 0; settings[i]; i++) ck_assert_int_eq(sr_kafka_settings_add(&s, settings[i], &err), SR_OK);
    rd_kafka_conf_t *conf;
    ck_assert_int_eq(sr_kafka_conf_new(&s, bootstrap, &conf, &err), SR_OK);
    sr_kafka_settings_free(&s);
    return conf;
}

static rd_kafka_t *producer_from(rd_kafka_conf_t *conf) {
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    ck_assert_msg(rk != NULL, "rd_kafka_new: %s", errstr);
    return rk;
}

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- Tests ---- */

START_TEST(librdkafka_lines_become_json_lines_at_their_levels) {
    sr_log_set_level(SR_LOG_DEBUG);
    int port_fd;
    char bootstrap[64];
    snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%d", refusing_port(&port_fd));
    const char *settings[] = {"client.id=" CLIENT_ID, "debug=generic", "log_level=7",
                              "group.id=ignored-by-a-producer", NULL};
    rd_kafka_conf_t *conf = conf_with(bootstrap, settings);

    captured cap;
    capture_start(&cap);
    rd_kafka_t *rk = producer_from(conf);
    /* The refused connection is logged by the broker's thread within
     * milliseconds; wait for it a little, not forever. */
    double deadline = seconds_now() + 1.5;
    while (!file_contains(cap.path, "\"level\":\"error\"") && seconds_now() < deadline)
        usleep(5000);
    rd_kafka_destroy(rk);
    char *text = capture_end(&cap);
    close(port_fd);

    line_counts c = check_lines(text);
    ck_assert_int_gt(c.total, 3);
    ck_assert_msg(c.saw_init, "no debug INIT line from rd_kafka_new");
    ck_assert_msg(c.saw_confwarn, "no warn CONFWARN line");
    ck_assert_int_ge(c.error, 1);
    ck_assert_msg(c.saw_broker_thread, "no line from the broker's thread");
    free(text);
}
END_TEST

START_TEST(debug_lines_follow_our_log_level) {
    sr_log_set_level(SR_LOG_INFO);
    const char *settings[] = {"client.id=" CLIENT_ID, "debug=generic", "log_level=7",
                              "group.id=ignored-by-a-producer", NULL};
    /* No bootstrap: nothing to connect to, only creation and destruction. */
    rd_kafka_conf_t *conf = conf_with(NULL, settings);
    captured cap;
    capture_start(&cap);
    rd_kafka_destroy(producer_from(conf));
    char *text = capture_end(&cap);
    line_counts c = check_lines(text);
    ck_assert_int_eq(c.debug, 0);
    ck_assert(c.saw_confwarn);
    ck_assert_int_eq(c.total, c.warn + c.error + c.info);
    free(text);
}
END_TEST

START_TEST(a_plain_conf_is_routed_by_the_call) {
    sr_log_set_level(SR_LOG_INFO);
    char errstr[256];
    /* Without the routing, librdkafka's own format: our parser rejects it. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "client.id", CLIENT_ID, errstr, sizeof errstr),
                     RD_KAFKA_CONF_OK);
    ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", "x", errstr, sizeof errstr),
                     RD_KAFKA_CONF_OK);
    captured cap;
    capture_start(&cap);
    rd_kafka_destroy(producer_from(conf));
    char *text = capture_end(&cap);
    ck_assert_ptr_nonnull(strstr(text, "CONFWARN"));
    log_fields f;
    ck_assert(!parse_log_line(strtok(text, "\n"), &f));
    free(text);

    /* With it, ours. */
    conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "client.id", CLIENT_ID, errstr, sizeof errstr),
                     RD_KAFKA_CONF_OK);
    ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", "x", errstr, sizeof errstr),
                     RD_KAFKA_CONF_OK);
    sr_kafka_conf_route_logs(conf);
    capture_start(&cap);
    rd_kafka_destroy(producer_from(conf));
    text = capture_end(&cap);
    line_counts c = check_lines(text);
    ck_assert(c.saw_confwarn);
    free(text);
}
END_TEST

START_TEST(the_parser_rejects_what_is_not_a_log_line) {
    log_fields f;
    ck_assert(parse_log_line(
        "{\"ts\":\"2026-11-30T09:00:00.123Z\",\"level\":\"info\",\"component\":\"librdkafka\","
        "\"msg\":\"[a] B: c \\\"d\\\" \\u0001\"}",
        &f));
    ck_assert_str_eq(f.msg, "[a] B: c \"d\" \x01");
    const char *bad[] = {
        "%4|1700000000.123|CONFWARN|kafka-log-test#producer-1| [thrd:app]: property",
        "{\"ts\":\"x\",\"level\":\"info\",\"component\":\"librdkafka\"}",
        "{\"ts\":\"x\",\"level\":\"info\",\"component\":\"librdkafka\",\"msg\":\"a\nb\"}",
        "{\"ts\":\"x\",\"level\":\"info\",\"component\":\"librdkafka\",\"msg\":\"a\\qb\"}",
        "{\"ts\":\"x\",\"level\":\"info\",\"component\":\"librdkafka\",\"msg\":\"ab\"} ",
        "{\"ts\":\"x\",\"level\":\"info\",\"component\":\"librdkafka\",\"msg\":\"ab}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!parse_log_line(bad[i], &f), "accepted: %s", bad[i]);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("kafka_log");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, librdkafka_lines_become_json_lines_at_their_levels);
    tcase_add_test(tc, debug_lines_follow_our_log_level);
    tcase_add_test(tc, a_plain_conf_is_routed_by_the_call);
    tcase_add_test(tc, the_parser_rejects_what_is_not_a_log_line);
    suite_add_tcase(s, tc);
    return s;
}
