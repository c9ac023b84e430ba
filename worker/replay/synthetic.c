/*
 * synthetic.c — a generated event stream with structure a sequence model can
 * learn, made one event at a time: memory is 8 bytes per user and 4 per item,
 * whatever the number of events.
 *
 * Items are dealt into clusters of options->cluster_size; each cluster has a
 * fixed order (a cycle) over its items, and item ids are a seeded permutation of
 * 1..items, so the order is not visible in the ids. For each event:
 *   - a user is drawn, skewed towards active users (see skewed_index);
 *   - a user holding an item in the cart buys it (PURCHASE) with probability
 *     CART_PURCHASE, or drops the cart with CART_ABANDON and moves on;
 *   - otherwise the user moves from its current item: to the next item of the
 *     cluster's cycle (NEXT_IN_ORDER), to a popular item of the same cluster
 *     (SAME_CLUSTER), or to a popular item of a popular cluster (the rest; also
 *     the first event of a user), and the event is a VIEW, CLICK, ADD_TO_CART
 *     (which fills the cart) or, rarely, a direct PURCHASE.
 * So the most frequent successor of an item takes about NEXT_IN_ORDER of its
 * transitions, event types come out at about view 75 %, click 13.5 %,
 * add_to_cart 6.7 %, purchase 4.7 %, and about 80 % of purchases follow an
 * add_to_cart of the same item by that user (measured with the defaults).
 * Event time = start + i * step for the i-th event: strictly increasing for a
 * positive step. Same options, same stream, on any platform.
 */
#include <stdlib.h>

#include "prng.h"
#include "replay_internal.h"

#define NO_ITEM UINT32_MAX

/* Transition probabilities (the rest jumps to another cluster). */
#define NEXT_IN_ORDER 0.80
#define SAME_CLUSTER 0.10
/* Event types of a move; the rest is a direct purchase. */
#define P_VIEW 0.78
#define P_CLICK 0.14
#define P_ADD_TO_CART 0.07
/* What a user with something in the cart does next. */
#define CART_PURCHASE 0.30
#define CART_ABANDON 0.20

typedef struct synthetic_user {
    uint32_t item;  /* dense index of the current item, NO_ITEM before the first */
    uint32_t cart;  /* dense index of the item in the cart, or NO_ITEM */
} synthetic_user;

struct replay_synthetic {
    replay_prng prng;
    uint64_t users;
    uint32_t items;
    uint32_t cluster_size;
    uint32_t clusters;
    uint32_t *item_ids;  /* dense index -> id - 1 */
    synthetic_user *state;
    uint64_t produced;
    int64_t start_time_ms;
    int64_t time_step_ms;
};

/* An index in [0, n) with density falling as 1/sqrt (power 2) or 1/x^(2/3)
 * (power 3): index 0 is the most popular, the top 1 % of indexes get 10 % or
 * 22 % of the draws. Inverse-transform, so no table and O(1). */
static uint64_t skewed_index(replay_prng *prng, uint64_t n, int power) {
    double u = replay_prng_uniform(prng), x = u * u;
    if (power == 3) x *= u;
    uint64_t i = (uint64_t)(x * (double)n);
    return i < n ? i : n - 1;
}

static uint32_t cluster_items(const replay_synthetic *gen, uint32_t cluster) {
    uint32_t first = cluster * gen->cluster_size;
    uint32_t left = gen->items - first;
    return left < gen->cluster_size ? left : gen->cluster_size;
}

/* A popular item of the given cluster. */
static uint32_t popular_item_in(replay_synthetic *gen, uint32_t cluster) {
    uint32_t size = cluster_items(gen, cluster);
    return cluster * gen->cluster_size + (uint32_t)skewed_index(&gen->prng, size, 2);
}

static uint32_t next_item(replay_synthetic *gen, uint32_t item) {
    double u = replay_prng_uniform(&gen->prng);
    if (item == NO_ITEM || u >= NEXT_IN_ORDER + SAME_CLUSTER)
        return popular_item_in(gen, (uint32_t)skewed_index(&gen->prng, gen->clusters, 3));
    uint32_t cluster = item / gen->cluster_size;
    if (u >= NEXT_IN_ORDER) return popular_item_in(gen, cluster);
    uint32_t first = cluster * gen->cluster_size;
    return first + (item - first + 1) % cluster_items(gen, cluster);
}

static sr_event_type move_type(replay_synthetic *gen) {
    double u = replay_prng_uniform(&gen->prng);
    if (u < P_VIEW) return SR_EVENT_VIEW;
    if (u < P_VIEW + P_CLICK) return SR_EVENT_CLICK;
    if (u < P_VIEW + P_CLICK + P_ADD_TO_CART) return SR_EVENT_ADD_TO_CART;
    return SR_EVENT_PURCHASE;
}

