/*
 * replay.c — `streamrec replay`: produces a dataset file or a synthetic stream
 * into the event topic, keyed by user id, in live-stream order (sr_replay.h),
 * through an idempotent producer (replay/producer.h).
 *
 * The run: open the source (a file is read and checked whole first, so
 * --on-bad-line fail stops before anything is produced), create the producer,
 * then per event: wait for the rate limiter, encode, send. SIGINT/SIGTERM end
 * the loop (also while the producer's queue is full); the producer is flushed
 * either way (a second signal cuts the flush short), and one summary line goes to
 * stdout. Exit 0 when every event produced was delivered (also after a signal),
 * 1 on a failure (bad input under fail, a failed delivery, a flush timeout),
 * 2 on a usage or configuration error.
 */
#include <getopt.h>
#include <math.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "replay/producer.h"
#include "replay/progress.h"
#include "replay/rate_limiter.h"
#include "sr_buffer.h"
#include "sr_clock.h"
#include "sr_codec.h"
#include "sr_cli.h"
#include "sr_commands.h"
#include "sr_kafka.h"
#include "sr_log.h"
#include "sr_replay.h"
#include "sr_topics.h"

struct replay_config {
    sr_replay_kind kind;
    const char *path;
    sr_replay_options source;
    const char *bootstrap;
    const char *topic;
    sr_wire_format wire;
    sr_kafka_settings kafka;
    double rate;               /* events/s, 0 = full speed */
    uint64_t limit;            /* 0 = all */
    uint64_t skip;             /* events of the stream left out before the first produced */
    int flush_timeout_ms;
    int show_progress;         /* 1 unless --no-progress; drawn only on a terminal */
    int summary_json;
    int dry_run;
};

/* What a run did, for the summary. */
struct replay_counts {
    uint64_t events;
    uint64_t bytes;
};

/* Stop signals received: the first ends the loop, the second the final flush. */
static volatile sig_atomic_t stop_requested;
static void on_stop_signal(int signo) {
    (void)signo;
    if (stop_requested < 2) stop_requested = stop_requested + 1;
}

static void print_help(FILE *out) {
    fprintf(out,
        "usage: streamrec replay --format FORMAT [--input] [FILE] [options]\n\n"
        "Produces a dataset into the event topic as a live stream: records keyed by\n"
        "user id (decimal text), each user's events in order, users interleaved (by\n"
        "timestamp where the file has one, otherwise a seeded random merge). File\n"
        "events are views. Idempotent producer; a progress bar on a terminal; one\n"
        "summary line on stdout at the end. FILE '-' reads standard input.\n\n"
        "formats:\n"
        "  lines        'user item item ...' one user per line (S3-Rec *.txt)\n"
        "  pairs        'user item' one interaction per line (BERT4Rec beauty.txt)\n"
        "  diginetica   'sessionId;userId;itemId;timeframe;eventdate' CSV; a session\n"
        "               is a user; ordered by eventdate then timeframe\n"
        "  synthetic    generated, no FILE: clustered items with Markov transitions,\n"
        "               view/click/add_to_cart/purchase\n\n"
        "input options:\n"
        "  --format FORMAT        one of the above (required)\n"
        "  --input FILE           the dataset file (or FILE as the last argument)\n"
        "  --on-bad-line POLICY   skip (default: count, log the first ones, go on) or\n"
        "                         fail (exit 1 before producing anything)\n"
        "  --bad-line-log N       bad lines logged one by one (default 10)\n"
        "  --seed N               interleaving and synthetic data (default 1)\n"
        "  --start-time MS|now    event time of the first event where the data has\n"
        "                         none, ms since the epoch (default now)\n"
        "  --time-step MS         between consecutive events, same cases (default 1000)\n"
        "  --users N --items N --events N --cluster-size N\n"
        "                         synthetic size (defaults 1000, 500, 100000, 20)\n\n"
        "output options:\n"
        "  --topic NAME           (default %s)\n"
        "  --wire FORMAT          registry (default: 0x00 + schema id 1 + Avro) or plain\n"
        "  --bootstrap ADDR       (default $STREAMREC_BOOTSTRAP or 127.0.0.1:9092)\n"
        "  -X key=value           any librdkafka producer setting, after the defaults\n"
        "                         enable.idempotence=true linger.ms=20 batch.size=1000000\n"
        "                         compression.type=lz4; KEY.file=PATH sets KEY to the file's\n"
        "                         content (a secret: -X sasl.password.file=/run/secrets/pw)\n"
        "  --rate N               events per second (token bucket; default 0 = full speed)\n"
        "  --limit N              stop after N events\n"
        "  --skip N               leave out the stream's first N events (continues a\n"
        "                         replay that ran with --limit N)\n"
        "  --flush-timeout SEC    wait this long for deliveries at the end (default 60)\n"
        "  --dry-run              read and encode, produce nothing (measures the input side)\n"
        "  --no-progress          no progress bar even on a terminal\n"
        "  --summary-json         the summary line as one JSON object\n"
        "  --log-level LEVEL      debug, info, warn (default), error\n"
        "  -h, --help             this text\n\n"
        "examples:\n"
        "  streamrec replay --format lines ../shared/data/yelp-s3rec/Yelp.txt\n"
        "  streamrec replay --format pairs beauty.txt --rate 5000 --on-bad-line fail\n"
        "  streamrec replay --format diginetica sample_train-item-views.csv --wire plain\n"
        "  streamrec replay --format synthetic --users 1000000 --items 50000 \\\n"
        "                   --events 5000000 --seed 7 --summary-json\n"
        "  streamrec replay --format synthetic --dry-run --no-progress\n"
        "  streamrec replay --format synthetic --limit 1000 -X test.mock.num.brokers=1\n",
        SR_TOPIC_EVENTS);
}

