/* test_config.c — a command's configuration: the option table, the file, the
 * environment and the flags in precedence, the kafka.* pass-through, the error
 * messages, --print-config and --help. */
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sr_config.h"
#include "test_suite.h"

static const char *const policies[] = {"keep", "recompute", NULL};

static const sr_option_def defs[] = {
    {.key = "score.after.events", .type = SR_OPT_INT, .default_value = "3", .min = 0,
     .max = 1000000, .help = "events a user needs before being scored"},
    {.key = "score.temperature", .type = SR_OPT_DOUBLE, .default_value = "0.5", .dmin = 0,
     .dmax = 10, .help = "softmax temperature"},
    {.key = "dry.run", .type = SR_OPT_BOOL, .default_value = "false", .help = "produce nothing"},
    {.key = "model.policy", .type = SR_OPT_ENUM, .default_value = "keep", .choices = policies,
     .help = "what to do with user state on a new model"},
    {.key = "output.topic", .type = SR_OPT_STRING, .default_value = "recs", .help = "topic"},
    {.key = "model.path", .type = SR_OPT_STRING, .help = "a model file instead of the topic"},
    {.key = "state.token", .type = SR_OPT_STRING, .secret = true, .help = "state store token"},
    {.key = "state.pin", .type = SR_OPT_INT, .default_value = "0", .min = 0, .max = 9999,
     .secret = true, .help = "state store pin"},
};
#define DEF_COUNT (sizeof defs / sizeof defs[0])

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

static sr_config *new_config(void) {
    sr_config *cfg = NULL;
    sr_error err;
    ck_assert_int_eq(sr_config_new(defs, DEF_COUNT, &cfg, &err), SR_OK);
    return cfg;
}

/* sr_config_parse_args on "worker" + args, with env as the environment. */
static sr_status parse(sr_config *cfg, const char *const *args, const char *const *env,
                       sr_config_action *action, sr_error *err) {
    char *argv[64], *envp[64];
    int argc = 0;
    size_t n = 0;
    argv[argc++] = strdup("worker");
    for (; *args; args++) argv[argc++] = strdup(*args);
    argv[argc] = NULL;
    for (; *env; env++) envp[n++] = strdup(*env);
    envp[n] = NULL;
    sr_config_action ignored;
    sr_status status = sr_config_parse_args(cfg, argc, argv, envp, action ? action : &ignored, err);
    for (int i = 0; i < argc; i++) free(argv[i]);
    for (size_t i = 0; i < n; i++) free(envp[i]);
    return status;
}

/* Parses and expects success. */
static sr_config *parsed(const char *const *args, const char *const *env) {
    sr_config *cfg = new_config();
    sr_error err = {0};
    sr_status status = parse(cfg, args, env, NULL, &err);
    ck_assert_msg(status == SR_OK, "%s", err.message);
    return cfg;
}

/* Parses and expects failure with status and a message containing each of the texts. */
static void parse_fails(const char *const *args, const char *const *env, sr_status status,
                        const char *const *texts) {
    sr_config *cfg = new_config();
    sr_error err = {0};
    ck_assert_int_eq(parse(cfg, args, env, NULL, &err), status);
    for (; *texts; texts++)
        ck_assert_msg(strstr(err.message, *texts), "'%s' not in '%s'", *texts, err.message);
    sr_config_free(cfg);
}

/* A properties file w.properties in a fresh directory. */
typedef struct temp_file {
    char dir[64], path[96];
} temp_file;

