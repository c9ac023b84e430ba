/*
 * tail.c — `streamrec tail`: reads a topic and prints each record as one JSON
 * line, decoded as an event or a recommendation. For looking at what flows
 * through streamrec's topics, in the demo and in production.
 *
 * It assigns every partition itself (no consumer group, commits nothing), so
 * it never disturbs the workers' group.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_codec.h"
#include "sr_commands.h"
#include "sr_json.h"
#include "sr_kafka.h"
#include "sr_log.h"
#include "sr_topic_reader.h"
#include "sr_topics.h"

enum record_kind { KIND_EVENT, KIND_RECOMMENDATION, KIND_STATE };

struct tail_options {
    const char *bootstrap;
    const char *topic;
    enum record_kind kind;
    sr_wire_format wire;
    int from_beginning;
    int exit_at_end;
    long long max_records;  /* 0 = no limit */
    sr_kafka_settings kafka;
};

static volatile sig_atomic_t stop_requested;
static void on_stop_signal(int signo) { (void)signo; stop_requested = 1; }

static void print_help(FILE *out) {
    fprintf(out,
            "usage: streamrec tail [--topic NAME] [--type event|recommendation|state]\n"
            "                      [--wire plain|registry] [--from-beginning] [--exit-at-end]\n"
            "                      [--max N] [--bootstrap HOST:PORT] [-X key=value]...\n\n"
            "Prints the records of a topic as JSON lines on stdout, one per record, with\n"
            "partition, offset and key; a record that does not decode is printed with its\n"
            "error instead. Reads read_committed, assigns all partitions itself (no group,\n"
            "no commits).\n\n"
            "options:\n"
            "  --topic NAME        topic to read (default %s)\n"
            "  --type KIND         event (default), recommendation (the default when the\n"
            "                      topic is %s) or state (the default for %s)\n"
            "  --wire FORMAT       events' framing: registry (default) or plain\n"
            "  --from-beginning    start at the oldest record (default: only new records)\n"
            "  --exit-at-end       stop once every partition's end is reached\n"
            "  --max N             stop after N records\n"
            "  --bootstrap ADDR    Kafka bootstrap servers (default $STREAMREC_BOOTSTRAP or\n"
            "                      127.0.0.1:9092)\n"
            "  -X key=value        any librdkafka consumer setting; KEY.file=PATH sets KEY\n"
            "                      to the file's content (-X sasl.password.file=PATH)\n"
            "  -h, --help          this text\n\n"
            "example:\n"
            "  streamrec tail --topic %s --from-beginning --exit-at-end --max 10\n",
            SR_TOPIC_EVENTS, SR_TOPIC_RECOMMENDATIONS, SR_TOPIC_CHANGELOG, SR_TOPIC_EVENTS);
}

static void print_event(const sr_user_event *ev) {
    printf(",\"user_id\":%" PRId64 ",\"item_id\":%" PRId64 ",\"event_type\":\"%s\",\"event_time\":%" PRId64,
           ev->user_id, ev->item_id, sr_event_type_name(ev->event_type), ev->event_time_ms);
    if (ev->has_session_id) {
        printf(",\"session_id\":");
        sr_json_write_string(stdout, ev->session_id, ev->session_id_len);
    }
    if (ev->has_value) printf(",\"value\":%.17g", ev->value);
}

static void print_recommendation(const sr_recommendation *rec) {
    printf(",\"user_id\":%" PRId64 ",\"model_version\":%" PRId64 ",\"generated_at\":%" PRId64
           ",\"last_event_time\":%" PRId64 ",\"source_partition\":%" PRId32
           ",\"source_offset\":%" PRId64 ",\"items\":[",
           rec->user_id, rec->model_version, rec->generated_at_ms, rec->last_event_time_ms,
           rec->source_partition, rec->source_offset);
    for (size_t i = 0; i < rec->item_count; i++)
        printf("%s{\"item_id\":%" PRId64 ",\"score\":%.6g}", i ? "," : "", rec->items[i].item_id,
               (double)rec->items[i].score);
    putchar(']');
}