static int parse_policy(const char *text, sr_bad_line_policy *out) {
    if (strcmp(text, "skip") == 0) *out = SR_BAD_LINE_SKIP;
    else if (strcmp(text, "fail") == 0) *out = SR_BAD_LINE_FAIL;
    else {
        fprintf(stderr, "streamrec replay: --on-bad-line must be skip or fail, not '%s'\n", text);
        return 0;
    }
    return 1;
}

enum {
    OPT_FORMAT = 256, OPT_BAD_LINE, OPT_BAD_LINE_LOG, OPT_SEED, OPT_START, OPT_STEP,
    OPT_USERS, OPT_ITEMS, OPT_EVENTS, OPT_CLUSTER, OPT_TOPIC, OPT_WIRE, OPT_BOOTSTRAP,
    OPT_RATE, OPT_LIMIT, OPT_SKIP, OPT_FLUSH, OPT_DRY_RUN, OPT_NO_PROGRESS, OPT_JSON, OPT_LOG_LEVEL,
    OPT_INPUT,
};

static const struct option long_options[] = {
    {"format", required_argument, NULL, OPT_FORMAT},
    {"input", required_argument, NULL, OPT_INPUT},
    {"on-bad-line", required_argument, NULL, OPT_BAD_LINE},
    {"bad-line-log", required_argument, NULL, OPT_BAD_LINE_LOG},
    {"seed", required_argument, NULL, OPT_SEED},
    {"start-time", required_argument, NULL, OPT_START},
    {"time-step", required_argument, NULL, OPT_STEP},
    {"users", required_argument, NULL, OPT_USERS},
    {"items", required_argument, NULL, OPT_ITEMS},
    {"events", required_argument, NULL, OPT_EVENTS},
    {"cluster-size", required_argument, NULL, OPT_CLUSTER},
    {"topic", required_argument, NULL, OPT_TOPIC},
    {"wire", required_argument, NULL, OPT_WIRE},
    {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
    {"rate", required_argument, NULL, OPT_RATE},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"skip", required_argument, NULL, OPT_SKIP},
    {"flush-timeout", required_argument, NULL, OPT_FLUSH},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"summary-json", no_argument, NULL, OPT_JSON},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Options that set a number in the source's options. */
