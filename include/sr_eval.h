/*
 * sr_eval.h — offline evaluation of next-item recommendation with the
 * leave-one-out protocols the literature publishes numbers for
 * (shared/data/<name>/README.md), so our figures sit next to published tables.
 *
 *     sr_eval_options options;
 *     sr_eval_options_init(&options);              // full ranking, test split
 *     sr_eval_popularity pop;
 *     sr_eval_popularity_init(&pop, &data, options.split, 0, &err);
 *     sr_eval_metrics m;
 *     sr_eval_run(&data, &options, sr_eval_popularity_scorer, &pop, &m, &err);
 *     printf("HR@10 %.4f NDCG@10 %.4f over %zu users\n", m.hr10, m.ndcg10, m.users);
 *
 * Users: those with >= 3 events (sr_dataset_evaluated). Split SR_SPLIT_TEST
 * ranks event n-1 given events 0..n-2; SR_SPLIT_VALID ranks event n-2 given
 * events 0..n-3.
 *
 * Protocols:
 *   full     the target is ranked against every catalogue item except the items
 *            of the user's history (the events given to the scorer), which are
 *            removed from the ranking (not scored 0, as S3-Rec's code does: a
 *            masked item can never outrank the target). The target itself is
 *            never removed, even when it repeats a history item (Yelp): the
 *            README's "all but the target" read literally.
 *   sampled  the target is ranked against a fixed list of negatives per user
 *            (sr_eval_negatives: drawn, or read from a file such as
 *            LastFM_sample.txt); negatives are never items of the user's whole
 *            sequence.
 *
 * Rank = number of candidates scored strictly above the target, plus, for
 * ties, either all tied candidates (SR_EVAL_TIES_PESSIMISTIC, the default: a
 * tie never helps the target) or the expectation over a uniformly random order
 * of the tied candidates (SR_EVAL_TIES_EXPECTED, which is what sorting code with
 * arbitrary tie order, as in the papers' code, gives on average). A NaN target
 * score ranks last; a NaN candidate counts as a tie (so a tie, or a NaN, never
 * helps the target under the pessimistic rule).
 * Metrics from a 0-based rank r: HR@k = [r < k]; NDCG@k = [r < k] / log2(r + 2)
 * (one relevant item, so IDCG = 1); MRR = 1 / (r + 1) over the whole candidate
 * list (all items for full ranking, target + negatives for sampled).
 *
 * The scorer is abstract: it gets a batch of users' histories and fills one
 * full score row (every catalogue row of the dataset's vocabulary) per user;
 * higher is better. A popularity baseline and the model's scorer are below.
 * Evaluation is single-threaded and deterministic; the scorer may use threads.
 */
#ifndef SR_EVAL_H
#define SR_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "sr_dataset.h"
#include "sr_error.h"
#include "sr_vocab.h"

/* One user to score: the history the model sees, oldest first. */
typedef struct sr_eval_query {
    size_t user;             /* index in the dataset */
    int64_t user_id;
    const int32_t *rows;     /* history item rows (dataset vocabulary rows) */
    const uint8_t *types;    /* history event types (sr_event_type) */
    size_t length;           /* history length, >= 1 */
} sr_eval_query;

/* Fills scores[b * V + r] for b < batch and every row r < V (V = the dataset's
 * vocabulary size). A failure stops the evaluation and is passed on. */
typedef sr_status sr_eval_scorer(void *context, size_t batch, const sr_eval_query *queries,
                                 float *scores, sr_error *err);

typedef enum sr_eval_protocol { SR_EVAL_FULL, SR_EVAL_SAMPLED } sr_eval_protocol;
typedef enum sr_eval_sampler { SR_EVAL_SAMPLER_UNIFORM, SR_EVAL_SAMPLER_POPULARITY } sr_eval_sampler;
typedef enum sr_eval_ties { SR_EVAL_TIES_PESSIMISTIC, SR_EVAL_TIES_EXPECTED } sr_eval_ties;

/* "full"/"sampled", "uniform"/"popularity", "pessimistic"/"expected"; -1 if unknown. */
int sr_eval_protocol_parse(const char *name);
int sr_eval_sampler_parse(const char *name);
int sr_eval_ties_parse(const char *name);
const char *sr_eval_protocol_name(sr_eval_protocol protocol);
const char *sr_eval_sampler_name(sr_eval_sampler sampler);
const char *sr_eval_ties_name(sr_eval_ties ties);

/* ---- Negatives for the sampled protocol ---- */

/* Per dataset user u, the negatives rows[offsets[u] .. offsets[u+1]). */
typedef struct sr_eval_negatives {
    size_t user_count;       /* == the dataset's user_count */
    size_t *offsets;         /* user_count + 1 */
    int32_t *rows;
    size_t short_users;      /* users that got fewer than asked (too few items left) */
} sr_eval_negatives;

/* Draws per_user distinct negatives for every evaluated user from the items not
 * in the user's whole sequence: uniformly, or in proportion to each item's
 * occurrences in the whole dataset (all events, as BERT4Rec's generator counts).
 * A user's draw depends only on (seed, user id), so it is the same whatever the
 * other users are. A user with fewer than per_user items left gets them all
 * (counted in short_users). SR_ERR_INVALID_ARG for per_user 0. */
sr_status sr_eval_negatives_sample(const sr_dataset *data, size_t per_user, sr_eval_sampler sampler,
                                   uint64_t seed, sr_eval_negatives *out, sr_error *err);

