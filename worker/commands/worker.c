/*
 * worker.c — `streamrec worker`: the configuration (sr_config.h) turned into
 * sr_worker_options, signals, the exit status.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "sr_commands.h"
#include "sr_config.h"
#include "sr_kafka.h"
#include "sr_log.h"
#include "sr_topics.h"
#include "sr_worker.h"

extern char **environ;

static const char *const wire_formats[] = {"registry", "plain", NULL};
static const char *const swap_policies[] = {"recompute", "keep", NULL};
/* In sr_step_precision order. */
static const char *const step_precisions[] = {"fp32", "bf16x3", NULL};
static const char *const guarantees[] = {"at_least_once", "exactly_once", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

#define DAY_MS (24LL * 3600 * 1000)

static const sr_option_def worker_options[] = {
    {"bootstrap", SR_OPT_STRING, NULL,
     .help = "Kafka bootstrap servers (default: $STREAMREC_BOOTSTRAP, else 127.0.0.1:9092)"},
    {"group.id", SR_OPT_STRING, "streamrec-worker", .help = "consumer group of the workers"},
    {"group.instance.id", SR_OPT_STRING, NULL,
     .help = "static group membership id, e.g. the pod name (unset: dynamic membership)"},
    {"client.id", SR_OPT_STRING, "streamrec-worker", .help = "Kafka client id of this worker"},
    {"topic.events", SR_OPT_STRING, SR_TOPIC_EVENTS, .help = "the event topic"},
    {"topic.recommendations", SR_OPT_STRING, SR_TOPIC_RECOMMENDATIONS, .help = "the output topic"},
    {"topic.dlq", SR_OPT_STRING, SR_TOPIC_DLQ, .help = "the dead-letter topic"},
    {"topic.models", SR_OPT_STRING, SR_TOPIC_MODELS, .help = "the model topic"},
    {"topic.changelog", SR_OPT_STRING, SR_TOPIC_CHANGELOG,
     .help = "the compacted user-state topic, co-partitioned with the events (exactly_once)"},
    {"processing.guarantee", SR_OPT_ENUM, "exactly_once", .choices = guarantees,
     .help = "exactly_once: outputs, user states and offsets in one transaction per commit "
             "interval; at_least_once: flush, then commit"},
    {"transactional.id", SR_OPT_STRING, NULL,
     .help = "exactly_once: this instance's transactional id (unset: group.id-group.instance.id, "
             "or group.id-host-pid)"},
    {"input.wire", SR_OPT_ENUM, "registry", .choices = wire_formats,
     .help = "event framing: registry (0x00 + schema id + Avro) or plain Avro"},
    {"input.schema.map", SR_OPT_STRING, NULL,
     .help = "file listing more writer schemas, one '<id> <path>' per line"},
    {"input.require.key.match", SR_OPT_BOOL, "true",
     .help = "dead-letter records whose key is not their decimal user id"},
    {"poll.batch", SR_OPT_INT, "4096", .min = 1, .max = 65536, .help = "records per consume call"},
    {"commit.interval.ms", SR_OPT_INT, "100", .min = 1, .max = 3600000,
     .help = "commit the transaction (exactly_once), or flush outputs and commit offsets "
             "(at_least_once: 1000 unless set), this often"},
    {"state.max.users", SR_OPT_INT, "1000000", .min = 1, .max = 1073741824,
     .help = "users held; beyond, the least recently active are evicted"},
    {"state.idle.expiry.ms", SR_OPT_INT, "604800000", .min = 0, .max = 3650 * DAY_MS,
     .help = "forget users idle this long in event time (0: never)"},
    {"step.batch", SR_OPT_INT, "256", .min = 1, .max = 65536,
     .help = "users stepped and scored per batch"},
    {"step.table.max.mb", SR_OPT_INT, "256", .min = 0, .max = 1048576,
     .help = "memory for the model's per-item input table, which saves a GEMM per step "
             "(a larger catalogue steps without it; 0: never)"},
    {"step.precision", SR_OPT_ENUM, "bf16x3", .choices = step_precisions,
     .help = "the recurrent products: bf16x3 (on AMX, split bfloat16: relative error "
             "~1e-5; fp32 on CPUs without AMX) or fp32 (as training computes them)"},
    {"score.enabled", SR_OPT_BOOL, "true",
     .help = "publish recommendations (false: only step user states)"},
    {"score.after.events", SR_OPT_INT, "1", .min = 0, .max = 1000000,
     .help = "score a user after this many new events (0: off)"},
    {"score.max.delay.ms", SR_OPT_INT, "0", .min = 0, .max = DAY_MS,
     .help = "score a user at most this long after its first unscored event (0: off)"},
    {"score.min.interval.ms", SR_OPT_INT, "1000", .min = 0, .max = DAY_MS,
     .help = "never score a user more often than this"},
    {"score.topn", SR_OPT_INT, "20", .min = 1, .max = 10000, .help = "items per recommendation"},
    {"score.exclude.recent", SR_OPT_BOOL, "true",
     .help = "leave the user's recent items (the model's window) out of its list"},
    {"score.min.history", SR_OPT_INT, "1", .min = 1, .max = 65535,
     .help = "known recent events a user needs for the model; fewer: popularity"},
    {"model.file", SR_OPT_STRING, NULL,
     .help = "a model file to serve until the model topic has a newer version"},
    {"model.wait", SR_OPT_BOOL, "false",
     .help = "with no model at start, wait for one (false: serve the popularity ranking)"},
    {"model.swap.state", SR_OPT_ENUM, "recompute", .choices = swap_policies,
     .help = "on a new model, recompute hidden states from the recent items, or keep them"},
    {"model.catch.up.timeout.ms", SR_OPT_INT, "60000", .min = 1, .max = 3600000,
     .help = "how long the first read of the model topic may take"},
    {"popularity.half.life.ms", SR_OPT_INT, "3600000", .min = 1, .max = 366 * DAY_MS,
     .help = "half-life of the popularity ranking's counts (event time)"},
    {"popularity.max.items", SR_OPT_INT, "1000000", .min = 1, .max = 1073741824,
     .help = "items the popularity ranking holds"},
    {"http.bind", SR_OPT_STRING, NULL,
     .help = "address of the /healthz, /readyz and /metrics endpoint (unset: all)"},
    {"http.port", SR_OPT_INT, "8080", .min = -1, .max = 65535,
     .help = "port of that endpoint (0: any free port, -1: no endpoint)"},
    {"shutdown.timeout.ms", SR_OPT_INT, "8000", .min = 100, .max = 600000,
     .help = "time allowed for the final flush and commit"},
    {"log.level", SR_OPT_ENUM, "info", .choices = log_levels, .help = "least severe log level shown"},
};
#define WORKER_OPTION_COUNT (sizeof worker_options / sizeof worker_options[0])

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

#define WORKER_USAGE "usage: streamrec worker [--config FILE] [--KEY VALUE]... [-X PROP=VALUE]...\n"

static void usage(FILE *out) {
    fprintf(out,
            WORKER_USAGE
            "\n"
            "Consumes user events from Kafka, steps each user's recurrent state, publishes\n"
            "top-N recommendations, sends bad records to the dead-letter topic and hot-swaps\n"
            "the models the trainer publishes. Runs until SIGTERM or SIGINT; exits 0 after a\n"
            "clean stop, 1 on a runtime failure, 2 on a configuration error.\n"
            "\n");
    sr_config_print_help(worker_options, WORKER_OPTION_COUNT, out);
}

static sr_status apply_settings(void *context, rd_kafka_conf_t *conf, sr_worker_client client,
                                sr_error *err) {
    return sr_config_kafka_apply(context, conf,
                                 client == SR_WORKER_CONSUMER ? SR_CLIENT_CONSUMER : SR_CLIENT_PRODUCER,
                                 err);
}

static void options_from(const sr_config *cfg, sr_worker_options *o) {
    sr_worker_options_init(o);
    const char *bootstrap = sr_config_string(cfg, "bootstrap");
    o->bootstrap = bootstrap ? bootstrap : sr_kafka_default_bootstrap();
    o->group_id = sr_config_string(cfg, "group.id");
    o->group_instance_id = sr_config_string(cfg, "group.instance.id");
    o->client_id = sr_config_string(cfg, "client.id");
    o->events_topic = sr_config_string(cfg, "topic.events");
    o->recommendations_topic = sr_config_string(cfg, "topic.recommendations");
    o->dead_letter_topic = sr_config_string(cfg, "topic.dlq");
    o->models_topic = sr_config_string(cfg, "topic.models");
    o->changelog_topic = sr_config_string(cfg, "topic.changelog");
    o->exactly_once = sr_config_enum(cfg, "processing.guarantee") == 1;
    o->transactional_id = sr_config_string(cfg, "transactional.id");
    o->wire = sr_config_enum(cfg, "input.wire") == 0 ? SR_WIRE_REGISTRY : SR_WIRE_PLAIN;
    o->schema_map = sr_config_string(cfg, "input.schema.map");
    o->require_key_match = sr_config_bool(cfg, "input.require.key.match");
    o->poll_batch = (uint32_t)sr_config_int(cfg, "poll.batch");
    o->commit_interval_ms = sr_config_int(cfg, "commit.interval.ms");
    o->model_file = sr_config_string(cfg, "model.file");
    o->wait_for_model = sr_config_bool(cfg, "model.wait");
    o->model_catch_up_timeout_ms = (int)sr_config_int(cfg, "model.catch.up.timeout.ms");
    o->http_bind = sr_config_string(cfg, "http.bind");
    o->http_port = (int)sr_config_int(cfg, "http.port");
    o->shutdown_timeout_ms = (int)sr_config_int(cfg, "shutdown.timeout.ms");
    sr_serving_config *s = &o->serving;
    s->max_users = (uint32_t)sr_config_int(cfg, "state.max.users");
    s->idle_expiry_ms = sr_config_int(cfg, "state.idle.expiry.ms");
    s->batch = (uint32_t)sr_config_int(cfg, "step.batch");
    s->step_table_max_bytes = (size_t)sr_config_int(cfg, "step.table.max.mb") << 20;
    s->step_precision = (sr_step_precision)sr_config_enum(cfg, "step.precision");
    s->scoring = sr_config_bool(cfg, "score.enabled");
    s->score_after_events = (uint32_t)sr_config_int(cfg, "score.after.events");
    s->score_max_delay_ms = sr_config_int(cfg, "score.max.delay.ms");
    s->score_min_interval_ms = sr_config_int(cfg, "score.min.interval.ms");
    s->topn = (uint32_t)sr_config_int(cfg, "score.topn");
    s->exclude_recent = sr_config_bool(cfg, "score.exclude.recent");
    s->min_history = (uint32_t)sr_config_int(cfg, "score.min.history");
    s->swap_policy = sr_config_enum(cfg, "model.swap.state") == 0 ? SR_SWAP_RECOMPUTE : SR_SWAP_KEEP;
    s->popularity.half_life_ms = sr_config_int(cfg, "popularity.half.life.ms");
    s->popularity.max_items = (uint32_t)sr_config_int(cfg, "popularity.max.items");
    o->settings = apply_settings;
    o->settings_context = (void *)(uintptr_t)cfg;
    o->stop = &stop_requested;
}

int sr_cmd_worker(int argc, char **argv) {
    sr_config *cfg = NULL;
    sr_error err;
    sr_config_action action;
    if (sr_config_new(worker_options, WORKER_OPTION_COUNT, &cfg, &err) != SR_OK) {
        fprintf(stderr, "streamrec worker: %s\n", err.message);
        return SR_EXIT_FAILURE;
    }
    if (sr_config_parse_args(cfg, argc, argv, environ, &action, &err) != SR_OK) {
        fprintf(stderr, "streamrec worker: %s\n" WORKER_USAGE "(streamrec worker --help lists every key)\n",
                err.message);
        sr_config_free(cfg);
        return SR_EXIT_USAGE;
    }
    /* At-least-once flushes and waits for every delivery at each commit: a
     * commit every 100 ms (exactly-once's default, which bounds the outputs'
     * latency under read_committed) would cost it throughput for nothing. */
    if (sr_config_enum(cfg, "processing.guarantee") == 0 &&
        !strcmp(sr_config_source(cfg, "commit.interval.ms"), "default") &&
        sr_config_set(cfg, "commit.interval.ms", "1000", "default for at_least_once", &err) != SR_OK) {
        fprintf(stderr, "streamrec worker: %s\n", err.message);
        sr_config_free(cfg);
        return SR_EXIT_FAILURE;
    }
    if (action != SR_CONFIG_RUN) {
        if (action == SR_CONFIG_HELP) usage(stdout);
        else sr_config_print(cfg, stdout);
        sr_config_free(cfg);
        return SR_EXIT_OK;
    }
    sr_log_set_level((sr_log_level)sr_log_level_parse(sr_config_string(cfg, "log.level")));
    sr_worker_options options;
    options_from(cfg, &options);
    sr_kafka_settings consumer_settings = {0};
    if (sr_config_kafka_settings(cfg, SR_CLIENT_CONSUMER, &consumer_settings, &err) != SR_OK) {
        fprintf(stderr, "streamrec worker: %s\n", err.message);
        sr_config_free(cfg);
        return SR_EXIT_USAGE;
    }
    options.consumer_settings = &consumer_settings;

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    sr_worker_summary summary;
    sr_status status = sr_worker_run(&options, &summary, &err);
    int code = SR_EXIT_OK;
    if (status != SR_OK) {
        sr_log(SR_LOG_ERROR, "worker", "%s", err.message);
        code = status == SR_ERR_CONFIG ? SR_EXIT_USAGE : SR_EXIT_FAILURE;
    }
    sr_log(SR_LOG_INFO, "worker",
           "stopped after %.1f s: %llu records, %llu events, %llu dead letters, %llu "
           "recommendations, %llu commits, %llu model swaps, serving model %lld",
           summary.seconds, (unsigned long long)summary.records, (unsigned long long)summary.events,
           (unsigned long long)summary.dead_letters, (unsigned long long)summary.recommendations,
           (unsigned long long)summary.commits, (unsigned long long)summary.swaps,
           (long long)summary.model_version);
    sr_kafka_settings_free(&consumer_settings);
    sr_config_free(cfg);
    return code;
}
