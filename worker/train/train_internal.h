/*
 * train_internal.h — the training-only layers (losses, sampler, optimiser) and
 * the trainer's chunk step, shared by worker/train and its tests.
 */
#ifndef SR_TRAIN_INTERNAL_H
#define SR_TRAIN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "model/model_internal.h"
#include "sr_train.h"

/* ---- loss.c ---- */

#define SR_LOSS_MAX_BLOCK 4096u  /* block_rows is capped at this */

/* Floats of scratch the two losses need for blocks of block_rows rows. */
size_t softmax_ce_scratch_floats(size_t block_rows, size_t V, size_t E);
size_t sampled_softmax_scratch_floats(size_t block_rows, size_t S, size_t E);

/* Full softmax cross-entropy of N rows of u (N x E) over all V rows of
 * out_embed, against targets (N; < 0 = no loss). Computed in blocks of at most
 * block_rows valid rows: scores of a block (block_rows x V) by one GEMM,
 * log-softmax, P - Y, then dU = (P - Y) out_embed and d_out_embed += (P - Y)^T U:
 * never N x V at once. Returns the summed loss (double). du (N x E) is
 * overwritten with scale * dLoss/du (0 on masked rows); d_out_embed (V x E) and
 * d_out_bias (V) accumulate scale * theirs. du == NULL: loss only. */
double softmax_ce_forward_backward(float *du, float *d_out_embed, float *d_out_bias,
                                   const float *u, const int32_t *targets,
                                   const float *out_embed, const float *out_bias, size_t N,
                                   size_t E, size_t V, float scale, float *scratch,
                                   size_t block_rows);

/* Sampled softmax over each row's target and S negatives shared by all rows
 * (neg, rows of out_embed), with the logQ correction: every logit has
 * log(S q_j) subtracted, q the sampling distribution (V). A negative equal to
 * the row's target is left out of that row. Same conventions as above. */
double sampled_softmax_forward_backward(float *du, float *d_out_embed, float *d_out_bias,
                                        const float *u, const int32_t *targets,
                                        const float *out_embed, const float *out_bias,
                                        const int32_t *neg, size_t S, const float *q, size_t N,
                                        size_t E, float scale, float *scratch,
                                        size_t block_rows);

/* ---- sampler.c: Walker's alias method ---- */

typedef struct sr_alias_table {
    size_t n;
    float *prob;       /* n: probability of keeping column i */
    uint32_t *alias;   /* n */
    float *p;          /* n: the distribution itself (for logQ) */
} sr_alias_table;

/* Table for p_i proportional to (counts[i] + 1)^alpha. */
sr_status sr_alias_build(sr_alias_table *table, const uint32_t *counts, size_t n, double alpha,
                         sr_error *err);
uint32_t sr_alias_sample(const sr_alias_table *table, sr_rng *rng);
void sr_alias_free(sr_alias_table *table);

/* ---- optimizer.c ---- */

/* Global L2 norm of g (n floats), in double. */
double grad_norm(const float *g, size_t n);
/* One bias-corrected Adam step (step >= 1) with decoupled weight decay (AdamW)
 * on p from the gradient grad_scale * g, m and v the moments; leaves g zeroed. */
void adam_update(float *p, float *g, float *m, float *v, size_t n, float grad_scale, float lr,
                 float beta1, float beta2, float eps, float weight_decay, uint64_t step);


/* ---- chunk.c: the whole model over one chunk of B sequences x L steps ---- */

/* The state carried between chunks of a batch, detached from the gradient. */
typedef struct train_carry {
    float *h;              /* B x H */
    int32_t *hist_rows;    /* (T-1) x B: rows of the T-1 steps before the chunk, < 0 = none */
    float *hist_states;    /* (T-1) x B x H: hidden attention's states of those steps */
    uint8_t *hist_valid;   /* (T-1) x B */
} train_carry;