/* Reads a negatives file: one line per user, "user_id neg_1 ... neg_k" (ids
 * separated by spaces or tabs, k >= 1; S3-Rec's <name>_sample.txt has k = 99).
 * SR_ERR_PARSE "<path>:<line>: <reason>" for a malformed id, a line without
 * negatives, a user not in the dataset or given twice, an item not in the
 * catalogue, an item the user interacted with, or a repeated negative;
 * SR_ERR_NOT_FOUND when an evaluated user has no line; SR_ERR_IO. */
sr_status sr_eval_negatives_load(const char *path, const sr_dataset *data,
                                 sr_eval_negatives *out, sr_error *err);

void sr_eval_negatives_free(sr_eval_negatives *negatives);

/* ---- Ranks and metrics ---- */

typedef struct sr_eval_rank {
    uint32_t greater;        /* candidates scored strictly above the target */
    uint32_t ties;           /* candidates scored equal to the target */
    uint32_t candidates;     /* candidates ranked against the target (target excluded) */
} sr_eval_rank;

/* Full ranking: the target against every row r < count, r != target, with
 * masked[r] == 0 (masked[target] is ignored; masked may be NULL). */
sr_eval_rank sr_eval_rank_full(const float *scores, uint32_t count, int32_t target,
                               const uint8_t *masked);

/* Sampled: the target against scores[negatives[i]], i < n. */
sr_eval_rank sr_eval_rank_sampled(const float *scores, int32_t target, const int32_t *negatives,
                                  size_t n);

typedef struct sr_eval_metrics {
    size_t users;
    double hr1, hr5, hr10, hr20;
    double ndcg5, ndcg10, ndcg20;
    double mrr;
    double candidates;       /* mean number of candidates per target */
} sr_eval_metrics;

/* Adds one user's metrics for rank to the sums in m (users += 1). */
void sr_eval_metrics_add(sr_eval_metrics *m, sr_eval_rank rank, sr_eval_ties ties);

/* Turns sums into means (no-op for 0 users). */
void sr_eval_metrics_finish(sr_eval_metrics *m);

/* ---- Running an evaluation ---- */

typedef struct sr_eval_options {
    sr_eval_protocol protocol;
    sr_split_part split;                 /* SR_SPLIT_TEST or SR_SPLIT_VALID */
    sr_eval_ties ties;
    size_t batch;                        /* users per scorer call */
    const sr_eval_negatives *negatives;  /* required for SR_EVAL_SAMPLED */
    /* Full ranking as S3-Rec's code does it: a target that repeats an item of
     * the history is masked with it, so it always counts as a miss (Yelp has
     * such targets; the other shared files have none). Off by default. */
    int mask_repeated_target;
} sr_eval_options;

/* Full ranking, test split, pessimistic ties, batches of 256. */
void sr_eval_options_init(sr_eval_options *options);

/* Evaluates every evaluated user of data with scorer; *out holds the means.
 * SR_ERR_INVALID_ARG for bad options; the scorer's failure, wrapped; SR_ERR_NOMEM
 * (the score buffer is batch x V floats). */
sr_status sr_eval_run(const sr_dataset *data, const sr_eval_options *options,
                      sr_eval_scorer *scorer, void *scorer_context, sr_eval_metrics *out,
                      sr_error *err);

/* ---- Scorers ---- */

/* PopRec: score(item) = its occurrences among the events a model may know when
 * the split is evaluated, whatever the history: for SR_SPLIT_VALID the
 * training events (data->item_counts), for SR_SPLIT_TEST the training events
 * plus every validation target (each user's events before its test target;
 * this reproduces S3-Rec's published PopRec full-ranking figures, e.g. LastFM
 * HR@10 0.0440). Test targets are never counted, unless whole_file: then
 * every event of the file counts (test targets included: a leak, but it is
 * what S3-Rec's sampled PopRec figures match, e.g. LastFM HR@1 0.0720 against
 * the published 0.0725 on the shipped negatives; for comparison only). */
typedef struct sr_eval_popularity {
    uint32_t count;          /* the dataset's vocabulary size */
    float *scores;           /* count */
} sr_eval_popularity;

sr_status sr_eval_popularity_init(sr_eval_popularity *pop, const sr_dataset *data,
                                  sr_split_part split, int whole_file, sr_error *err);
void sr_eval_popularity_free(sr_eval_popularity *pop);
/* An sr_eval_scorer; context: the sr_eval_popularity. */
sr_status sr_eval_popularity_scorer(void *context, size_t batch, const sr_eval_query *queries,
                                    float *scores, sr_error *err);

/* The model's scorer (worker/eval/model_scorer.c): runs each user's history
 * through the model's serving path, exactly the worker's calls
 * (sr_model_step_batch one event at a time, sr_model_user_vectors,
 * sr_model_score), and maps the model's rows onto the dataset's catalogue by
 * item id: an item the model does not know scores -INFINITY (a target the model
 * cannot know counts as a miss); history events of unknown items are skipped
 * (counted in unknown_events). */
struct sr_model;
typedef struct sr_eval_model_scorer sr_eval_model_scorer;

sr_status sr_eval_model_scorer_new(const struct sr_model *model, const sr_vocab *catalogue,
                                   size_t max_batch, sr_eval_model_scorer **out, sr_error *err);
/* An sr_eval_scorer; context: the sr_eval_model_scorer. batch <= max_batch. */
sr_status sr_eval_model_score(void *context, size_t batch, const sr_eval_query *queries,
                              float *scores, sr_error *err);
/* History events skipped so far because the model does not know their item, and
 * catalogue items the model does not know. */
uint64_t sr_eval_model_scorer_unknown_events(const sr_eval_model_scorer *scorer);
uint32_t sr_eval_model_scorer_unknown_items(const sr_eval_model_scorer *scorer);
void sr_eval_model_scorer_free(sr_eval_model_scorer *scorer);

#endif
