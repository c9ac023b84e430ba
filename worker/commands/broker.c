/*
 * broker.c — `streamrec broker`: the embedded broker as a process, for trying
 * streamrec with nothing else installed. Prints its bootstrap address and runs
 * until SIGINT or SIGTERM.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sr_commands.h"
#include "sr_embedded_broker.h"
#include "sr_log.h"
#include "sr_topics.h"

static void print_help(FILE *out) {
    fprintf(out,
            "usage: streamrec broker [--partitions N] [--topic NAME[:PARTITIONS]]...\n"
            "                        [--bootstrap-file PATH]\n\n"
            "Runs an embedded Kafka-protocol broker (librdkafka's mock cluster) on a\n"
            "random loopback port until SIGINT or SIGTERM. Prints its bootstrap address\n"
            "as the first line on stdout. Creates the default topics:\n"
            "  %s, %s, %s, %s\n"
            "  (with --partitions partitions each) and %s (1 partition).\n\n"
            "options:\n"
            "  --partitions N         partitions of the event topic and its co-partitioned\n"
            "                         topics (default 8; more partitions hold more data)\n"
            "  --topic NAME[:P]       create one more topic with P partitions (default 1)\n"
            "  --bootstrap-file PATH  also write the bootstrap address to PATH\n"
            "  -h, --help             this text\n\n"
            "Limits: each partition keeps at most 5 MB and 100,000 batches, dropping\n"
            "the oldest beyond that; everything is in memory; no TLS, SASL, ACLs or\n"
            "compaction. For anything but trying streamrec out, use a real Kafka.\n\n"
            "example:\n"
            "  streamrec broker --partitions 4 --bootstrap-file /tmp/bootstrap &\n"
            "  streamrec replay --bootstrap $(cat /tmp/bootstrap) --synthetic\n",
            SR_TOPIC_EVENTS, SR_TOPIC_DLQ, SR_TOPIC_RECOMMENDATIONS, SR_TOPIC_CHANGELOG,
            SR_TOPIC_MODELS);
}

/* Writes text to path through a temporary file and a rename, so that a reader
 * polling for the file never sees it half written. */
static int write_file_atomically(const char *path, const char *text) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    int ok = fprintf(f, "%s\n", text) > 0;
    ok = (fclose(f) == 0) && ok;
    return ok && rename(tmp, path) == 0 ? 0 : -1;
}

#define MAX_EXTRA_TOPICS 32

int sr_cmd_broker(int argc, char **argv) {
    static const struct option options[] = {
        {"partitions", required_argument, NULL, 'p'},
        {"topic", required_argument, NULL, 't'},
        {"bootstrap-file", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int partitions = 8;
    const char *bootstrap_file = NULL;
    char *extra_topics[MAX_EXTRA_TOPICS];
    int extra_count = 0;

    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'p': {
            char *end;
            long value = strtol(optarg, &end, 10);
            if (*end || value < 1 || value > 1024) {
                fprintf(stderr, "streamrec broker: --partitions must be 1..1024, not '%s'\n", optarg);
                return SR_EXIT_USAGE;
            }
            partitions = (int)value;
            break;
        }
        case 't':
            if (extra_count == MAX_EXTRA_TOPICS) {
                fprintf(stderr, "streamrec broker: at most %d --topic options\n", MAX_EXTRA_TOPICS);
                return SR_EXIT_USAGE;
            }
            extra_topics[extra_count++] = optarg;
            break;
        case 'f': bootstrap_file = optarg; break;
        case 'h': print_help(stdout); return SR_EXIT_OK;
        default: print_help(stderr); return SR_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "streamrec broker: unexpected argument '%s'\n", argv[optind]);
        return SR_EXIT_USAGE;
    }

    /* Block the stop signals before any thread starts, so that every thread
     * inherits the mask and sigwait below is the one place they arrive. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    sr_error err;
    sr_embedded_broker *broker;
    if (sr_embedded_broker_start(partitions, &broker, &err) != SR_OK) {
        sr_log(SR_LOG_ERROR, "broker", "%s", err.message);
        return SR_EXIT_FAILURE;
    }
    for (int i = 0; i < extra_count; i++) {
        char *colon = strrchr(extra_topics[i], ':');
        int topic_partitions = 1;
        if (colon) {
            *colon = '\0';
            char *end;
            long value = strtol(colon + 1, &end, 10);
            /* Digits only, same range as --partitions; 0 marks it bad below. */
            topic_partitions = colon[1] >= '0' && colon[1] <= '9' && !*end && value <= 1024
                                   ? (int)value : 0;
        }
        if (topic_partitions < 1 || !*extra_topics[i] ||
            sr_embedded_broker_create_topic(broker, extra_topics[i], topic_partitions, &err) != SR_OK) {
            if (topic_partitions < 1 || !*extra_topics[i])
                sr_fail(&err, SR_ERR_CONFIG, "--topic wants NAME[:PARTITIONS]");
            sr_log(SR_LOG_ERROR, "broker", "%s", err.message);
            sr_embedded_broker_stop(broker);
            return SR_EXIT_USAGE;
        }
    }

    const char *bootstrap = sr_embedded_broker_bootstrap(broker);
    printf("%s\n", bootstrap);
    fflush(stdout);
    if (bootstrap_file && write_file_atomically(bootstrap_file, bootstrap) != 0) {
        sr_log(SR_LOG_ERROR, "broker", "cannot write the bootstrap address to %s", bootstrap_file);
        sr_embedded_broker_stop(broker);
        return SR_EXIT_FAILURE;
    }
    sr_log(SR_LOG_INFO, "broker", "embedded broker listening on %s (%d partitions); stop with SIGINT or SIGTERM",
           bootstrap, partitions);

    int signal_number;
    sigwait(&stop_signals, &signal_number);
    sr_log(SR_LOG_INFO, "broker", "received signal %d, stopping", signal_number);
    sr_embedded_broker_stop(broker);
    if (bootstrap_file) remove(bootstrap_file);
    return SR_EXIT_OK;
}
