/*
 * sr_model.h — the recommendation model (DESIGN.md, "The model"), with no Kafka
 * in it: the worker and the trainer's evaluation call the same forward code.
 *
 *   x_t = item_embed[item] + type_embed[type]
 *   h_t = GRU(h_{t-1}, x_t)                  (or the Elman cell, an option)
 *   c_t = attention over the user's last T steps, queried by h_t
 *   u_t = out_w [h_t ; c_t] + out_b          (the user vector, E floats)
 *   score(i) = out_embed[i] . u_t + out_bias[i]   for every row i (one GEMM)
 *
 * Serving, for B users at once:
 *
 *     sr_model_step_batch(model, B, rows, types, states, ws);     // one event each
 *     sr_model_user_vectors(model, B, states, u, ws);             // B x E
 *     sr_model_score(model, B, u, scores);                        // B x V
 *     n = sr_topn(scores_of_user, V, exclude, exclude_count, N, top);
 *
 * Rows are vocabulary rows (sr_vocab.h); the caller maps ids and handles the
 * unknown ones before calling in. All parameters live in one contiguous float
 * array (model->data), so that gradients, optimiser moments and the model file
 * treat them as one vector; model->t names the tensors inside it.
 */
#ifndef SR_MODEL_H
#define SR_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"
#include "sr_event.h"
#include "sr_vocab.h"

typedef enum sr_cell_kind { SR_CELL_GRU = 0, SR_CELL_ELMAN = 1 } sr_cell_kind;

/* What attention looks at: nothing, the last T item embeddings (keys = values =
 * item_embed rows; per user only T rows are kept), or the last T hidden states
 * (NARM-style; per user T x H floats are kept). */
typedef enum sr_attention_kind {
    SR_ATTENTION_NONE = 0,
    SR_ATTENTION_ITEMS = 1,
    SR_ATTENTION_HIDDEN = 2,
} sr_attention_kind;

typedef struct sr_model_config {
    uint32_t item_count;      /* V: rows of the item tables = vocabulary size */
    uint32_t embed_dim;       /* E */
    uint32_t hidden_dim;      /* H */
    uint32_t window;          /* T: recent steps attention looks at, >= 1 */
    sr_cell_kind cell;
    sr_attention_kind attention;
    int tied_embeddings;      /* out_embed is item_embed */
} sr_model_config;

/* The parameter tensors: views into model->data, row-major. G = 3 for the GRU
 * (update, reset, candidate gates stacked in that order), 1 for Elman; K = E for
 * item attention, H for hidden attention, 0 without attention. */
typedef struct sr_model_tensors {
    float *item_embed;   /* V x E */
    float *type_embed;   /* SR_EVENT_TYPE_COUNT x E */
    float *cell_w;       /* G*H x E */
    float *cell_u;       /* G*H x H */
    float *cell_b;       /* G*H */
    float *attn_query;   /* K x H: the query is attn_query h_t (NULL without attention) */
    float *out_w;        /* E x (H + K) */
    float *out_b;        /* E */
    float *out_embed;    /* V x E; == item_embed when tied */
    float *out_bias;     /* V */
} sr_model_tensors;

/* The arithmetic of the serving step's recurrent products (the h side of the
 * gates). fp32: float, as training computes them. bf16x3: on the AMX tile
 * unit, each operand split into two bfloat16 parts (relative error about
 * 1e-5); it needs AMX (sr_model_prepare_step_table keeps fp32 without it). */
typedef enum { SR_STEP_FP32 = 0, SR_STEP_BF16X3 } sr_step_precision;
/* The precision a name ("fp32", "bf16x3") stands for, or -1. */
int sr_step_precision_parse(const char *name);
const char *sr_step_precision_name(sr_step_precision precision);

typedef struct sr_model {
    sr_model_config config;
    int64_t version;          /* set by the trainer when it publishes */
    sr_vocab vocab;           /* vocab.count == config.item_count */
    float *data;              /* every parameter, contiguous */
    size_t param_count;
    sr_model_tensors t;
    /* Serving only (sr_model_prepare_step_table): the input side of every gate
     * precomputed, so a step needs no x-side GEMM. NULL when not built. */
    float *step_item_table;   /* item_count x G*H: W_x e_item */
    float *step_type_table;   /* SR_EVENT_TYPE_COUNT x G*H: W_x e_type + b_x */
    float *step_u_t;          /* H x G*H: U transposed, for the in-place step (or NULL) */
    struct gemm_amx_weights *step_u_bf16; /* U packed for the AMX step (or NULL) */
} sr_model;

/* Checks a configuration (non-zero sizes, limits); SR_ERR_CONFIG names the field. */
sr_status sr_model_config_check(const sr_model_config *config, sr_error *err);