/* A UserState: its counters and window; the hidden state as its size and norm. */
static void print_state(const sr_user_state_record *st) {
    double norm = 0;
    for (size_t i = 0; i < st->hidden_count; i++) norm += (double)st->hidden[i] * st->hidden[i];
    printf(",\"user_id\":%" PRId64 ",\"model_version\":%" PRId64 ",\"hidden_floats\":%zu"
           ",\"hidden_norm\":%.6g,\"applied_events\":%" PRIu64 ",\"sequence_hash\":%" PRIu64
           ",\"last_event_time\":%" PRId64 ",\"last_scored_at\":%" PRId64
           ",\"source_partition\":%" PRId32 ",\"source_offset\":%" PRId64 ",\"recent\":[",
           st->user_id, st->model_version, st->hidden_count, sqrt(norm), st->applied_events,
           st->sequence_hash, st->last_event_time_ms, st->last_scored_at_ms, st->source_partition,
           st->source_offset);
    for (size_t i = 0; i < st->recent_count; i++)
        printf("%s{\"item_id\":%" PRId64 ",\"event_type\":\"%s\"}", i ? "," : "",
               st->recent_items[i], sr_event_type_name((sr_event_type)st->recent_types[i]));
    putchar(']');
}

#define MAX_ITEMS_PRINTED 1024
#define MAX_STATE_FLOATS (1u << 20)
#define MAX_STATE_WINDOW 1024

/* Prints one record as a JSON line. */
static void print_record(const sr_codec *codec, const struct tail_options *opts,
                         const rd_kafka_message_t *msg) {
    printf("{\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"key\":", msg->partition, msg->offset);
    if (msg->key) sr_json_write_string(stdout, msg->key, msg->key_len);
    else printf("null");

    sr_error err;
    sr_status status = SR_OK;
    if (!msg->payload) {
        printf(",\"tombstone\":true");
    } else if (opts->kind == KIND_EVENT) {
        sr_user_event ev;
        status = sr_codec_decode_event(codec, opts->wire, msg->payload, msg->len, &ev, &err);
        if (status == SR_OK) print_event(&ev);
    } else if (opts->kind == KIND_STATE) {
        static float hidden[MAX_STATE_FLOATS];
        static int64_t recent[MAX_STATE_WINDOW];
        static uint8_t types[MAX_STATE_WINDOW];
        sr_user_state_record st;
        status = sr_decode_user_state(msg->payload, msg->len, &st, hidden, MAX_STATE_FLOATS, recent,
                                      types, MAX_STATE_WINDOW, &err);
        if (status == SR_OK) print_state(&st);
    } else {
        static sr_recommended_item items[MAX_ITEMS_PRINTED];
        sr_recommendation rec;
        status = sr_decode_recommendation(msg->payload, msg->len, &rec, items, MAX_ITEMS_PRINTED, &err);
        if (status == SR_OK) print_recommendation(&rec);
    }
    if (status != SR_OK) {
        printf(",\"error\":\"%s\",\"message\":", sr_status_name(status));
        sr_json_write_string(stdout, err.message, strlen(err.message));
    }
    printf("}\n");
}

/* Reads until stopped, the record limit, or (with --exit-at-end) every
 * partition's end. */
static sr_status run_tail(const struct tail_options *opts, sr_error *err) {
    sr_codec *codec;
    sr_status status = sr_codec_new(&codec, err);
    if (status != SR_OK) return status;
    sr_topic_reader_options reader_options = {
        .bootstrap = opts->bootstrap,
        .settings = &opts->kafka,
        .topic = opts->topic,
        .from_beginning = opts->from_beginning,
    };
    sr_topic_reader *reader;
    status = sr_topic_reader_new(&reader_options, &reader, err);
    if (status != SR_OK) {
        sr_codec_free(codec);
        return status;
    }
    long long printed = 0;
    while (status == SR_OK && !stop_requested) {
        if (opts->max_records && printed >= opts->max_records) break;
        if (opts->exit_at_end && sr_topic_reader_at_end(reader)) break;
        rd_kafka_message_t *msg;
        status = sr_topic_reader_poll(reader, 200, &msg, err);
        if (!msg) continue;
        print_record(codec, opts, msg);
        printed++;
        rd_kafka_message_destroy(msg);
    }
    fflush(stdout);
    sr_topic_reader_free(reader);
    sr_codec_free(codec);
    return status;
}