static void write_file(temp_file *t, const char *text) {
    snprintf(t->dir, sizeof t->dir, "/tmp/sr_config_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/w.properties", t->dir);
    FILE *f = fopen(t->path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void remove_file(temp_file *t) {
    unlink(t->path);
    rmdir(t->dir);
}

/* What sr_config_print writes (free it). */
static char *printed(const sr_config *cfg) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(out);
    sr_config_print(cfg, out);
    ck_assert_int_eq(fclose(out), 0);
    return text;
}

static bool ends_with(const char *text, const char *tail) {
    size_t n = strlen(text), m = strlen(tail);
    return n >= m && strcmp(text + n - m, tail) == 0;
}

/* A property of conf, or "(unset)". */
static const char *conf_get(rd_kafka_conf_t *conf, const char *name, char *buffer, size_t size) {
    if (rd_kafka_conf_get(conf, name, buffer, &size) != RD_KAFKA_CONF_OK) return "(unset)";
    return buffer;
}

/* ---- defaults and sources ------------------------------------------------- */

START_TEST(defaults_are_typed_and_marked_default) {
    sr_config_action action = SR_CONFIG_HELP;
    sr_config *cfg = new_config();
    sr_error err;
    ck_assert_int_eq(parse(cfg, NONE, NONE, &action, &err), SR_OK);
    ck_assert_int_eq(action, SR_CONFIG_RUN);
    ck_assert_int_eq(sr_config_int(cfg, "score.after.events"), 3);
    ck_assert_double_eq(sr_config_double(cfg, "score.temperature"), 0.5);
    ck_assert(!sr_config_bool(cfg, "dry.run"));
    ck_assert_int_eq(sr_config_enum(cfg, "model.policy"), 0);
    ck_assert_str_eq(sr_config_string(cfg, "model.policy"), "keep");
    ck_assert_str_eq(sr_config_string(cfg, "output.topic"), "recs");
    ck_assert_str_eq(sr_config_string(cfg, "score.after.events"), "3");
    ck_assert_ptr_null(sr_config_string(cfg, "model.path"));
    for (size_t i = 0; i < DEF_COUNT; i++)
        ck_assert_str_eq(sr_config_source(cfg, defs[i].key), "default");
    ck_assert_ptr_null(sr_config_string(cfg, "kafka.client.id"));
    ck_assert_ptr_null(sr_config_source(cfg, "kafka.client.id"));
    sr_config_free(cfg);
}
END_TEST

START_TEST(file_allows_comments_whitespace_and_colon) {
    temp_file t;
    write_file(&t, "\xEF\xBB\xBF# a comment after a UTF-8 byte order mark\n"
                   "! another comment\n"
                   "\n"
                   "score.after.events=7\n"
                   "   score.temperature =   1.25   \n"
                   "dry.run: yes\r\n"
                   "\tmodel.policy:RECOMPUTE\n"
                   "output.topic = a=b:c # not a comment\n"
                   "model.path = C:\\models\\\n"
                   "kafka.client.id : me\n");
    sr_config *cfg = parsed(LIST("--config", t.path), NONE);
    ck_assert_int_eq(sr_config_int(cfg, "score.after.events"), 7);
    ck_assert_double_eq(sr_config_double(cfg, "score.temperature"), 1.25);
    ck_assert(sr_config_bool(cfg, "dry.run"));
    ck_assert_int_eq(sr_config_enum(cfg, "model.policy"), 1);
    ck_assert_str_eq(sr_config_string(cfg, "model.policy"), "recompute");
    ck_assert_str_eq(sr_config_string(cfg, "output.topic"), "a=b:c # not a comment");
    ck_assert_str_eq(sr_config_string(cfg, "model.path"), "C:\\models\\");
    ck_assert_str_eq(sr_config_string(cfg, "kafka.client.id"), "me");
    ck_assert(ends_with(sr_config_source(cfg, "score.after.events"), "/w.properties:4"));
    ck_assert(ends_with(sr_config_source(cfg, "dry.run"), "/w.properties:6"));
    ck_assert(ends_with(sr_config_source(cfg, "kafka.client.id"), "/w.properties:10"));
    ck_assert_int_eq(strncmp(sr_config_source(cfg, "dry.run"), "file /tmp/", 10), 0);
    sr_config_free(cfg);
    remove_file(&t);
}
END_TEST

START_TEST(file_later_line_wins) {
    temp_file t;
    write_file(&t, "score.after.events=1\nscore.after.events=2\n");
    sr_config *cfg = parsed(LIST("--config", t.path), NONE);
    ck_assert_int_eq(sr_config_int(cfg, "score.after.events"), 2);
    ck_assert(ends_with(sr_config_source(cfg, "score.after.events"), "w.properties:2"));
    sr_config_free(cfg);
    remove_file(&t);
}
END_TEST

START_TEST(bad_file_line_names_file_and_line) {
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {"score.after.events=1\n# fine\nno separator here\n", "w.properties:3: expected"},
        {"score.after.events=1\n= 5\n", "w.properties:2: no key before '='"},
        {"\n\n\n  : 5\n", "w.properties:4: no key before ':'"},
        {"score.after.events=abc\n", "w.properties:1): not an integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        temp_file t;
        write_file(&t, cases[i].text);
        parse_fails(LIST("--config", t.path), NONE, SR_ERR_CONFIG, LIST(cases[i].expect));
        remove_file(&t);
    }
    parse_fails(LIST("--config", "/nonexistent/w.properties"), NONE, SR_ERR_IO,
                LIST("'/nonexistent/w.properties'"));
}
END_TEST

START_TEST(precedence_is_default_file_env_flag_whatever_the_argv_order) {
    temp_file t;
    write_file(&t, "score.after.events=5\n"
                   "score.temperature=1\n"
                   "dry.run=true\n"
                   "kafka.client.id=from-file\n"
                   "kafka.linger.ms=11\n");
    const char *const *env = LIST("STREAMREC_SCORE_AFTER_EVENTS=6", "STREAMREC_SCORE_TEMPERATURE=2",
                                  "STREAMREC_KAFKA_CLIENT_ID=from-env");
    /* The flags come before --config in argv and still win. */
    sr_config *cfg = parsed(LIST("--score-after-events", "7", "-X", "client.id=from-flag",
                                 "--config", t.path),
                            env);
    ck_assert_int_eq(sr_config_int(cfg, "score.after.events"), 7);
    ck_assert_str_eq(sr_config_source(cfg, "score.after.events"), "flag --score-after-events");
    ck_assert_double_eq(sr_config_double(cfg, "score.temperature"), 2);
    ck_assert_str_eq(sr_config_source(cfg, "score.temperature"), "env STREAMREC_SCORE_TEMPERATURE");
    ck_assert(sr_config_bool(cfg, "dry.run"));
    ck_assert(ends_with(sr_config_source(cfg, "dry.run"), "w.properties:3"));
    ck_assert_str_eq(sr_config_source(cfg, "model.policy"), "default");
    ck_assert_str_eq(sr_config_string(cfg, "kafka.client.id"), "from-flag");
    ck_assert_str_eq(sr_config_source(cfg, "kafka.client.id"), "flag -X");
    ck_assert_str_eq(sr_config_string(cfg, "kafka.linger.ms"), "11");
    sr_config_free(cfg);

    cfg = parsed(LIST("--config", t.path), env); /* no flags: the environment wins */
    ck_assert_int_eq(sr_config_int(cfg, "score.after.events"), 6);
    ck_assert_str_eq(sr_config_string(cfg, "kafka.client.id"), "from-env");
    ck_assert_str_eq(sr_config_source(cfg, "kafka.client.id"), "env STREAMREC_KAFKA_CLIENT_ID");
    sr_config_free(cfg);
    remove_file(&t);
}
END_TEST

START_TEST(flags_apply_in_argv_order) {
    sr_config *cfg = parsed(LIST("--set", "score.after.events=1", "--score-after-events", "2"), NONE);
    ck_assert_int_eq(sr_config_int(cfg, "score.after.events"), 2);
    sr_config_free(cfg);
    cfg = parsed(LIST("--score-after-events", "2", "--set", "score.after.events=1"), NONE);
    ck_assert_int_eq(sr_config_int(cfg, "score.after.events"), 1);
    ck_assert_str_eq(sr_config_source(cfg, "score.after.events"), "flag --set");
    sr_config_free(cfg);
}
END_TEST

START_TEST(environment_names_keys_and_kafka_properties) {
    sr_config *cfg = parsed(NONE, LIST("STREAMREC_SCORE_AFTER_EVENTS=9",
                                       "STREAMREC_DRY_RUN=on",
                                       "STREAMREC_MODEL_POLICY=recompute",
                                       "STREAMREC_KAFKA_SASL_PASSWORD=pw",
                                       "STREAMREC_KAFKA_CONSUMER_GROUP_ID=group-1",
                                       "STREAMREC_KAFKA_PRODUCER_LINGER_MS=3",
                                       "STREAMREC_SERVICE_HOST=10.0.0.1",
                                       "STREAMREC_UNRELATED_THING=x",
                                       "score.after.events=100",
                                       "STREAMREC_score_after_events=100"));
    ck_assert_int_eq(sr_config_int(cfg, "score.after.events"), 9);
    ck_assert_str_eq(sr_config_source(cfg, "score.after.events"), "env STREAMREC_SCORE_AFTER_EVENTS");
    ck_assert(sr_config_bool(cfg, "dry.run"));
    ck_assert_str_eq(sr_config_string(cfg, "model.policy"), "recompute");
    ck_assert_str_eq(sr_config_string(cfg, "kafka.sasl.password"), "pw");
    ck_assert_str_eq(sr_config_source(cfg, "kafka.sasl.password"), "env STREAMREC_KAFKA_SASL_PASSWORD");
    ck_assert_str_eq(sr_config_string(cfg, "kafka.consumer.group.id"), "group-1");
    ck_assert_str_eq(sr_config_string(cfg, "kafka.producer.linger.ms"), "3");
    sr_config_free(cfg);
}
END_TEST

START_TEST(environment_ignores_kubernetes_service_links) {
    sr_config *cfg = parsed(NONE, LIST("STREAMREC_KAFKA_SERVICE_HOST=10.0.0.2",
                                       "STREAMREC_KAFKA_SERVICE_PORT=9092",
                                       "STREAMREC_KAFKA_SERVICE_PORT_BROKER=9092",
                                       "STREAMREC_KAFKA_PORT=tcp://10.0.0.2:9092",
                                       "STREAMREC_KAFKA_PORT_9092_TCP=tcp://10.0.0.2:9092",
                                       "STREAMREC_KAFKA_PORT_9092_TCP_ADDR=10.0.0.2",
                                       "STREAMREC_KAFKA_PORT_9092_TCP_PORT=9092",
                                       "STREAMREC_KAFKA_PORT_9092_TCP_PROTO=tcp",
                                       "STREAMREC_KAFKA_HEADLESS_SERVICE_HOST=10.0.0.3",
                                       "STREAMREC_KAFKA_CLIENT_ID=kept"));
    ck_assert_str_eq(sr_config_string(cfg, "kafka.client.id"), "kept");
    ck_assert_ptr_null(sr_config_string(cfg, "kafka.service.host"));
    char *text = printed(cfg);
    ck_assert_ptr_null(strstr(text, "10.0.0.2"));
    free(text);
    sr_config_free(cfg);
    /* Something merely near the shape is still a (bad) kafka key. */
    parse_fails(NONE, LIST("STREAMREC_KAFKA_PORT_X_TCP=1"), SR_ERR_CONFIG,
                LIST("'kafka.port.x.tcp' (env STREAMREC_KAFKA_PORT_X_TCP)"));
}
END_TEST

START_TEST(environment_applies_general_kafka_keys_before_client_ones) {
    /* Whatever the order of envp, kafka.consumer.client.id comes after kafka.client.id. */
    const char *const *orders[] = {
        LIST("STREAMREC_KAFKA_CONSUMER_CLIENT_ID=specific", "STREAMREC_KAFKA_CLIENT_ID=general"),
        LIST("STREAMREC_KAFKA_CLIENT_ID=general", "STREAMREC_KAFKA_CONSUMER_CLIENT_ID=specific"),
    };
    for (size_t i = 0; i < 2; i++) {
        sr_config *cfg = parsed(NONE, orders[i]);
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        sr_error err;
        ck_assert_int_eq(sr_config_kafka_apply(cfg, conf, SR_CLIENT_CONSUMER, &err), SR_OK);
        char value[64];
        ck_assert_str_eq(conf_get(conf, "client.id", value, sizeof value), "specific");
        rd_kafka_conf_destroy(conf);
        sr_config_free(cfg);
    }
}
END_TEST

/* ---- errors --------------------------------------------------------------- */

START_TEST(unknown_key_is_named_with_its_source) {
    temp_file t;
    write_file(&t, "# header\nscor.after.events=1\n");
    parse_fails(LIST("--config", t.path), NONE, SR_ERR_CONFIG,
                LIST("unknown configuration key 'scor.after.events' (file ", "w.properties:2)"));
    remove_file(&t);
    parse_fails(LIST("--set", "scor.after.events=1"), NONE, SR_ERR_CONFIG,
                LIST("unknown configuration key 'scor.after.events' (flag --set)"));
    parse_fails(NONE, LIST("STREAMREC_KAFKA_NO_SUCH_THING=1"), SR_ERR_CONFIG,
                LIST("unknown configuration key 'kafka.no.such.thing' "
                     "(env STREAMREC_KAFKA_NO_SUCH_THING)"));
    parse_fails(LIST("-X", "no.such.thing=1"), NONE, SR_ERR_CONFIG,
                LIST("'kafka.no.such.thing' (flag -X)"));
    parse_fails(LIST("--scor-after-events", "1"), NONE, SR_ERR_CONFIG,
                LIST("unknown option '--scor-after-events'"));
}
END_TEST

START_TEST(unknown_names_get_a_suggestion_when_close) {
    sr_config *cfg = new_config();
    sr_error err;
    ck_assert_int_eq(sr_config_set(cfg, "scor.after.events", "1", "flag --set", &err), SR_ERR_CONFIG);
    ck_assert_str_eq(err.message, "unknown configuration key 'scor.after.events' (flag --set); "
                                  "did you mean 'score.after.events'?");
    ck_assert_int_eq(sr_config_set(cfg, "socre.after.events", "1", "x", &err), SR_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "did you mean 'score.after.events'?"));
    ck_assert_int_eq(sr_config_set(cfg, "Model.Policy", "keep", "x", &err), SR_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "did you mean 'model.policy'?"));
    ck_assert_int_eq(sr_config_set(cfg, "completely.different", "1", "x", &err), SR_ERR_CONFIG);
    ck_assert_ptr_null(strstr(err.message, "did you mean"));
    ck_assert_int_eq(sr_config_set(cfg, "kafka.linger.mss", "5", "x", &err), SR_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "'kafka.linger.mss' (x)"));
    ck_assert_ptr_nonnull(strstr(err.message, "did you mean 'kafka.linger.ms'?"));
    ck_assert_int_eq(sr_config_set(cfg, "kafka.consumer.group.idd", "g", "x", &err), SR_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "did you mean 'kafka.consumer.group.id'?"));
    ck_assert_int_eq(parse(cfg, LIST("--scor-after-events", "1"), NONE, NULL, &err), SR_ERR_CONFIG);
    ck_assert_str_eq(err.message,
                     "unknown option '--scor-after-events'; did you mean '--score-after-events'?");
    ck_assert_int_eq(parse(cfg, LIST("--zzz"), NONE, NULL, &err), SR_ERR_CONFIG);
    ck_assert_str_eq(err.message, "unknown option '--zzz'; see --help");
    sr_config_free(cfg);
    parse_fails(LIST("--print-confg"), NONE, SR_ERR_CONFIG, LIST("did you mean '--print-config'?"));
}
END_TEST