typedef struct train_chunk {
    size_t B, L;
    const int32_t *rows;     /* L x B input rows, < 0 = padding */
    const uint8_t *types;    /* L x B */
    const int32_t *targets;  /* L x B target rows, < 0 = no loss */
    uint64_t dropout_seed;
    int train;               /* dropout on (1) or off (0) */
} train_chunk;

/* Activations and their gradients for chunks of up to max_B x max_L. */
typedef struct train_buffers {
    size_t max_B, max_L;
    float *x, *x_mask;       /* N x E */
    float *xg, *d_xg;        /* N x G*H */
    float *hs, *d_hs, *rh;   /* N x H */
    float *d_h0;             /* B x H */
    float *q, *d_q, *c;      /* N x K */
    float *keys, *d_keys;    /* P x B x K */
    uint8_t *key_valid;      /* P x B */
    int32_t *key_rows;       /* P x B */
    float *alpha;            /* N x T */
    float *hc, *hc_mask, *d_hc; /* N x (H + K) */
    float *u, *d_u;          /* N x E */
    float *tmp;              /* N x max(E, H) */
    float *loss_scratch;
    size_t loss_scratch_floats;
} train_buffers;

struct sr_trainer {
    sr_train_config config;
    sr_model_config model_config;
    size_t param_count;
    float *grad, *adam_m, *adam_v;
    sr_model_tensors g;      /* views into grad */
    uint64_t step;           /* optimiser steps so far */
    uint32_t epoch;
    train_buffers buf;
    train_carry carry;
    /* sampled softmax */
    sr_alias_table sampler;
    int32_t *negatives;
    /* batch assembly */
    int32_t *batch_rows, *batch_targets;   /* max_length x B, time-major */
    uint8_t *batch_types;
    size_t *order, *order_tmp;             /* users */
    size_t order_capacity;
    size_t bytes;
};

sr_status train_buffers_init(train_buffers *buf, const sr_model_config *mc,
                             const sr_train_config *tc, size_t max_B, size_t max_L,
                             size_t *bytes, sr_error *err);
void train_buffers_free(train_buffers *buf);
sr_status train_carry_init(train_carry *carry, const sr_model_config *mc, size_t max_B,
                           size_t *bytes, sr_error *err);
void train_carry_free(train_carry *carry);
/* Zero state, empty window, for B sequences. */
void train_carry_reset(train_carry *carry, const sr_model_config *mc, size_t B);

/* Runs the model over a chunk from carry: returns the summed loss over the
 * steps with a target (their number in *count). With grads (a block laid out
 * like the parameters) it also back-propagates, ACCUMULATING into grads the
 * gradient of (summed loss) * scale, where scale = 1 / *count unless
 * loss_scale > 0 gives it. With advance, carry moves to the chunk's end.
 * Sampled softmax uses negatives[S] and q when S > 0, else the full softmax. */
double train_chunk_run(train_buffers *buf, train_carry *carry, const sr_model *model,
                       const sr_train_config *tc, const train_chunk *chunk, float *grads,
                       float loss_scale, const int32_t *negatives, size_t S, const float *q,
                       size_t *count, int advance);

/* ---- sequence_batch.c: users into padded, time-major batches ---- */

/* The span of user u's training events a trainer uses: the last max_length. */
void sequence_span(const sr_dataset *data, size_t u, uint32_t max_length, size_t *begin,
                   size_t *end);
/* Users with >= 2 training events, shuffled with rng, then stably sorted by span
 * length (counting sort), into order; returns their number. tmp: user_count. */
size_t sequence_order(size_t *order, size_t *tmp, const sr_dataset *data, uint32_t max_length,
                      sr_rng *rng);
/* Fills rows/types/targets (steps x B, time-major; padding -1) for the B users
 * and returns steps = the longest span - 1. */
size_t sequence_batch_fill(int32_t *rows, uint8_t *types, int32_t *targets,
                           const sr_dataset *data, const size_t *users, size_t B,
                           uint32_t max_length);

#endif
