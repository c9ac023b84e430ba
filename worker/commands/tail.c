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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_codec.h"
#include "sr_commands.h"
#include "sr_kafka.h"
#include "sr_log.h"
#include "sr_topics.h"

enum record_kind { KIND_EVENT, KIND_RECOMMENDATION };

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
            "usage: streamrec tail [--topic NAME] [--type event|recommendation]\n"
            "                      [--wire plain|registry] [--from-beginning] [--exit-at-end]\n"
            "                      [--max N] [--bootstrap HOST:PORT] [-X key=value]...\n\n"
            "Prints the records of a topic as JSON lines on stdout, one per record, with\n"
            "partition, offset and key; a record that does not decode is printed with its\n"
            "error instead. Reads read_committed, assigns all partitions itself (no group,\n"
            "no commits).\n\n"
            "options:\n"
            "  --topic NAME        topic to read (default %s)\n"
            "  --type KIND         event (default) or recommendation (the default when the\n"
            "                      topic is %s)\n"
            "  --wire FORMAT       events' framing: registry (default) or plain\n"
            "  --from-beginning    start at the oldest record (default: only new records)\n"
            "  --exit-at-end       stop once every partition's end is reached\n"
            "  --max N             stop after N records\n"
            "  --bootstrap ADDR    Kafka bootstrap servers (default $STREAMREC_BOOTSTRAP or\n"
            "                      127.0.0.1:9092)\n"
            "  -X key=value        any librdkafka consumer setting\n"
            "  -h, --help          this text\n\n"
            "example:\n"
            "  streamrec tail --topic %s --from-beginning --exit-at-end --max 10\n",
            SR_TOPIC_EVENTS, SR_TOPIC_RECOMMENDATIONS, SR_TOPIC_EVENTS);
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF), or 0 if the bytes there are not one. */
static size_t utf8_sequence_length(const unsigned char *s, size_t left) {
    size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
             : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    if (n == 0 || n > left) return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return n;
}

/* Valid UTF-8 passes through; quotes, backslash and control characters are
 * escaped. A byte that is not part of valid UTF-8 becomes \ufffd (one per
 * byte), as decoders do, so the line stays valid JSON; the raw bytes are lost,
 * which is fine for a viewer. */
static void print_json_string(const void *data, size_t len) {
    const unsigned char *s = data;
    putchar('"');
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence_length(s + i, len - i);
        if (n == 0) printf("\\ufffd");
        else if (s[i] == '"' || s[i] == '\\') printf("\\%c", s[i]);
        else if (s[i] < 0x20 || s[i] == 0x7f) printf("\\u%04x", s[i]);
        else fwrite(s + i, 1, n, stdout);
        i += n ? n : 1;
    }
    putchar('"');
}