START_TEST(invalid_values_name_key_value_source_and_reason) {
    static const struct {
        const char *key, *value, *reason;
    } cases[] = {
        {"score.after.events", "abc", "not an integer"},
        {"score.after.events", "", "not an integer"},
        {"score.after.events", " 5", "not an integer"},
        {"score.after.events", "5x", "not an integer"},
        {"score.after.events", "0x10", "not an integer"},
        {"score.after.events", "1.5", "not an integer"},
        {"score.after.events", "99999999999999999999", "not an integer"},
        {"score.after.events", "1000001", "out of range 0..1000000"},
        {"score.after.events", "-1", "out of range 0..1000000"},
        {"score.temperature", "abc", "not a number"},
        {"score.temperature", "nan", "not a number"},
        {"score.temperature", "inf", "not a number"},
        {"score.temperature", "1e999", "not a number"},
        {"score.temperature", "10.5", "out of range 0..10"},
        {"dry.run", "maybe", "not a boolean"},
        {"dry.run", "", "not a boolean"},
        {"model.policy", "delete", "not one of: keep, recompute"},
    };
    sr_config *cfg = new_config();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sr_error err = {0};
        ck_assert_int_eq(sr_config_set(cfg, cases[i].key, cases[i].value, "flag --set", &err),
                         SR_ERR_CONFIG);
        char expect[256];
        snprintf(expect, sizeof expect, "configuration key '%s' = '%s' (flag --set): %s",
                 cases[i].key, cases[i].value, cases[i].reason);
        ck_assert_msg(strncmp(err.message, expect, strlen(expect)) == 0, "'%s' is not '%s'",
                      err.message, expect);
    }
    /* A failed set keeps the previous value. */
    ck_assert_int_eq(sr_config_int(cfg, "score.after.events"), 3);
    ck_assert_str_eq(sr_config_source(cfg, "score.after.events"), "default");
    sr_config_free(cfg);
    sr_error err;
    cfg = new_config();
    ck_assert_int_eq(parse(cfg, NONE, LIST("STREAMREC_SCORE_AFTER_EVENTS=abc"), NULL, &err),
                     SR_ERR_CONFIG);
    ck_assert_str_eq(err.message, "configuration key 'score.after.events' = 'abc' "
                                  "(env STREAMREC_SCORE_AFTER_EVENTS): not an integer");
    sr_config_free(cfg);
}
END_TEST

