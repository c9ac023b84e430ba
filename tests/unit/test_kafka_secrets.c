/* test_kafka_secrets.c — secrets read from files (PROP.file=PATH, sr_kafka.h):
 * through -X settings and the worker's configuration (kafka.PROP.file, its
 * environment variable), a trailing newline trimmed, errors naming the key
 * and the file, and neither the secret nor its file in --print-config, in
 * error messages or in librdkafka's own logs (debug included). */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sr_config.h"
#include "sr_kafka.h"
#include "sr_log.h"
#include "test_suite.h"

#define SECRET "s3cr3t-Pa55"

typedef struct secret_file {
    char dir[64], path[96];
} secret_file;

static void write_secret(secret_file *f, const char *content) {
    snprintf(f->dir, sizeof f->dir, "/tmp/sr_secret_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/password", f->dir);
    FILE *out = fopen(f->path, "wb");
    ck_assert_ptr_nonnull(out);
    fputs(content, out);
    fclose(out);
}

static void remove_secret(secret_file *f) {
    unlink(f->path);
    rmdir(f->dir);
}

START_TEST(a_file_property_names_its_base) {
    size_t n = 0;
    ck_assert(sr_kafka_is_file_property("sasl.password.file", &n));
    ck_assert_uint_eq(n, strlen("sasl.password"));
    ck_assert(!sr_kafka_is_file_property("sasl.password", NULL));
    ck_assert(!sr_kafka_is_file_property(".file", NULL));
    ck_assert(!sr_kafka_is_file_property("ssl.ca.location", NULL));
}
END_TEST

START_TEST(one_trailing_newline_is_trimmed) {
    static const char *const contents[] = {SECRET, SECRET "\n", SECRET "\r\n"};
    for (size_t i = 0; i < 3; i++) {
        secret_file f;
        write_secret(&f, contents[i]);
        char *value = NULL;
        sr_error err;
        ck_assert_int_eq(sr_kafka_read_secret_file("sasl.password.file", f.path, &value, &err), SR_OK);
        ck_assert_str_eq(value, SECRET);
        free(value);
        remove_secret(&f);
    }
}
END_TEST

START_TEST(an_unreadable_or_empty_file_names_key_and_file) {
    char *value = NULL;
    sr_error err;
    ck_assert_int_eq(sr_kafka_read_secret_file("sasl.password.file", "/nonexistent/pw", &value, &err),
                     SR_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "sasl.password.file"));
    ck_assert_ptr_nonnull(strstr(err.message, "'/nonexistent/pw'"));
    secret_file f;
    write_secret(&f, "\n");
    ck_assert_int_eq(sr_kafka_read_secret_file("sasl.password.file", f.path, &value, &err), SR_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "is empty"));
    remove_secret(&f);
}
END_TEST

START_TEST(x_settings_read_the_file) {
    secret_file f;
    write_secret(&f, SECRET "\n");
    char assignment[160];
    snprintf(assignment, sizeof assignment, "sasl.password.file=%s", f.path);
    sr_kafka_settings settings = {0};
    sr_error err;
    ck_assert_int_eq(sr_kafka_settings_add(&settings, assignment, &err), SR_OK);
    ck_assert_str_eq(settings.keys[0], "sasl.password");
    ck_assert_str_eq(settings.values[0], SECRET);
    ck_assert_int_eq(sr_kafka_settings_add(&settings, "sasl.password.file=/nonexistent/pw", &err),
                     SR_ERR_IO);
    ck_assert_int_eq(settings.count, 1);
    sr_kafka_settings_free(&settings);
    remove_secret(&f);
}
END_TEST

static const sr_option_def defs[] = {
    {"log.level", SR_OPT_STRING, "info", .help = "log level"},
};

static char *printed(const sr_config *cfg) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(out);
    sr_config_print(cfg, out);
    ck_assert_int_eq(fclose(out), 0);
    return text;
}