/* One step of a user: its event's item (dense) and type. */
static uint32_t step_user(replay_synthetic *gen, synthetic_user *user, sr_event_type *type) {
    if (user->cart != NO_ITEM) {
        double u = replay_prng_uniform(&gen->prng);
        uint32_t cart = user->cart;
        if (u < CART_PURCHASE + CART_ABANDON) user->cart = NO_ITEM;
        if (u < CART_PURCHASE) {
            *type = SR_EVENT_PURCHASE;
            return cart;
        }
    }
    user->item = next_item(gen, user->item);
    *type = move_type(gen);
    if (*type == SR_EVENT_ADD_TO_CART) user->cart = user->item;
    return user->item;
}

void replay_synthetic_next(replay_synthetic *gen, sr_user_event *event) {
    uint64_t user = skewed_index(&gen->prng, gen->users, 2);
    sr_event_type type;
    uint32_t item = step_user(gen, &gen->state[user], &type);
    *event = (sr_user_event){
        .user_id = (int64_t)user + 1,
        .item_id = (int64_t)gen->item_ids[item] + 1,
        .event_type = type,
        .event_time_ms = gen->start_time_ms + (int64_t)gen->produced * gen->time_step_ms,
    };
    gen->produced++;
}

static sr_status check_options(const sr_replay_options *o, sr_error *err) {
    if (o->users == 0 || o->items == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG, "synthetic data needs users and items");
    if (o->cluster_size == 0)
        return sr_fail(err, SR_ERR_INVALID_ARG, "cluster size must be at least 1");
    if (o->items >= NO_ITEM || o->users > SIZE_MAX / sizeof(synthetic_user))
        return sr_fail(err, SR_ERR_LIMIT, "at most %u items and %zu users", NO_ITEM - 1,
                       SIZE_MAX / sizeof(synthetic_user));
    /* produced * step must fit too, so a negative start gives no extra room. */
    int64_t room = o->start_time_ms < 0 ? INT64_MAX : INT64_MAX - o->start_time_ms;
    if (o->time_step_ms > 0 && o->events > 0 &&
        o->events - 1 > (uint64_t)(room / o->time_step_ms))
        return sr_fail(err, SR_ERR_INVALID_ARG, "event times overflow 64 bits");
    return SR_OK;
}

/* Item ids: a seeded shuffle of 0..items-1, so cluster order hides in the ids. */
static void shuffle_item_ids(replay_synthetic *gen) {
    for (uint32_t i = 0; i < gen->items; i++) gen->item_ids[i] = i;
    for (uint32_t i = gen->items; i > 1; i--) {
        uint32_t j = (uint32_t)replay_prng_below(&gen->prng, i);
        uint32_t t = gen->item_ids[i - 1];
        gen->item_ids[i - 1] = gen->item_ids[j];
        gen->item_ids[j] = t;
    }
}

sr_status replay_synthetic_new(const sr_replay_options *options, replay_synthetic **out,
                               sr_error *err) {
    sr_status status = check_options(options, err);
    if (status != SR_OK) return status;
    replay_synthetic *gen = calloc(1, sizeof *gen);
    if (!gen) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    gen->users = options->users;
    gen->items = (uint32_t)options->items;
    gen->cluster_size = options->cluster_size < gen->items ? options->cluster_size : gen->items;
    gen->clusters = (gen->items + gen->cluster_size - 1) / gen->cluster_size;
    gen->start_time_ms = options->start_time_ms;
    gen->time_step_ms = options->time_step_ms;
    gen->item_ids = malloc(gen->items * sizeof *gen->item_ids);
    gen->state = malloc(gen->users * sizeof *gen->state);
    if (!gen->item_ids || !gen->state) {
        replay_synthetic_free(gen);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for %llu users",
                       (unsigned long long)options->users);
    }
    for (uint64_t u = 0; u < gen->users; u++) gen->state[u] = (synthetic_user){NO_ITEM, NO_ITEM};
    replay_prng_seed(&gen->prng, options->seed);
    shuffle_item_ids(gen);
    *out = gen;
    return SR_OK;
}

uint64_t replay_synthetic_memory(const replay_synthetic *gen) {
    return sizeof *gen + (uint64_t)gen->items * sizeof *gen->item_ids +
           gen->users * sizeof *gen->state;
}

void replay_synthetic_free(replay_synthetic *gen) {
    if (!gen) return;
    free(gen->item_ids);
    free(gen->state);
    free(gen);
}