START_TEST(valid_spellings_are_accepted_and_canonical) {
    static const struct {
        const char *key, *value, *canonical;
    } cases[] = {
        {"score.after.events", "+5", "5"},   {"score.after.events", "-0", "0"},
        {"score.after.events", "1000000", "1000000"},
        {"score.temperature", ".5", "0.5"}, {"score.temperature", "1e-3", "0.001"},
        {"score.temperature", "0.1", "0.1"}, {"score.temperature", "10", "10"},
        {"dry.run", "TRUE", "true"},        {"dry.run", "Off", "false"},
        {"dry.run", "1", "true"},           {"dry.run", "no", "false"},
        {"model.policy", "Recompute", "recompute"},
        {"output.topic", "", ""},
    };
    sr_config *cfg = new_config();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sr_error err = {0};
        ck_assert_msg(sr_config_set(cfg, cases[i].key, cases[i].value, "test", &err) == SR_OK,
                      "%s", err.message);
        ck_assert_str_eq(sr_config_string(cfg, cases[i].key), cases[i].canonical);
    }
    ck_assert(!sr_config_bool(cfg, "dry.run"));
    ck_assert_int_eq(sr_config_enum(cfg, "model.policy"), 1);
    ck_assert_double_eq(sr_config_double(cfg, "score.temperature"), 10);
    sr_config_free(cfg);
}
END_TEST

START_TEST(secret_values_stay_out_of_messages) {
    sr_config *cfg = new_config();
    sr_error err;
    ck_assert_int_eq(sr_config_set(cfg, "state.pin", "12345", "flag --set", &err), SR_ERR_CONFIG);
    ck_assert_ptr_null(strstr(err.message, "12345"));
    ck_assert_ptr_nonnull(strstr(err.message, "'state.pin' = '" SR_CONFIG_MASK "'"));
    ck_assert_ptr_nonnull(strstr(err.message, "out of range 0..9999"));
    sr_config_free(cfg);
}
END_TEST

START_TEST(kafka_keys_are_checked_by_librdkafka) {
    parse_fails(LIST("--set", "kafka.linger.mss=5"), NONE, SR_ERR_CONFIG,
                LIST("'kafka.linger.mss' (flag --set)"));
    parse_fails(LIST("--set", "kafka.linger.ms=abc"), NONE, SR_ERR_CONFIG,
                LIST("configuration key 'kafka.linger.ms' = 'abc' (flag --set)"));
    parse_fails(LIST("-X", "auto.offset.reset=sideways"), NONE, SR_ERR_CONFIG,
                LIST("configuration key 'kafka.auto.offset.reset' = 'sideways' (flag -X)"));
    parse_fails(LIST("--set", "kafka.consumer.enable.auto.commit=perhaps"), NONE, SR_ERR_CONFIG,
                LIST("'kafka.consumer.enable.auto.commit'"));
    parse_fails(LIST("--set", "kafka.producer.=1"), NONE, SR_ERR_CONFIG,
                LIST("'kafka.producer.'", "no librdkafka property"));
    parse_fails(LIST("--set", "kafka=1"), NONE, SR_ERR_CONFIG, LIST("'kafka'"));
    temp_file t;
    write_file(&t, "kafka.client.id=ok\nkafka.linger.ms = abc\n");
    parse_fails(LIST("--config", t.path), NONE, SR_ERR_CONFIG,
                LIST("'kafka.linger.ms' = 'abc' (file ", "w.properties:2)"));
    remove_file(&t);
    sr_config *cfg = parsed(LIST("-X", "linger.ms=5", "-Xclient.id=x",
                                 "--set", "kafka.consumer.auto.offset.reset=earliest"),
                            NONE);
    ck_assert_str_eq(sr_config_string(cfg, "kafka.linger.ms"), "5");
    ck_assert_str_eq(sr_config_string(cfg, "kafka.client.id"), "x");
    ck_assert_str_eq(sr_config_string(cfg, "kafka.consumer.auto.offset.reset"), "earliest");
    sr_config_free(cfg);
}
END_TEST