static int parse_source_number(int opt, const char *text, sr_replay_options *o) {
    uint64_t value;
    switch (opt) {
    case OPT_SEED: return sr_cli_u64("replay", "--seed", text, 0, UINT64_MAX, &o->seed);
    case OPT_USERS: return sr_cli_u64("replay", "--users", text, 0, UINT64_MAX, &o->users);
    case OPT_ITEMS: return sr_cli_u64("replay", "--items", text, 0, UINT64_MAX, &o->items);
    case OPT_EVENTS: return sr_cli_u64("replay", "--events", text, 0, UINT64_MAX, &o->events);
    case OPT_STEP: return sr_cli_i64("replay", "--time-step", text, &o->time_step_ms);
    case OPT_START:
        if (strcmp(text, "now") != 0) return sr_cli_i64("replay", "--start-time", text, &o->start_time_ms);
        o->start_time_ms = sr_wall_clock_ms();
        return 1;
    case OPT_CLUSTER:
        if (!sr_cli_u64("replay", "--cluster-size", text, 0, UINT64_MAX, &value)) return 0;
        o->cluster_size = value > UINT32_MAX ? UINT32_MAX : (uint32_t)value;
        return 1;
    case OPT_BAD_LINE_LOG:
        if (!sr_cli_u64("replay", "--bad-line-log", text, 0, UINT64_MAX, &value)) return 0;
        o->bad_line_log_limit = value > UINT32_MAX ? UINT32_MAX : (uint32_t)value;
        return 1;
    default: return 0;
    }
}

/* One option; 1 when fine, 0 after printing why not, -1 for --help. */
static int parse_one(int opt, const char *arg, struct replay_config *cfg) {
    sr_error err;
    uint64_t seconds;
    int value;
    switch (opt) {
    case OPT_FORMAT:
        if (!sr_cli_named("replay", "--format", sr_replay_kind_parse(arg), arg, &value)) return 0;
        cfg->kind = (sr_replay_kind)value;
        return 1;
    case OPT_WIRE:
        if (!sr_cli_named("replay", "--wire", sr_wire_format_parse(arg), arg, &value)) return 0;
        cfg->wire = (sr_wire_format)value;
        return 1;
    case OPT_LOG_LEVEL:
        if (!sr_cli_named("replay", "--log-level", sr_log_level_parse(arg), arg, &value)) return 0;
        sr_log_set_level((sr_log_level)value);
        return 1;
    case OPT_BAD_LINE: return parse_policy(arg, &cfg->source.on_bad_line);
    case OPT_INPUT: cfg->path = arg; return 1;
    case OPT_TOPIC: cfg->topic = arg; return 1;
    case OPT_BOOTSTRAP: cfg->bootstrap = arg; return 1;
    case OPT_RATE: return sr_cli_double("replay", "--rate", arg, 0, INFINITY, &cfg->rate);
    case OPT_LIMIT: return sr_cli_u64("replay", "--limit", arg, 0, UINT64_MAX, &cfg->limit);
    case OPT_SKIP: return sr_cli_u64("replay", "--skip", arg, 0, UINT64_MAX, &cfg->skip);
    case OPT_FLUSH:
        if (!sr_cli_u64("replay", "--flush-timeout", arg, 0, UINT64_MAX, &seconds)) return 0;
        cfg->flush_timeout_ms = seconds > 86400 ? 86400000 : (int)seconds * 1000;
        return 1;
    case OPT_DRY_RUN: cfg->dry_run = 1; return 1;
    case OPT_NO_PROGRESS: cfg->show_progress = 0; return 1;
    case OPT_JSON: cfg->summary_json = 1; return 1;
    case 'X':
        if (sr_kafka_settings_add(&cfg->kafka, arg, &err) == SR_OK) return 1;
        fprintf(stderr, "streamrec replay: %s\n", err.message);
        return 0;
    case 'h': return -1;
    default: return parse_source_number(opt, arg, &cfg->source);
    }
}

/* SR_EXIT_OK to run, -1 after --help, SR_EXIT_USAGE on a usage error. */
static int parse_options(int argc, char **argv, struct replay_config *cfg) {
    int opt, kind_given = 0;
    while ((opt = getopt_long(argc, argv, "hX:", long_options, NULL)) != -1) {
        if (opt == '?') {  /* getopt has said why */
            print_help(stderr);
            return SR_EXIT_USAGE;
        }
        int ok = parse_one(opt, optarg, cfg);
        if (ok < 0) {
            print_help(stdout);
            return -1;
        }
        if (!ok) return SR_EXIT_USAGE;
        kind_given |= opt == OPT_FORMAT;
    }
    if (optind < argc && !cfg->path) cfg->path = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "streamrec replay: unexpected argument '%s'\n", argv[optind]);
        return SR_EXIT_USAGE;
    }
    if (!kind_given) {
        fprintf(stderr, "streamrec replay: --format is required; see --help\n");
        return SR_EXIT_USAGE;
    }
    if ((cfg->kind == SR_REPLAY_SYNTHETIC) == (cfg->path != NULL)) {
        fprintf(stderr, "streamrec replay: %s\n", cfg->path ? "synthetic takes no FILE"
                                                             : "this format needs a FILE");
        return SR_EXIT_USAGE;
    }
    return SR_EXIT_OK;
}

