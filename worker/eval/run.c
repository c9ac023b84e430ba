/*
 * run.c — one evaluation pass (sr_eval_run) and the popularity baseline.
 *
 * The pass walks the evaluated users in dataset order, gathers `batch` of them
 * into queries (history = the first n - 2 or n - 1 events), asks the scorer for
 * their full score rows, and ranks each target: against every catalogue item
 * minus the history (full), or against the user's negatives (sampled). The
 * history mask is one byte per item, set for a user's history rows and cleared
 * again after ranking, so each user costs O(V + history).
 */
#include <stdlib.h>
#include <string.h>

#include "sr_eval.h"

void sr_eval_options_init(sr_eval_options *options) {
    *options = (sr_eval_options){
        .protocol = SR_EVAL_FULL,
        .split = SR_SPLIT_TEST,
        .ties = SR_EVAL_TIES_PESSIMISTIC,
        .batch = 256,
        .negatives = NULL,
    };
}

static sr_status check_options(const sr_dataset *data, const sr_eval_options *o, sr_error *err) {
    if (o->split != SR_SPLIT_TEST && o->split != SR_SPLIT_VALID)
        return sr_fail(err, SR_ERR_INVALID_ARG, "eval: the split must be test or valid");
    if (o->protocol != SR_EVAL_FULL && o->protocol != SR_EVAL_SAMPLED)
        return sr_fail(err, SR_ERR_INVALID_ARG, "eval: unknown protocol %d", (int)o->protocol);
    if (o->ties != SR_EVAL_TIES_PESSIMISTIC && o->ties != SR_EVAL_TIES_EXPECTED)
        return sr_fail(err, SR_ERR_INVALID_ARG, "eval: unknown tie rule %d", (int)o->ties);
    if (o->batch == 0 || o->batch > SIZE_MAX / sizeof(float) / (data->vocab.count + 1u))
        return sr_fail(err, SR_ERR_INVALID_ARG, "eval: batch %zu is out of range", o->batch);
    if (o->protocol == SR_EVAL_SAMPLED &&
        (!o->negatives || o->negatives->user_count != data->user_count))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "eval: the sampled protocol needs negatives for this dataset's users");
    return SR_OK;
}

/* The event index of user u's target in this split (the history ends there). */
static size_t target_event(const sr_dataset *data, size_t u, sr_split_part split) {
    return data->offsets[u + 1] - (split == SR_SPLIT_TEST ? 1 : 2);
}

/* Ranks the targets of a scored batch into m. */
static void rank_batch(const sr_dataset *data, const sr_eval_options *o, const sr_eval_query *q,
                       size_t batch, const float *scores, uint8_t *mask, sr_eval_metrics *m) {
    uint32_t count = data->vocab.count;
    for (size_t b = 0; b < batch; b++) {
        const float *row_scores = scores + b * (size_t)count;
        int32_t target = data->rows[target_event(data, q[b].user, o->split)];
        sr_eval_rank rank;
        if (o->protocol == SR_EVAL_FULL) {
            for (size_t i = 0; i < q[b].length; i++) mask[q[b].rows[i]] = 1;
            rank = sr_eval_rank_full(row_scores, count, target, mask);
            /* S3-Rec's code masks the whole history, a repeated target too. */
            if (o->mask_repeated_target && mask[target]) rank.greater = rank.candidates;
            for (size_t i = 0; i < q[b].length; i++) mask[q[b].rows[i]] = 0;
        } else {
            const sr_eval_negatives *neg = o->negatives;
            size_t from = neg->offsets[q[b].user];
            rank = sr_eval_rank_sampled(row_scores, target, neg->rows + from,
                                        neg->offsets[q[b].user + 1] - from);
        }
        sr_eval_metrics_add(m, rank, o->ties);
    }
}

sr_status sr_eval_run(const sr_dataset *data, const sr_eval_options *options,
                      sr_eval_scorer *scorer, void *scorer_context, sr_eval_metrics *out,
                      sr_error *err) {
    memset(out, 0, sizeof *out);
    sr_status s = check_options(data, options, err);
    if (s != SR_OK) return s;
    size_t batch = options->batch, count = data->vocab.count;
    float *scores = malloc(batch * (count ? count : 1) * sizeof *scores);
    uint8_t *mask = calloc(count ? count : 1, 1);
    sr_eval_query *queries = malloc(batch * sizeof *queries);
    if (!scores || !mask || !queries)
        s = sr_fail(err, SR_ERR_NOMEM, "eval: no memory for %zu x %zu scores", batch, count);
    size_t filled = 0;
    for (size_t u = 0; s == SR_OK && u <= data->user_count; u++) {
        int last = u == data->user_count;
        if (!last && sr_dataset_evaluated(data, u)) {
            size_t start = data->offsets[u];
            queries[filled++] = (sr_eval_query){
                .user = u,
                .user_id = data->user_ids[u],
                .rows = data->rows + start,
                .types = data->types + start,
                .length = target_event(data, u, options->split) - start,
            };
        }
        if (filled == batch || (last && filled > 0)) {
            s = scorer(scorer_context, filled, queries, scores, err);
            if (s != SR_OK) {
                s = sr_error_wrap(err, s, "eval: scoring users %lld..%lld",
                                  (long long)queries[0].user_id,
                                  (long long)queries[filled - 1].user_id);
                break;
            }
            rank_batch(data, options, queries, filled, scores, mask, out);
            filled = 0;
        }
    }
    free(scores);
    free(mask);
    free(queries);
    if (s == SR_OK) sr_eval_metrics_finish(out);
    return s;
}

sr_status sr_eval_popularity_init(sr_eval_popularity *pop, const sr_dataset *data,
                                  sr_split_part split, int whole_file, sr_error *err) {
    uint32_t count = data->vocab.count;
    pop->count = count;
    pop->scores = malloc((count ? count : 1) * sizeof *pop->scores);
    if (!pop->scores) return sr_fail(err, SR_ERR_NOMEM, "popularity: no memory for %u items", count);
    for (uint32_t r = 0; r < count; r++) pop->scores[r] = (float)data->item_counts[r];
    if (split == SR_SPLIT_TEST) /* the validation targets are known at test time */
        for (size_t u = 0; u < data->user_count; u++)
            if (sr_dataset_evaluated(data, u)) pop->scores[data->rows[data->offsets[u + 1] - 2]] += 1;
    if (whole_file) {
        memset(pop->scores, 0, (count ? count : 1) * sizeof *pop->scores);
        for (size_t e = 0; e < data->event_count; e++) pop->scores[data->rows[e]] += 1;
    }
    return SR_OK;
}

void sr_eval_popularity_free(sr_eval_popularity *pop) {
    if (!pop) return;
    free(pop->scores);
    pop->scores = NULL;
    pop->count = 0;
}

sr_status sr_eval_popularity_scorer(void *context, size_t batch, const sr_eval_query *queries,
                                    float *scores, sr_error *err) {
    (void)queries;
    (void)err;
    const sr_eval_popularity *pop = context;
    for (size_t b = 0; b < batch; b++)
        memcpy(scores + b * (size_t)pop->count, pop->scores, pop->count * sizeof *scores);
    return SR_OK;
}