START_TEST(client_prefixes_reach_only_their_clients) {
    sr_config *cfg = parsed(LIST("--set", "kafka.client.id=all",
                                 "--set", "kafka.consumer.group.id=g",
                                 "--set", "kafka.producer.linger.ms=7",
                                 "--set", "kafka.consumer.client.id=consumer-id"),
                            NONE);
    sr_error err;
    char value[64];
    rd_kafka_conf_t *consumer = rd_kafka_conf_new(), *producer = rd_kafka_conf_new(),
                    *other = rd_kafka_conf_new();
    ck_assert_int_eq(sr_config_kafka_apply(cfg, consumer, SR_CLIENT_CONSUMER, &err), SR_OK);
    ck_assert_int_eq(sr_config_kafka_apply(cfg, producer, SR_CLIENT_PRODUCER, &err), SR_OK);
    ck_assert_int_eq(sr_config_kafka_apply(cfg, other, SR_CLIENT_OTHER, &err), SR_OK);
    ck_assert_str_eq(conf_get(consumer, "client.id", value, sizeof value), "consumer-id");
    ck_assert_str_eq(conf_get(consumer, "group.id", value, sizeof value), "g");
    ck_assert_str_ne(conf_get(consumer, "linger.ms", value, sizeof value), "7");
    ck_assert_str_eq(conf_get(producer, "client.id", value, sizeof value), "all");
    ck_assert_str_eq(conf_get(producer, "linger.ms", value, sizeof value), "7");
    ck_assert_str_eq(conf_get(producer, "group.id", value, sizeof value), "(unset)");
    ck_assert_str_eq(conf_get(other, "client.id", value, sizeof value), "all");
    ck_assert_str_eq(conf_get(other, "group.id", value, sizeof value), "(unset)");
    ck_assert_str_ne(conf_get(other, "linger.ms", value, sizeof value), "7");
    rd_kafka_conf_destroy(consumer);
    rd_kafka_conf_destroy(producer);
    rd_kafka_conf_destroy(other);
    sr_config_free(cfg);
}
END_TEST

START_TEST(kafka_keys_apply_in_order_and_a_repeat_moves_last) {
    sr_error err;
    char value[64];
    /* A later general key beats an earlier client key... */
    sr_config *cfg = parsed(LIST("--set", "kafka.consumer.client.id=c1", "--set", "kafka.client.id=c2"),
                            NONE);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(sr_config_kafka_apply(cfg, conf, SR_CLIENT_CONSUMER, &err), SR_OK);
    ck_assert_str_eq(conf_get(conf, "client.id", value, sizeof value), "c2");
    rd_kafka_conf_destroy(conf);
    sr_config_free(cfg);
    /* ...and setting the general key again moves it after the client key. */
    cfg = parsed(LIST("--set", "kafka.client.id=a", "--set", "kafka.consumer.client.id=b",
                      "-X", "client.id=c"),
                 NONE);
    conf = rd_kafka_conf_new();
    ck_assert_int_eq(sr_config_kafka_apply(cfg, conf, SR_CLIENT_CONSUMER, &err), SR_OK);
    ck_assert_str_eq(conf_get(conf, "client.id", value, sizeof value), "c");
    rd_kafka_conf_destroy(conf);
    char *text = printed(cfg);
    ck_assert_ptr_null(strstr(text, "kafka.client.id=a"));
    ck_assert_ptr_nonnull(strstr(text, "kafka.consumer.client.id=b\n# flag -X\nkafka.client.id=c\n"));
    free(text);
    sr_config_free(cfg);
}
END_TEST

START_TEST(kafka_settings_list_the_keys_of_a_client) {
    sr_config *cfg = parsed(LIST("--set", "kafka.client.id=all", "--set", "kafka.consumer.group.id=g",
                                 "--set", "kafka.producer.linger.ms=7",
                                 "--set", "kafka.consumer.client.id=c=1"),
                            NONE);
    sr_error err;
    sr_kafka_settings consumer = {0}, producer = {0};
    ck_assert_int_eq(sr_config_kafka_settings(cfg, SR_CLIENT_CONSUMER, &consumer, &err), SR_OK);
    ck_assert_int_eq(consumer.count, 3);
    ck_assert_str_eq(consumer.keys[0], "client.id");
    ck_assert_str_eq(consumer.values[0], "all");
    ck_assert_str_eq(consumer.keys[1], "group.id");
    ck_assert_str_eq(consumer.keys[2], "client.id");
    ck_assert_str_eq(consumer.values[2], "c=1");
    ck_assert_int_eq(sr_config_kafka_settings(cfg, SR_CLIENT_PRODUCER, &producer, &err), SR_OK);
    ck_assert_int_eq(producer.count, 2);
    ck_assert_str_eq(producer.keys[1], "linger.ms");
    sr_kafka_settings_free(&consumer);
    sr_kafka_settings_free(&producer);
    /* Too many for the list: an error, and the list left empty. */
    sr_kafka_settings full = {0};
    for (int i = 0; i < SR_KAFKA_MAX_SETTINGS - 1; i++)
        ck_assert_int_eq(sr_kafka_settings_add(&full, "debug=", &err), SR_OK);
    ck_assert_int_eq(sr_config_kafka_settings(cfg, SR_CLIENT_CONSUMER, &full, &err), SR_ERR_CONFIG);
    ck_assert_int_eq(full.count, 0);
    sr_config_free(cfg);
}
END_TEST

