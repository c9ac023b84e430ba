/*
 * bench_user_store.c — the per-user state store's memory and lookup speed at
 * H = 64, T = 16 (the target: <= 512 bytes per user at 1 M users).
 *
 * Inserts N users with random 64-bit ids into a store capped at N (every
 * field of every row is written on insert, and the hidden state again here,
 * so all of it is resident), then reports bytes per user two ways: the store's
 * own accounting (every allocation by its size) and the growth of resident
 * memory (/proc/self/statm) across the inserts. Then times random lookups of
 * held users. Prints one JSON line. Never asserts on time.
 *
 *     build/bench/bench_user_store [users] [lookups]   (default 1000000 5000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sr_clock.h"
#include "sr_user_store.h"

static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Resident bytes of this process, or 0 when /proc is not there. */
static size_t resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return n == 2 ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

static int die(const sr_error *err) {
    fprintf(stderr, "bench_user_store: %s\n", err->message);
    return 1;
}

int main(int argc, char **argv) {
    size_t users = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    size_t lookups = argc > 2 ? strtoul(argv[2], NULL, 10) : 5000000;
    if (users == 0 || users > SR_USER_STORE_MAX_USERS) {
        fprintf(stderr, "bench_user_store: users must be in 1..%u\n", SR_USER_STORE_MAX_USERS);
        return 2;
    }
    sr_model_config mc = {.item_count = 1000, .embed_dim = 64, .hidden_dim = 64, .window = 16,
                          .cell = SR_CELL_GRU, .attention = SR_ATTENTION_ITEMS};
    sr_user_store_config sc = {.hidden_floats = sr_model_state_floats(&mc), .window = mc.window,
                               .max_users = (uint32_t)users, .seed = 1};
    /* The ids first, touched, so that they are not counted as the store's. */
    int64_t *ids = malloc(users * sizeof *ids);
    if (!ids) return 1;
    uint64_t rng = 0x5eed;
    for (size_t i = 0; i < users; i++) ids[i] = (int64_t)next_rand(&rng);

    sr_error err;
    sr_user_store *store;
    size_t rss_before = resident_bytes();
    if (sr_user_store_new(&sc, &store, &err) != SR_OK) return die(&err);
    double t0 = sr_monotonic_seconds();
    for (size_t i = 0; i < users; i++) {
        uint32_t slot;
        if (sr_user_store_upsert(store, ids[i], (int64_t)i, &slot, NULL, &err) != SR_OK)
            return die(&err);
        float *h = sr_user_store_hidden(store, slot);
        for (size_t f = 0; f < sc.hidden_floats; f++) h[f] = (float)f;
    }
    double insert_seconds = sr_monotonic_seconds() - t0;
    size_t rss_after = resident_bytes();
    sr_user_store_stats st;
    sr_user_store_stats_get(store, &st);

    uint64_t checksum = 0, found = 0;
    t0 = sr_monotonic_seconds();
    for (size_t i = 0; i < lookups; i++) {
        uint32_t slot;
        int64_t id = ids[next_rand(&rng) % users];
        if (sr_user_store_find(store, id, &slot)) found++, checksum += slot;
    }
    double lookup_seconds = sr_monotonic_seconds() - t0;

    double per_user_accounted = (double)st.bytes_held / (double)st.users;
    double per_user_resident = (double)(rss_after - rss_before) / (double)st.users;
    printf("users %zu (of %zu ids), table %zu slots, rows %zu x %zu bytes\n", st.users, users,
           st.table_capacity, st.row_capacity, st.row_bytes);
    printf("bytes/user: %.1f accounted, %.1f resident growth\n", per_user_accounted,
           per_user_resident);
    printf("inserts %.2f M/s, lookups %.2f M/s (%llu of %zu found)\n",
           (double)users / insert_seconds / 1e6, (double)lookups / lookup_seconds / 1e6,
           (unsigned long long)found, lookups);
    printf("{\"bench\":\"user_store\",\"users\":%zu,\"hidden_floats\":%zu,\"window\":%u,"
           "\"row_bytes\":%zu,\"table_capacity\":%zu,\"row_capacity\":%zu,\"bytes_held\":%zu,"
           "\"bytes_per_user_accounted\":%.1f,\"bytes_per_user_resident\":%.1f,"
           "\"insert_m_per_s\":%.3f,\"lookups\":%zu,\"lookup_hits\":%llu,\"lookup_m_per_s\":%.3f,"
           "\"checksum\":%llu}\n",
           st.users, sc.hidden_floats, sc.window, st.row_bytes, st.table_capacity, st.row_capacity,
           st.bytes_held, per_user_accounted, per_user_resident,
           (double)users / insert_seconds / 1e6, lookups, (unsigned long long)found,
           (double)lookups / lookup_seconds / 1e6, (unsigned long long)checksum);
    sr_user_store_free(store);
    free(ids);
    return found == lookups ? 0 : 1;
}
