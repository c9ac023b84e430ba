/*
 * bench_swap_pause.c — how long a model swap holds up a worker, at scale.
 *
 *   bench_swap_pause [--users N] [--events-per-user K] [--items V] [--policy recompute|keep]
 *                    [--batch B]
 *
 * Fills the serving core (sr_serving.h) with N users (default 1,000,000),
 * K events each (default 4), under model A (V = 12,000 items, E = H = 64,
 * T = 16, random weights), then swaps in model B, whose vocabulary has 100
 * more items with smaller ids, so that every row moves and every window must
 * be mapped. Reports: the swap's pause (sr_serving_set_model, what stops
 * consumption), then the bounded sweeps that migrate every user: the longest
 * single sweep call (the worst extra delay of one loop iteration) and the
 * total. Also the serving core's step throughput while filling (no Kafka).
 * The last line on stdout is one JSON object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_clock.h"
#include "sr_serving.h"

static sr_model *random_model(uint32_t items, int64_t first_id, uint64_t seed, int64_t version) {
    sr_model_config c = {.item_count = items, .embed_dim = 64, .hidden_dim = 64, .window = 16,
                         .cell = SR_CELL_GRU, .attention = SR_ATTENTION_ITEMS, .tied_embeddings = 1};
    sr_model *m;
    sr_error err;
    int64_t *ids = malloc(items * sizeof *ids);
    for (uint32_t i = 0; i < items; i++) ids[i] = first_id + i;
    if (sr_model_new(&c, &m, &err) != SR_OK || sr_vocab_build(&m->vocab, ids, items, &err) != SR_OK) {
        fprintf(stderr, "bench_swap_pause: %s\n", err.message);
        exit(1);
    }
    free(ids);
    sr_model_init_random(m, seed);
    m->version = version;
    return m;
}

int main(int argc, char **argv) {
    uint32_t users = 1000000, per_user = 4, items = 12000, batch = 0;
    sr_swap_policy policy = SR_SWAP_RECOMPUTE;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--users") == 0) users = (uint32_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--events-per-user") == 0) per_user = (uint32_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--items") == 0) items = (uint32_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--batch") == 0) batch = (uint32_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--policy") == 0) policy = (sr_swap_policy)sr_swap_policy_parse(argv[i + 1]);
        else {
            fprintf(stderr, "usage: bench_swap_pause [--users N] [--events-per-user K] [--items V] "
                            "[--policy recompute|keep] [--batch B]\n");
            return 2;
        }
    }
    sr_serving_config c;
    sr_serving_config_init(&c);
    c.max_users = users;
    c.scoring = false;
    c.swap_policy = policy;
    if (batch) c.batch = batch;
    sr_serving *sv;
    sr_error err;
    if (sr_serving_new(&c, &sv, &err) != SR_OK ||
        sr_serving_set_model(sv, random_model(items, 1, 1, 1), NULL, &err) != SR_OK) {
        fprintf(stderr, "bench_swap_pause: %s\n", err.message);
        return 1;
    }
    /* Users interleaved, as a topic's partitions deliver them. */
    uint64_t x = 88172645463325252ull;
    double t0 = sr_monotonic_seconds();
    uint64_t events = (uint64_t)users * per_user;
    for (uint64_t e = 0; e < events; e++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        sr_user_event ev = {.user_id = (int64_t)(e % users), .item_id = 1 + (int64_t)(x % items),
                            .event_type = SR_EVENT_VIEW, .event_time_ms = 1000 + (int64_t)e};
        sr_serving_add(sv, &ev, 0, (int64_t)e, 1);
        if ((e + 1) % 8192 == 0 && sr_serving_step(sv, &err) != SR_OK) return 1;
    }
    if (sr_serving_step(sv, &err) != SR_OK) return 1;
    double fill = sr_monotonic_seconds() - t0;

    sr_swap_report report;
    if (sr_serving_set_model(sv, random_model(items + 100, -99, 2, 2), &report, &err) != SR_OK) {
        fprintf(stderr, "bench_swap_pause: %s\n", err.message);
        return 1;
    }
    double longest = 0, total = 0;
    size_t calls = 0;
    sr_serving_stats st;
    do {
        double s = sr_monotonic_seconds();
        sr_serving_maintain(sv);
        double d = sr_monotonic_seconds() - s;
        total += d;
        if (d > longest) longest = d;
        calls++;
        sr_serving_stats_get(sv, &st);
    } while (st.migrations < st.users && calls < 10000000);
    printf("{\"bench\":\"swap_pause\",\"users\":%u,\"events\":%llu,\"items\":%u,\"policy\":\"%s\","
           "\"fill_events_per_s\":%.0f,\"swap_pause_ms\":%.3f,\"sweep_calls\":%zu,"
           "\"sweep_longest_ms\":%.3f,\"sweep_total_s\":%.3f,\"migrated\":%llu,"
           "\"migrate_per_call\":%u,\"state_bytes_per_user\":%.1f}\n",
           users, (unsigned long long)events, items, policy == SR_SWAP_KEEP ? "keep" : "recompute",
           (double)events / fill, report.pause_seconds * 1000, calls, longest * 1000, total,
           (unsigned long long)st.migrations, c.migrate_per_call,
           (double)st.state_bytes / (double)st.users);
    sr_serving_free(sv);
    return 0;
}