/* ---- the command line ----------------------------------------------------- */

START_TEST(command_line_forms) {
    sr_config *cfg = parsed(LIST("--score-after-events=8", "--dry-run", "--model-policy",
                                 "recompute", "--set=output.topic=a=b"),
                            NONE);
    ck_assert_int_eq(sr_config_int(cfg, "score.after.events"), 8);
    ck_assert(sr_config_bool(cfg, "dry.run"));
    ck_assert_str_eq(sr_config_source(cfg, "dry.run"), "flag --dry-run");
    ck_assert_str_eq(sr_config_string(cfg, "model.policy"), "recompute");
    ck_assert_str_eq(sr_config_string(cfg, "output.topic"), "a=b");
    sr_config_free(cfg);
    cfg = parsed(LIST("--dry-run", "no", "--score-after-events", "+4"), NONE);
    ck_assert(!sr_config_bool(cfg, "dry.run"));
    ck_assert_int_eq(sr_config_int(cfg, "score.after.events"), 4);
    sr_config_free(cfg);
    cfg = parsed(LIST("--dry-run=off", "--output-topic", "-dash-"), NONE);
    ck_assert(!sr_config_bool(cfg, "dry.run"));
    ck_assert_str_eq(sr_config_string(cfg, "output.topic"), "-dash-");
    sr_config_free(cfg);
    cfg = parsed(LIST("--score-after-events", "2", "--dry-run"), NONE); /* a bool flag last */
    ck_assert(sr_config_bool(cfg, "dry.run"));
    sr_config_free(cfg);

    parse_fails(LIST("extra"), NONE, SR_ERR_CONFIG, LIST("unexpected argument 'extra'"));
    parse_fails(LIST("--", "extra"), NONE, SR_ERR_CONFIG, LIST("unexpected argument 'extra'"));
    parse_fails(LIST("--score-after-events"), NONE, SR_ERR_CONFIG,
                LIST("'--score-after-events' needs a value"));
    parse_fails(LIST("--config", "a", "--config", "b"), NONE, SR_ERR_CONFIG,
                LIST("--config given twice"));
    parse_fails(LIST("--set", "novalue"), NONE, SR_ERR_CONFIG, LIST("--set needs KEY=VALUE"));
    parse_fails(LIST("-X"), NONE, SR_ERR_CONFIG, LIST("'-X' needs PROP=VALUE"));
    parse_fails(LIST("-Z"), NONE, SR_ERR_CONFIG, LIST("unknown option '-Z'"));
    parse_fails(LIST("--score.after.events=1"), NONE, SR_ERR_CONFIG,
                LIST("unknown option '--score.after.events'"));
    parse_fails(LIST("--print-config=yes"), NONE, SR_ERR_CONFIG, LIST("takes no value"));
    parse_fails(LIST("--dry-run", "maybe"), NONE, SR_ERR_CONFIG,
                LIST("'dry.run' = 'maybe' (flag --dry-run): not a boolean"));
}
END_TEST

START_TEST(help_and_print_config_actions) {
    const struct {
        const char *const *args;
        sr_config_action action;
    } cases[] = {
        {LIST("--help"), SR_CONFIG_HELP},
        {LIST("-h"), SR_CONFIG_HELP},
        /* --help loads nothing: neither the missing file nor the bad value matter. */
        {LIST("--config", "/nonexistent", "--score-after-events", "abc", "--help"), SR_CONFIG_HELP},
        {LIST("--print-config"), SR_CONFIG_PRINT},
        {LIST("--print-config", "--score-after-events", "4"), SR_CONFIG_PRINT},
        {LIST("--score-after-events", "4"), SR_CONFIG_RUN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sr_config *cfg = new_config();
        sr_config_action action = (sr_config_action)-1;
        sr_error err = {0};
        ck_assert_msg(parse(cfg, cases[i].args, NONE, &action, &err) == SR_OK, "%s", err.message);
        ck_assert_int_eq(action, cases[i].action);
        sr_config_free(cfg);
    }
    /* --print-config still checks the configuration. */
    parse_fails(LIST("--print-config", "--score-after-events", "abc"), NONE, SR_ERR_CONFIG,
                LIST("not an integer"));
}
END_TEST

/* ---- print and help ------------------------------------------------------- */

START_TEST(print_masks_secrets) {
    sr_config *cfg = parsed(LIST("--set", "state.token=hunter2",
                                 "--set", "kafka.sasl.password=pw-secret-1",
                                 "--set", "kafka.ssl.key.pem=PEMDATA",
                                 "--set", "kafka.sasl.oauthbearer.config=principal=bob",
                                 "--set", "kafka.consumer.ssl.key.password=pw-secret-2",
                                 "--set", "kafka.client.id=visible"),
                            NONE);
    char *text = printed(cfg);
    ck_assert_ptr_null(strstr(text, "hunter2"));
    ck_assert_ptr_null(strstr(text, "pw-secret"));
    ck_assert_ptr_null(strstr(text, "PEMDATA"));
    ck_assert_ptr_null(strstr(text, "principal=bob"));
    ck_assert_ptr_nonnull(strstr(text, "\n# flag --set\nstate.token=********\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nkafka.sasl.password=********\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nkafka.consumer.ssl.key.password=********\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nkafka.client.id=visible\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nstate.pin=0\n")); /* a secret's default is no secret */
    free(text);
    sr_config_free(cfg);
    ck_assert(sr_config_kafka_key_is_secret("kafka.sasl.oauthbearer.client.secret"));
    ck_assert(sr_config_kafka_key_is_secret("kafka.ssl.ca.pem"));
    ck_assert(sr_config_kafka_key_is_secret("kafka.ssl_key"));
    ck_assert(!sr_config_kafka_key_is_secret("kafka.sasl.username"));
}
END_TEST

START_TEST(print_lists_every_key_in_table_order_with_sources) {
    sr_config *cfg = parsed(LIST("--score-temperature", "2"), LIST("STREAMREC_KAFKA_ACKS=all"));
    char *text = printed(cfg);
    const char *expect =
        "score.after.events=3\n"
        "# flag --score-temperature\n"
        "score.temperature=2\n"
        "dry.run=false\n"
        "model.policy=keep\n"
        "output.topic=recs\n"
        "#model.path=\n"
        "#state.token=\n"
        "state.pin=0\n"
        "# env STREAMREC_KAFKA_ACKS\n"
        "kafka.acks=all\n";
    ck_assert_msg(ends_with(text, expect), "got:\n%s", text);
    ck_assert_int_eq(text[0], '#'); /* the header is a comment */
    free(text);
    sr_config_free(cfg);
}
END_TEST

START_TEST(printed_configuration_reads_back_the_same) {
    temp_file in;
    write_file(&in, "score.temperature=0.1\nkafka.consumer.group.id=g1\n");
    sr_config *first = parsed(LIST("--config", in.path, "--score-after-events", "-0",
                                   "--dry-run", "YES", "--model-policy", "RECOMPUTE",
                                   "--output-topic", "a=b: #c\\", "--set", "kafka.linger.ms=9",
                                   "-X", "client.id=id:1=2"),
                              LIST("STREAMREC_KAFKA_PRODUCER_ACKS=1"));
    char *text = printed(first);
    temp_file out;
    write_file(&out, text);
    sr_config *second = new_config();
    sr_error err = {0};
    ck_assert_msg(sr_config_load_file(second, out.path, &err) == SR_OK, "%s", err.message);
    for (size_t i = 0; i < DEF_COUNT; i++) {
        const char *a = sr_config_string(first, defs[i].key), *b = sr_config_string(second, defs[i].key);
        ck_assert_msg(a == b || (a && b && strcmp(a, b) == 0), "%s: '%s' vs '%s'", defs[i].key,
                      a ? a : "(unset)", b ? b : "(unset)");
    }
    ck_assert_ptr_null(sr_config_string(second, "model.path"));
    ck_assert_str_eq(sr_config_string(second, "output.topic"), "a=b: #c\\");
    ck_assert_double_eq(sr_config_double(second, "score.temperature"), 0.1);
    static const char *const kafka_keys[] = {"kafka.consumer.group.id", "kafka.linger.ms",
                                             "kafka.client.id", "kafka.producer.acks"};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_ptr_nonnull(sr_config_string(first, kafka_keys[i]));
        ck_assert_str_eq(sr_config_string(second, kafka_keys[i]),
                         sr_config_string(first, kafka_keys[i]));
    }
    /* The second print differs only in its source comments. */
    char *again = printed(second);
    ck_assert_int_eq(strstr(again, "\nscore.after.events=0\n") != NULL, 1);
    ck_assert_ptr_nonnull(strstr(again, "\nkafka.client.id=id:1=2\n"));
    free(again);
    free(text);
    sr_config_free(first);
    sr_config_free(second);
    remove_file(&in);
    remove_file(&out);
}
END_TEST