static int parse_options(int argc, char **argv, struct tail_options *opts) {
    static const struct option options[] = {
        {"topic", required_argument, NULL, 't'},
        {"type", required_argument, NULL, 'k'},
        {"wire", required_argument, NULL, 'w'},
        {"from-beginning", no_argument, NULL, 'b'},
        {"exit-at-end", no_argument, NULL, 'e'},
        {"max", required_argument, NULL, 'm'},
        {"bootstrap", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int kind_given = 0, opt;
    sr_error err;
    while ((opt = getopt_long(argc, argv, "hX:", options, NULL)) != -1) {
        switch (opt) {
        case 't': opts->topic = optarg; break;
        case 'k':
            if (strcmp(optarg, "event") && strcmp(optarg, "recommendation") && strcmp(optarg, "state")) {
                fprintf(stderr, "streamrec tail: --type must be event, recommendation or state, not '%s'\n",
                        optarg);
                return SR_EXIT_USAGE;
            }
            opts->kind = !strcmp(optarg, "event") ? KIND_EVENT
                         : !strcmp(optarg, "state") ? KIND_STATE : KIND_RECOMMENDATION;
            kind_given = 1;
            break;
        case 'w': {
            int wire = sr_wire_format_parse(optarg);
            if (wire < 0) {
                fprintf(stderr, "streamrec tail: --wire must be plain or registry, not '%s'\n", optarg);
                return SR_EXIT_USAGE;
            }
            opts->wire = (sr_wire_format)wire;
            break;
        }
        case 'b': opts->from_beginning = 1; break;
        case 'e': opts->exit_at_end = 1; break;
        case 'm': {
            char *end;
            opts->max_records = strtoll(optarg, &end, 10);
            if (*end || opts->max_records < 1) {
                fprintf(stderr, "streamrec tail: --max must be a positive number, not '%s'\n", optarg);
                return SR_EXIT_USAGE;
            }
            break;
        }
        case 's': opts->bootstrap = optarg; break;
        case 'X':
            if (sr_kafka_settings_add(&opts->kafka, optarg, &err) != SR_OK) {
                fprintf(stderr, "streamrec tail: %s\n", err.message);
                return SR_EXIT_USAGE;
            }
            break;
        case 'h': print_help(stdout); return -1;
        default: print_help(stderr); return SR_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "streamrec tail: unexpected argument '%s'\n", argv[optind]);
        return SR_EXIT_USAGE;
    }
    if (!kind_given && strcmp(opts->topic, SR_TOPIC_RECOMMENDATIONS) == 0)
        opts->kind = KIND_RECOMMENDATION;
    if (!kind_given && strcmp(opts->topic, SR_TOPIC_CHANGELOG) == 0) opts->kind = KIND_STATE;
    return SR_EXIT_OK;
}

int sr_cmd_tail(int argc, char **argv) {
    struct tail_options opts = {
        .bootstrap = sr_kafka_default_bootstrap(),
        .topic = SR_TOPIC_EVENTS,
        .kind = KIND_EVENT,
        .wire = SR_WIRE_REGISTRY,
    };
    int rc = parse_options(argc, argv, &opts);
    if (rc != SR_EXIT_OK) {
        sr_kafka_settings_free(&opts.kafka);
        return rc < 0 ? SR_EXIT_OK : rc;
    }
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    sr_error err;
    sr_status status = run_tail(&opts, &err);
    sr_kafka_settings_free(&opts.kafka);
    if (status != SR_OK) {
        sr_log(SR_LOG_ERROR, "tail", "%s", err.message);
        return status == SR_ERR_CONFIG ? SR_EXIT_USAGE : SR_EXIT_FAILURE;
    }
    return SR_EXIT_OK;
}