/* Waits until the rate limiter lets one more event through, serving delivery
 * reports meanwhile. False when a stop was requested during the wait. */
static int wait_for_rate(replay_rate_limiter *rl, replay_producer *producer) {
    double wait;
    while ((wait = replay_rate_limiter_take(rl, sr_monotonic_seconds())) > 0) {
        if (stop_requested) return 0;
        /* A tiny --rate can ask for years: wait in 1 s slices, which also keeps
         * the conversion to int ms in range and the stop flag looked at. */
        if (wait > 1) wait = 1;
        int ms = (int)(wait * 1000) + 1;
        if (producer) {
            replay_producer_poll(producer, ms);
        } else {
            struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    return 1;
}

/* Encodes one event and sends it (or, in a dry run, only encodes it). */
static sr_status send_event(const struct replay_config *cfg, replay_producer *producer,
                            const sr_user_event *event, sr_buffer *value,
                            struct replay_counts *counts, sr_error *err) {
    char key[24];
    int key_len = snprintf(key, sizeof key, "%" PRId64, event->user_id);
    sr_buffer_reset(value);
    sr_status status = sr_encode_event(event, cfg->wire, value, err);
    bool queued = true;
    if (status == SR_OK && producer)
        status = replay_producer_send(producer, key, (size_t)key_len, value->data, value->len,
                                      &stop_requested, &queued, err);
    if (status != SR_OK || !queued) return status;  /* not queued: a stop came first */
    counts->events++;
    counts->bytes += (uint64_t)key_len + value->len;
    return SR_OK;
}

/* The main loop: until the source is done, the limit is reached or a signal. */
static sr_status pump(const struct replay_config *cfg, sr_replay_source *src,
                      replay_producer *producer, replay_progress *progress,
                      struct replay_counts *counts, sr_error *err) {
    replay_rate_limiter rl;
    replay_rate_limiter_init(&rl, cfg->rate, sr_monotonic_seconds());
    sr_buffer value = {0};
    sr_status status = SR_OK;
    for (uint64_t skipped = 0; status == SR_OK && skipped < cfg->skip; skipped++) {
        sr_user_event event;
        bool done;
        status = sr_replay_source_next(src, &event, &done, err);
        if (done) break;
    }
    while (status == SR_OK && !stop_requested && (!cfg->limit || counts->events < cfg->limit)) {
        sr_user_event event;
        bool done;
        status = sr_replay_source_next(src, &event, &done, err);
        if (status != SR_OK || done) break;
        if (!wait_for_rate(&rl, producer)) break;
        status = send_event(cfg, producer, &event, &value, counts, err);
        /* The bar throttles itself; at full speed even asking costs, so ask
         * every 1024 events then, but every event when a rate slows things. */
        if (cfg->rate > 0 || (counts->events & 1023) == 0)
            replay_progress_update(progress, counts->events, sr_monotonic_seconds());
    }
    sr_buffer_free(&value);
    return status;
}

static uint64_t expected_events(const struct replay_config *cfg, const sr_replay_source *src) {
    uint64_t total = sr_replay_source_stats(src).events_total;
    total = total > cfg->skip ? total - cfg->skip : 0;
    return cfg->limit && cfg->limit < total ? cfg->limit : total;
}

/* Flushes and folds the delivery reports into the run's status. */
static sr_status finish_delivery(const struct replay_config *cfg, replay_producer *producer,
                                 sr_status status, sr_error *err) {
    sr_error flush_err;
    sr_status flushed = replay_producer_flush(producer, cfg->flush_timeout_ms, &stop_requested,
                                              &flush_err);
    replay_delivery d = replay_producer_delivery(producer);
    if (status != SR_OK) return status;
    if (flushed != SR_OK) {
        *err = flush_err;
        return flushed;
    }
    if (d.failed > 0 || d.fatal)
        return sr_fail(err, SR_ERR_KAFKA, "%" PRIu64 " deliveries failed, first: %s",
                       d.failed, d.first_failure);
    return SR_OK;
}

static void print_summary(const struct replay_config *cfg, const sr_replay_source *src,
                          replay_producer *producer, const struct replay_counts *counts,
                          double seconds) {
    sr_replay_stats stats = sr_replay_source_stats(src);
    replay_delivery d = producer ? replay_producer_delivery(producer) : (replay_delivery){0};
    replay_summary s = {
        .source = sr_replay_kind_name(cfg->kind), .topic = producer ? cfg->topic : NULL,
        .events = counts->events, .delivered = d.delivered, .failed = d.failed,
        .bytes = counts->bytes, .seconds = seconds, .bad_lines = stats.bad_lines,
        .blank_lines = stats.blank_lines, .interrupted = stop_requested != 0,
    };
    if (stats.bad_lines > 0)
        sr_log(SR_LOG_WARN, "replay", "%" PRIu64 " bad lines skipped in %s", stats.bad_lines,
               cfg->path);
    if (cfg->summary_json) replay_summary_print_json(stdout, &s);
    else replay_summary_print(stdout, &s);
}

/* Produces the open source; returns the run's status. */
static sr_status produce_source(const struct replay_config *cfg, sr_replay_source *src,
                                sr_error *err) {
    replay_producer *producer = NULL;
    if (!cfg->dry_run) {
        sr_status status = replay_producer_new(cfg->bootstrap, &cfg->kafka, cfg->topic,
                                               &producer, err);
        if (status != SR_OK) return status;
    }
    double start = sr_monotonic_seconds();
    replay_progress progress;
    replay_progress_init(&progress, cfg->show_progress && isatty(STDERR_FILENO) ? stderr : NULL,
                         expected_events(cfg, src), start);
    struct replay_counts counts = {0};
    sr_status status = pump(cfg, src, producer, &progress, &counts, err);
    /* Always draw the final count: the bar skips draws within 0.1 s of the last,
     * and a never-drawn state (last_draw < 0) is always drawn. */
    progress.last_draw = -1;
    replay_progress_update(&progress, counts.events, sr_monotonic_seconds());
    if (producer) status = finish_delivery(cfg, producer, status, err);
    replay_progress_finish(&progress);
    print_summary(cfg, src, producer, &counts, sr_monotonic_seconds() - start);
    replay_producer_free(producer);
    return status;
}

static int exit_status(sr_status status) {
    if (status == SR_OK) return SR_EXIT_OK;
    return status == SR_ERR_CONFIG || status == SR_ERR_INVALID_ARG ? SR_EXIT_USAGE
                                                                   : SR_EXIT_FAILURE;
}

int sr_cmd_replay(int argc, char **argv) {
    struct replay_config cfg = {
        .bootstrap = sr_kafka_default_bootstrap(), .topic = SR_TOPIC_EVENTS,
        .wire = SR_WIRE_REGISTRY, .flush_timeout_ms = 60000, .show_progress = 1,
    };
    sr_replay_options_init(&cfg.source);
    cfg.source.start_time_ms = sr_wall_clock_ms();
    sr_log_set_level(SR_LOG_WARN);  /* stderr is for the bar and for problems */
    int rc = parse_options(argc, argv, &cfg);
    if (rc != SR_EXIT_OK) {
        sr_kafka_settings_free(&cfg.kafka);
        return rc < 0 ? SR_EXIT_OK : rc;
    }
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    sr_error err;
    sr_replay_source *src = NULL;
    sr_status status = sr_replay_source_open(cfg.kind, cfg.path, &cfg.source, &src, &err);
    if (status == SR_OK) status = produce_source(&cfg, src, &err);
    sr_replay_source_free(src);
    sr_kafka_settings_free(&cfg.kafka);
    if (status != SR_OK) sr_log(SR_LOG_ERROR, "replay", "%s", err.message);
    return exit_status(status);
}