START_TEST(print_comments_out_values_a_line_cannot_hold) {
    sr_config *cfg = parsed(LIST("--output-topic", "two\nlines", "--set", "model.path= padded "),
                            NONE);
    char *text = printed(cfg);
    ck_assert_ptr_null(strstr(text, "\nlines"));
    ck_assert_ptr_nonnull(strstr(text, "\n#output.topic=(not shown"));
    ck_assert_ptr_nonnull(strstr(text, "\n#model.path=(not shown"));
    temp_file t;
    write_file(&t, text);
    sr_config *back = new_config();
    sr_error err = {0};
    ck_assert_msg(sr_config_load_file(back, t.path, &err) == SR_OK, "%s", err.message);
    ck_assert_str_eq(sr_config_string(back, "output.topic"), "recs");
    remove_file(&t);
    sr_config_free(back);
    free(text);
    sr_config_free(cfg);
}
END_TEST

START_TEST(help_lists_flags_defaults_and_the_rules) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    sr_config_print_help(defs, DEF_COUNT, out);
    fclose(out);
    static const char *const expected[] = {
        "--score-after-events N",
        "events a user needs before being scored",
        "(default 3; 0..1000000)",
        "--score-temperature X",
        "(default 0.5; 0..10)",
        "--dry-run[=BOOL]",
        "--model-policy keep|recompute",
        "--output-topic TEXT",
        "state store token (secret)",
        "state store pin (default 0; 0..9999; secret)",
        "--config PATH",
        "--set KEY=VALUE",
        "-X PROP=VALUE",
        "--print-config",
        "-h, --help",
        "STREAMREC_SCORE_AFTER_EVENTS",
        "kafka.consumer.PROP",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        ck_assert_msg(strstr(text, expected[i]), "'%s' not in:\n%s", expected[i], text);
    for (const char *line = text; *line;) { /* wrapped to fit 80 columns */
        size_t n = strcspn(line, "\n");
        ck_assert_msg(n <= 79, "too long: %.*s", (int)n, line);
        line += n + (line[n] == '\n');
    }
    free(text);
}
END_TEST

/* ---- the table ------------------------------------------------------------ */