START_TEST(config_reads_the_file_and_prints_it_masked) {
    secret_file f;
    write_secret(&f, SECRET "\n");
    char variable[160];
    snprintf(variable, sizeof variable, "STREAMREC_KAFKA_SASL_PASSWORD_FILE=%s", f.path);
    char *envp[] = {variable, NULL};
    sr_config *cfg;
    sr_error err;
    ck_assert_int_eq(sr_config_new(defs, 1, &cfg, &err), SR_OK);
    ck_assert_int_eq(sr_config_load_env(cfg, envp, &err), SR_OK);
    ck_assert_str_eq(sr_config_string(cfg, "kafka.sasl.password"), SECRET);
    ck_assert_ptr_null(sr_config_string(cfg, "kafka.sasl.password.file"));
    ck_assert_ptr_nonnull(strstr(sr_config_source(cfg, "kafka.sasl.password"), f.path));

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(sr_config_kafka_apply(cfg, conf, SR_CLIENT_CONSUMER, &err), SR_OK);
    char value[64];
    size_t size = sizeof value;
    ck_assert_int_eq(rd_kafka_conf_get(conf, "sasl.password", value, &size), RD_KAFKA_CONF_OK);
    ck_assert_str_eq(value, SECRET);
    rd_kafka_conf_destroy(conf);

    char *text = printed(cfg);
    ck_assert_ptr_nonnull(strstr(text, "kafka.sasl.password=" SR_CONFIG_MASK));
    ck_assert_ptr_null(strstr(text, SECRET));
    free(text);
    sr_config_free(cfg);
    remove_secret(&f);
}
END_TEST

START_TEST(config_error_names_key_and_file) {
    sr_config *cfg;
    sr_error err;
    ck_assert_int_eq(sr_config_new(defs, 1, &cfg, &err), SR_OK);
    ck_assert_int_eq(sr_config_set(cfg, "kafka.sasl.password.file", "/nonexistent/pw", "flag --set", &err),
                     SR_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "kafka.sasl.password.file"));
    ck_assert_ptr_nonnull(strstr(err.message, "'/nonexistent/pw'"));
    ck_assert_ptr_nonnull(strstr(err.message, "flag --set"));
    ck_assert_ptr_null(sr_config_string(cfg, "kafka.sasl.password"));
    sr_config_free(cfg);
}
END_TEST

/* librdkafka's debug logs (every context) of a client that tries to log in
 * with a password from a file: the password is never among them. */
START_TEST(debug_logs_never_show_the_password) {
    secret_file f;
    write_secret(&f, SECRET "\n");
    char log_path[] = "/tmp/sr_secret_log_XXXXXX";
    int fd = mkstemp(log_path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    sr_log_set_level(SR_LOG_DEBUG);

    char assignment[160];
    snprintf(assignment, sizeof assignment, "sasl.password.file=%s", f.path);
    sr_kafka_settings settings = {0};
    sr_error err;
    static const char *const others[] = {"debug=all", "security.protocol=SASL_PLAINTEXT",
                                         "sasl.mechanisms=PLAIN", "sasl.username=alice", NULL};
    for (size_t i = 0; others[i]; i++) ck_assert_int_eq(sr_kafka_settings_add(&settings, others[i], &err), SR_OK);
    ck_assert_int_eq(sr_kafka_settings_add(&settings, assignment, &err), SR_OK);
    rd_kafka_conf_t *conf;
    ck_assert_int_eq(sr_kafka_conf_new(&settings, "127.0.0.1:1", &conf, &err), SR_OK);
    char errstr[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    ck_assert_msg(rk != NULL, "%s", errstr);
    rd_kafka_poll(rk, 300); /* a connection attempt and its errors */
    rd_kafka_destroy(rk);
    sr_kafka_settings_free(&settings);

    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    FILE *in = fopen(log_path, "rb");
    ck_assert_ptr_nonnull(in);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[n] = '\0';
    unlink(log_path);
    ck_assert_msg(strstr(text, "sasl.password") != NULL, "debug=all logged no configuration");
    ck_assert_ptr_null(strstr(text, SECRET));
    remove_secret(&f);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("kafka_secrets");
    TCase *t = tcase_create("secret files");
    tcase_add_test(t, a_file_property_names_its_base);
    tcase_add_test(t, one_trailing_newline_is_trimmed);
    tcase_add_test(t, an_unreadable_or_empty_file_names_key_and_file);
    tcase_add_test(t, x_settings_read_the_file);
    tcase_add_test(t, config_reads_the_file_and_prints_it_masked);
    tcase_add_test(t, config_error_names_key_and_file);
    tcase_add_test(t, debug_logs_never_show_the_password);
    suite_add_tcase(s, t);
    return s;
}