static void print_event(const sr_user_event *ev) {
    printf(",\"user_id\":%" PRId64 ",\"item_id\":%" PRId64 ",\"event_type\":\"%s\",\"event_time\":%" PRId64,
           ev->user_id, ev->item_id, sr_event_type_name(ev->event_type), ev->event_time_ms);
    if (ev->has_session_id) {
        printf(",\"session_id\":");
        print_json_string(ev->session_id, ev->session_id_len);
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

#define MAX_ITEMS_PRINTED 1024

/* Prints one record as a JSON line. */
static void print_record(const sr_codec *codec, const struct tail_options *opts,
                         const rd_kafka_message_t *msg) {
    printf("{\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"key\":", msg->partition, msg->offset);
    if (msg->key) print_json_string(msg->key, msg->key_len);
    else printf("null");

    sr_error err;
    sr_status status = SR_OK;
    if (!msg->payload) {
        printf(",\"tombstone\":true");
    } else if (opts->kind == KIND_EVENT) {
        sr_user_event ev;
        status = sr_codec_decode_event(codec, opts->wire, msg->payload, msg->len, &ev, &err);
        if (status == SR_OK) print_event(&ev);
    } else {
        static sr_recommended_item items[MAX_ITEMS_PRINTED];
        sr_recommendation rec;
        status = sr_decode_recommendation(msg->payload, msg->len, &rec, items, MAX_ITEMS_PRINTED, &err);
        if (status == SR_OK) print_recommendation(&rec);
    }
    if (status != SR_OK) {
        printf(",\"error\":\"%s\",\"message\":", sr_status_name(status));
        print_json_string(err.message, strlen(err.message));
    }
    printf("}\n");
}

/* Assigns every partition of the topic, at its beginning or its end. */
static sr_status assign_all_partitions(rd_kafka_t *consumer, const struct tail_options *opts,
                                       int *partition_count, sr_error *err) {
    rd_kafka_topic_t *topic = rd_kafka_topic_new(consumer, opts->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rc = rd_kafka_metadata(consumer, 0, topic, &md, 10000);
    rd_kafka_topic_destroy(topic);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR)
        return sr_fail(err, SR_ERR_KAFKA, "metadata for topic '%s': %s", opts->topic, rd_kafka_err2str(rc));
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
        rc = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        rd_kafka_metadata_destroy(md);
        return sr_fail(err, SR_ERR_NOT_FOUND, "topic '%s': %s", opts->topic, rd_kafka_err2str(rc));
    }
    int count = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(count);
    for (int i = 0; i < count; i++)
        rd_kafka_topic_partition_list_add(list, opts->topic, md->topics[0].partitions[i].id)->offset =
            opts->from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    rd_kafka_metadata_destroy(md);
    rc = rd_kafka_assign(consumer, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR)
        return sr_fail(err, SR_ERR_KAFKA, "assigning '%s': %s", opts->topic, rd_kafka_err2str(rc));
    *partition_count = count;
    return SR_OK;
}

static sr_status open_consumer(const struct tail_options *opts, rd_kafka_t **out, sr_error *err) {
    rd_kafka_conf_t *conf;
    sr_status status = sr_kafka_conf_new(NULL, opts->bootstrap, &conf, err);
    /* The group id is never joined (we assign), but librdkafka wants one for a consumer. */
    if (status == SR_OK) status = sr_kafka_conf_set(conf, "group.id", "streamrec-tail", err);
    if (status == SR_OK) status = sr_kafka_conf_set(conf, "enable.auto.commit", "false", err);
    if (status == SR_OK) status = sr_kafka_conf_set(conf, "isolation.level", "read_committed", err);
    if (status == SR_OK) status = sr_kafka_conf_set(conf, "enable.partition.eof", "true", err);
    if (status == SR_OK) status = sr_kafka_conf_apply(conf, &opts->kafka, err);
    if (status != SR_OK) {
        rd_kafka_conf_destroy(conf);
        return status;
    }
    char errstr[512];
    *out = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!*out) {
        rd_kafka_conf_destroy(conf);
        return sr_fail(err, SR_ERR_KAFKA, "creating the consumer: %s", errstr);
    }
    /* Main-queue events (errors, logs) are then served by consumer_poll too. */
    rd_kafka_poll_set_consumer(*out);
    return SR_OK;
}

/* Reads until stopped, the record limit, or (with --exit-at-end) every
 * partition's end. */
static sr_status run_tail(const struct tail_options *opts, sr_error *err) {
    sr_codec *codec;
    sr_status status = sr_codec_new(&codec, err);
    if (status != SR_OK) return status;
    rd_kafka_t *consumer;
    status = open_consumer(opts, &consumer, err);
    if (status != SR_OK) {
        sr_codec_free(codec);
        return status;
    }
    /* EOF can come more than once per partition, and a partition that got a
     * record since is no longer at its end: one flag each, not a count. */
    int partitions = 0, at_end = 0;
    unsigned char *ended = NULL;
    long long printed = 0;
    status = assign_all_partitions(consumer, opts, &partitions, err);
    if (status == SR_OK && !(ended = calloc((size_t)partitions, 1)))
        status = sr_fail(err, SR_ERR_NOMEM, "out of memory");
    while (status == SR_OK && !stop_requested) {
        if (opts->max_records && printed >= opts->max_records) break;
        if (opts->exit_at_end && at_end >= partitions) break;
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(consumer, 200);
        if (!msg) continue;
        /* Partition ids are 0..count-1; anything else is not ours to track. */
        unsigned char *flag = msg->partition >= 0 && msg->partition < partitions
                                  ? &ended[msg->partition] : NULL;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (flag && !*flag) at_end++;
            if (flag) *flag = 1;
        } else if (msg->err) {
            sr_log(SR_LOG_WARN, "tail", "%s", rd_kafka_message_errstr(msg));
            if (rd_kafka_fatal_error(consumer, NULL, 0))
                status = sr_fail(err, SR_ERR_KAFKA, "fatal: %s", rd_kafka_message_errstr(msg));
        } else {
            if (flag && *flag) at_end--;
            if (flag) *flag = 0;
            print_record(codec, opts, msg);
            printed++;
        }
        rd_kafka_message_destroy(msg);
    }
    free(ended);
    fflush(stdout);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
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
            if (strcmp(optarg, "event") && strcmp(optarg, "recommendation")) {
                fprintf(stderr, "streamrec tail: --type must be event or recommendation, not '%s'\n", optarg);
                return SR_EXIT_USAGE;
            }
            opts->kind = strcmp(optarg, "event") ? KIND_RECOMMENDATION : KIND_EVENT;
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