START_TEST(malformed_tables_are_rejected) {
    static const char *const empty_choices[] = {NULL};
    static const char *const twice[] = {"a", "A", NULL};
    static const struct {
        sr_option_def def;
        const char *why;
    } cases[] = {
        {{.key = "Score", .type = SR_OPT_STRING, .help = "h"}, "lowercase"},
        {{.key = "a..b", .type = SR_OPT_STRING, .help = "h"}, "lowercase"},
        {{.key = ".a", .type = SR_OPT_STRING, .help = "h"}, "lowercase"},
        {{.key = "a.", .type = SR_OPT_STRING, .help = "h"}, "lowercase"},
        {{.key = "a-b", .type = SR_OPT_STRING, .help = "h"}, "lowercase"},
        {{.key = "a_b", .type = SR_OPT_STRING, .help = "h"}, "lowercase"},
        {{.key = "", .type = SR_OPT_STRING, .help = "h"}, "lowercase"},
        {{.key = NULL, .type = SR_OPT_STRING, .help = "h"}, "lowercase"},
        {{.key = "kafka.linger.ms", .type = SR_OPT_STRING, .help = "h"}, "librdkafka"},
        {{.key = "kafka", .type = SR_OPT_STRING, .help = "h"}, "librdkafka"},
        {{.key = "config", .type = SR_OPT_STRING, .help = "h"}, "built-in"},
        {{.key = "print.config", .type = SR_OPT_BOOL, .default_value = "false", .help = "h"},
         "built-in"},
        {{.key = "help", .type = SR_OPT_STRING, .help = "h"}, "built-in"},
        {{.key = "set", .type = SR_OPT_STRING, .help = "h"}, "built-in"},
        {{.key = "output.topic", .type = SR_OPT_STRING, .help = "h"}, "defined twice"},
        {{.key = "x", .type = SR_OPT_STRING}, "no help"},
        {{.key = "x", .type = SR_OPT_INT, .max = 5, .help = "h"}, "no default"},
        {{.key = "x", .type = SR_OPT_INT, .default_value = "abc", .max = 5, .help = "h"},
         "not an integer"},
        {{.key = "x", .type = SR_OPT_INT, .default_value = "6", .max = 5, .help = "h"},
         "out of range"},
        {{.key = "x", .type = SR_OPT_INT, .default_value = "6", .min = 7, .max = 5, .help = "h"},
         "min > max"},
        {{.key = "x", .type = SR_OPT_DOUBLE, .default_value = "2", .dmax = 1, .help = "h"},
         "out of range"},
        {{.key = "x", .type = SR_OPT_DOUBLE, .default_value = "0", .dmin = 1, .help = "h"},
         "dmin > dmax"},
        {{.key = "x", .type = SR_OPT_BOOL, .default_value = "maybe", .help = "h"}, "not a boolean"},
        {{.key = "x", .type = SR_OPT_ENUM, .default_value = "a", .help = "h"}, "choices"},
        {{.key = "x", .type = SR_OPT_ENUM, .default_value = "a", .choices = empty_choices,
          .help = "h"}, "choices"},
        {{.key = "x", .type = SR_OPT_ENUM, .default_value = "a", .choices = twice, .help = "h"},
         "duplicate"},
        {{.key = "x", .type = SR_OPT_ENUM, .default_value = "c", .choices = policies, .help = "h"},
         "not one of"},
        {{.key = "x", .type = (sr_option_type)42, .default_value = "1", .help = "h"}, "type"},
    };
    sr_option_def table[2] = {{.key = "output.topic", .type = SR_OPT_STRING, .help = "h"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        table[1] = cases[i].def;
        sr_config *cfg = NULL;
        sr_error err = {0};
        ck_assert_int_eq(sr_config_new(table, 2, &cfg, &err), SR_ERR_INVALID_ARG);
        ck_assert_ptr_null(cfg);
        ck_assert_msg(strstr(err.message, "entry 1") && strstr(err.message, cases[i].why),
                      "case %zu: '%s'", i, err.message);
    }
    /* The same frame accepts a good entry, and the test table. */
    table[1] = (sr_option_def){.key = "x9.y", .type = SR_OPT_INT, .default_value = "-5",
                               .min = -5, .max = -5, .help = "h"};
    sr_config *cfg = NULL;
    sr_error err;
    ck_assert_int_eq(sr_config_new(table, 2, &cfg, &err), SR_OK);
    ck_assert_int_eq(sr_config_int(cfg, "x9.y"), -5);
    sr_config_free(cfg);
    ck_assert_int_eq(sr_config_new(NULL, 0, &cfg, &err), SR_OK);
    sr_config_free(cfg);
}
END_TEST

START_TEST(getter_on_an_undefined_key_aborts) {
    sr_config *cfg = new_config();
    sr_config_int(cfg, "no.such.key");
}
END_TEST

START_TEST(typed_getter_on_another_type_aborts) {
    sr_config *cfg = new_config();
    sr_config_int(cfg, "score.temperature");
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("config");
    TCase *sources = tcase_create("sources");
    tcase_add_test(sources, defaults_are_typed_and_marked_default);
    tcase_add_test(sources, file_allows_comments_whitespace_and_colon);
    tcase_add_test(sources, file_later_line_wins);
    tcase_add_test(sources, bad_file_line_names_file_and_line);
    tcase_add_test(sources, precedence_is_default_file_env_flag_whatever_the_argv_order);
    tcase_add_test(sources, flags_apply_in_argv_order);
    tcase_add_test(sources, environment_names_keys_and_kafka_properties);
    tcase_add_test(sources, environment_ignores_kubernetes_service_links);
    tcase_add_test(sources, environment_applies_general_kafka_keys_before_client_ones);
    tcase_add_test(sources, command_line_forms);
    tcase_add_test(sources, help_and_print_config_actions);
    suite_add_tcase(s, sources);

    TCase *errors = tcase_create("errors");
    tcase_add_test(errors, unknown_key_is_named_with_its_source);
    tcase_add_test(errors, unknown_names_get_a_suggestion_when_close);
    tcase_add_test(errors, invalid_values_name_key_value_source_and_reason);
    tcase_add_test(errors, valid_spellings_are_accepted_and_canonical);
    tcase_add_test(errors, secret_values_stay_out_of_messages);
    tcase_add_test(errors, malformed_tables_are_rejected);
    suite_add_tcase(s, errors);

    TCase *bugs = tcase_create("programming_errors"); /* abort: needs Check's fork mode */
    tcase_add_test_raise_signal(bugs, getter_on_an_undefined_key_aborts, SIGABRT);
    tcase_add_test_raise_signal(bugs, typed_getter_on_another_type_aborts, SIGABRT);
    suite_add_tcase(s, bugs);

    TCase *kafka = tcase_create("kafka");
    tcase_add_test(kafka, kafka_keys_are_checked_by_librdkafka);
    tcase_add_test(kafka, client_prefixes_reach_only_their_clients);
    tcase_add_test(kafka, kafka_keys_apply_in_order_and_a_repeat_moves_last);
    tcase_add_test(kafka, kafka_settings_list_the_keys_of_a_client);
    suite_add_tcase(s, kafka);

    TCase *print = tcase_create("print");
    tcase_add_test(print, print_masks_secrets);
    tcase_add_test(print, print_lists_every_key_in_table_order_with_sources);
    tcase_add_test(print, printed_configuration_reads_back_the_same);
    tcase_add_test(print, print_comments_out_values_a_line_cannot_hold);
    tcase_add_test(print, help_lists_flags_defaults_and_the_rules);
    suite_add_tcase(s, print);
    return s;
}
