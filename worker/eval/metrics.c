/*
 * metrics.c — ranks of a target among candidates, and HR@k / NDCG@k / MRR from
 * them (definitions in sr_eval.h).
 *
 * With expected ties the target's 0-based position is uniform over
 * greater .. greater + ties, and each metric is averaged over those ties + 1
 * positions exactly: HR@k counts the positions below k, NDCG@k sums
 * 1 / log2(p + 2) over them, MRR is (H(g + t + 1) - H(g)) / (t + 1) with H the
 * harmonic numbers.
 */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "sr_eval.h"

static const char *const protocol_names[] = {"full", "sampled"};
static const char *const sampler_names[] = {"uniform", "popularity"};
static const char *const ties_names[] = {"pessimistic", "expected"};

static int parse_name(const char *name, const char *const *names, int count) {
    for (int i = 0; i < count; i++)
        if (strcasecmp(name, names[i]) == 0) return i;
    return -1;
}

int sr_eval_protocol_parse(const char *name) { return parse_name(name, protocol_names, 2); }
int sr_eval_sampler_parse(const char *name) { return parse_name(name, sampler_names, 2); }
int sr_eval_ties_parse(const char *name) { return parse_name(name, ties_names, 2); }

const char *sr_eval_protocol_name(sr_eval_protocol p) {
    return (unsigned)p < 2 ? protocol_names[p] : "unknown";
}
const char *sr_eval_sampler_name(sr_eval_sampler s) {
    return (unsigned)s < 2 ? sampler_names[s] : "unknown";
}
const char *sr_eval_ties_name(sr_eval_ties t) {
    return (unsigned)t < 2 ? ties_names[t] : "unknown";
}

/* Counts one candidate score against the target's. A NaN candidate is
 * unordered against the target, so it counts as a tie: pessimistic ties put it
 * ahead, and a model that emits NaN can never gain from it. */
static void count_candidate(sr_eval_rank *rank, float score, float target) {
    rank->candidates++;
    if (score > target) rank->greater++;
    else if (score == target || isnan(score)) rank->ties++;
}

/* A NaN target ranks behind every candidate. */
static sr_eval_rank nan_target(sr_eval_rank rank) {
    rank.greater = rank.candidates;
    rank.ties = 0;
    return rank;
}

sr_eval_rank sr_eval_rank_full(const float *scores, uint32_t count, int32_t target,
                               const uint8_t *masked) {
    sr_eval_rank rank = {0, 0, 0};
    float t = scores[target];
    for (uint32_t r = 0; r < count; r++) {
        if ((int32_t)r == target || (masked && masked[r])) continue;
        count_candidate(&rank, scores[r], t);
    }
    return isnan(t) ? nan_target(rank) : rank;
}

sr_eval_rank sr_eval_rank_sampled(const float *scores, int32_t target, const int32_t *negatives,
                                  size_t n) {
    sr_eval_rank rank = {0, 0, 0};
    float t = scores[target];
    for (size_t i = 0; i < n; i++) count_candidate(&rank, scores[negatives[i]], t);
    return isnan(t) ? nan_target(rank) : rank;
}

/* H(n) = 1 + 1/2 + ... + 1/n: summed below 64, else the asymptotic series
 * (error below 1e-15 there). */
static double harmonic(uint64_t n) {
    if (n < 64) {
        double sum = 0;
        for (uint64_t i = n; i >= 1; i--) sum += 1.0 / (double)i;
        return sum;
    }
    double x = (double)n, x2 = x * x;
    return log(x) + 0.57721566490153286061 + 1 / (2 * x) - 1 / (12 * x2) + 1 / (120 * x2 * x2);
}

/* Metrics of the positions first .. last (inclusive), averaged. */
static void add_positions(sr_eval_metrics *m, uint64_t first, uint64_t last) {
    static const unsigned cut[] = {1, 5, 10, 20};
    double n = (double)(last - first + 1);
    double hr[4] = {0}, ndcg[4] = {0};
    for (uint64_t p = first; p <= last && p < 20; p++) {
        double gain = 1 / log2((double)p + 2);
        for (int k = 0; k < 4; k++)
            if (p < cut[k]) {
                hr[k] += 1;
                ndcg[k] += gain;
            }
    }
    m->hr1 += hr[0] / n;
    m->hr5 += hr[1] / n;
    m->hr10 += hr[2] / n;
    m->hr20 += hr[3] / n;
    m->ndcg5 += ndcg[1] / n;
    m->ndcg10 += ndcg[2] / n;
    m->ndcg20 += ndcg[3] / n;
    m->mrr += first == last ? 1 / ((double)first + 1) : (harmonic(last + 1) - harmonic(first)) / n;
}

void sr_eval_metrics_add(sr_eval_metrics *m, sr_eval_rank rank, sr_eval_ties ties) {
    uint64_t last = (uint64_t)rank.greater + rank.ties;
    add_positions(m, ties == SR_EVAL_TIES_EXPECTED ? rank.greater : last, last);
    m->candidates += rank.candidates;
    m->users++;
}

void sr_eval_metrics_finish(sr_eval_metrics *m) {
    if (m->users == 0) return;
    double n = (double)m->users;
    m->hr1 /= n;
    m->hr5 /= n;
    m->hr10 /= n;
    m->hr20 /= n;
    m->ndcg5 /= n;
    m->ndcg10 /= n;
    m->ndcg20 /= n;
    m->mrr /= n;
    m->candidates /= n;
}