/* A model with zeroed parameters and an empty vocabulary. */
sr_status sr_model_new(const sr_model_config *config, sr_model **out, sr_error *err);

/* Lays out the tensor views of a parameter block of sr_model_param_count floats
 * (also used for gradient and optimiser blocks of the same shape). */
size_t sr_model_param_count(const sr_model_config *config);
void sr_model_tensors_layout(const sr_model_config *config, float *block, sr_model_tensors *t);

/* Deterministic initialisation for a seed. */
void sr_model_init_random(sr_model *model, uint64_t seed);

void sr_model_free(sr_model *model);

/* ---- Serving: per-user state and batched forward ---- */

/* A user's state as the model sees it. The caller owns the memory (the worker's
 * state store); sr_model_state_floats says how many floats `hidden` needs. */
typedef struct sr_user_state_view {
    float *hidden;          /* H floats, then (hidden attention) T x H window states */
    int32_t *recent_rows;   /* T item rows, a ring: the newest at (recent_head - 1) mod T */
    uint8_t *recent_types;  /* T event types, same ring */
    uint32_t recent_count;  /* valid entries, <= T */
    uint32_t recent_head;   /* next write position in the ring */
} sr_user_state_view;

size_t sr_model_state_floats(const sr_model_config *config);

/* Scratch memory for batched forward passes, sized for up to max_batch users. */
typedef struct sr_model_workspace sr_model_workspace;
sr_status sr_model_workspace_new(const sr_model_config *config, size_t max_batch,
                                 sr_model_workspace **out, sr_error *err);
void sr_model_workspace_free(sr_model_workspace *ws);

/* Prepares a model for serving steps. Precomputes the x side of the cell's
 * gates for every item and event type (W_x (e_item + e_type) + b_x is
 * linear), which turns a step's input GEMM into two row reads: item_count x
 * G x H floats, built only if that is at most max_bytes (else the step keeps
 * its GEMM; 0 = never build). And, on CPUs with AVX-512 and H a multiple of
 * 16, packs U for the in-place h side (gemm_rows.c); with a bf16 precision
 * on a CPU with AMX (and H a multiple of 32), packs it in bfloat16 for
 * gemm_rows_amx.c instead: sr_model_step_precision says which one runs. One
 * GEMM; for a model that serves and no longer trains: after this call its
 * parameters must not change (sr_model_step_batch would use stale copies).
 * Idempotent; fails with SR_ERR_NOMEM only. */
sr_status sr_model_prepare_step_table(sr_model *model, size_t max_bytes,
                                      sr_step_precision precision, sr_error *err);
/* What the prepared step's recurrent products run in. */
sr_step_precision sr_model_step_precision(const sr_model *model);

/* Steps B users by one event each (rows[b], types[b]): updates each hidden state
 * and pushes the event into the user's recent ring. B <= the workspace's batch.
 * A user must appear at most once per call (the caller orders a user's events
 * into successive calls). */
void sr_model_step_batch(const sr_model *model, size_t batch, const int32_t *rows,
                         const uint8_t *types, sr_user_state_view *const *states,
                         sr_model_workspace *ws);

/* The user vectors u (B x E) of B users from their current states. */
void sr_model_user_vectors(const sr_model *model, size_t batch,
                           sr_user_state_view *const *states, float *user_vectors,
                           sr_model_workspace *ws);

/* scores (B x V) = user_vectors (B x E) . out_embed^T + out_bias: one GEMM. */
void sr_model_score(const sr_model *model, size_t batch, const float *user_vectors,
                    float *scores);

/* The user vectors (B x E) of B users from their histories alone (rows[b],
 * types[b], lengths[b] events, oldest first; types may be NULL for all VIEW),
 * computed by the serving step code above from empty states, so they equal
 * what the worker would hold after stepping the same events one by one. For
 * offline evaluation. Fails with SR_ERR_INVALID_ARG on a row outside the model,
 * SR_ERR_NOMEM. */
sr_status sr_model_sequence_user_vectors(const sr_model *model, size_t batch,
                                         const int32_t *const *rows,
                                         const uint8_t *const *types, const size_t *lengths,
                                         float *user_vectors, sr_model_workspace *ws,
                                         sr_error *err);

typedef struct sr_scored_row {
    int32_t row;
    float score;
} sr_scored_row;

/* The n best rows of scores[0..count) in descending score order (ties: lower
 * row first), skipping the rows in exclude. Returns how many were written
 * (fewer than n only if count - excluded < n). */
size_t sr_topn(const float *scores, uint32_t count, const int32_t *exclude,
               size_t exclude_count, size_t n, sr_scored_row *out);

#endif
