/*
 * sr_model_file.h — a model on disk or on the wire: one self-describing,
 * checksummed file that carries everything needed to serve (configuration,
 * vocabulary, parameters) and what an operator wants to know about it.
 *
 *     sr_model_meta meta = {.created_at_ms = now_ms};
 *     sr_model_meta_set_note(&meta, "trainer-7 a1b2c3d", &err);
 *     sr_model_meta_add_metric(&meta, "hr@10", 0.31, &err);
 *     if (sr_model_save(model, &meta, "model.srm", &err) != SR_OK) ...   // atomic
 *
 *     sr_model *loaded;
 *     if (sr_model_load_file("model.srm", &loaded, &meta, &err) != SR_OK)
 *         fprintf(stderr, "%s: %s\n", sr_status_name(err.status), err.message);
 *
 * The layout, version 1. Every integer and float is little-endian; offsets are
 * from the start of the file.
 *
 *     magic            8 bytes  "SRMODEL\0"
 *     format_version   u32      1
 *     item_count       u32      sr_model_config, field by field
 *     embed_dim        u32
 *     hidden_dim       u32
 *     window           u32
 *     cell             u32      sr_cell_kind
 *     attention        u32      sr_attention_kind
 *     tied_embeddings  u32      0 or 1
 *     model_version    i64      >= 0
 *     created_at_ms    i64      >= 0, Unix epoch milliseconds
 *     note_bytes       u32      <= SR_MODEL_NOTE_MAX, then that many bytes (no NUL)
 *     metric_count     u32      <= SR_MODEL_METRICS_MAX, then for each metric:
 *       name_bytes     u32      1..SR_MODEL_METRIC_NAME_MAX, then the name (no NUL)
 *       value          f64      finite; names are distinct
 *     vocab_count      u32      == item_count, then vocab_count i64 ids, strictly ascending
 *     param_count      u64      == sr_model_param_count(config), then param_count
 *                               f32 (model->data as it is: every tensor, finite)
 *     crc32c           u32      CRC-32C of every byte before it
 *
 * and nothing after. A reader of a later format version fails with a clear
 * message rather than guessing; a change to the layout bumps the version.
 *
 * Reading trusts nothing: every length is checked against the bytes that are
 * there and against the limits below before anything is allocated, and any
 * defect fails with a status and a message that names the field and its byte
 * offset — SR_ERR_BAD_MAGIC (not a model file), SR_ERR_TRUNCATED (ends inside
 * a field), SR_ERR_TRAILING_BYTES, SR_ERR_BAD_LENGTH (a count beyond its
 * limit or disagreeing with the configuration), SR_ERR_CONFIG (configuration
 * rejected), SR_ERR_INVALID_VALUE (unsupported format version, checksum
 * mismatch, ids out of order, NaN or infinite values, a bad metric).
 */
#ifndef SR_MODEL_FILE_H
#define SR_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "sr_buffer.h"
#include "sr_error.h"
#include "sr_model.h"

#define SR_MODEL_FILE_MAGIC "SRMODEL"  /* 7 characters and the NUL: 8 bytes */
#define SR_MODEL_FILE_MAGIC_BYTES 8
#define SR_MODEL_FILE_VERSION 1u

/* Limits on what a file may declare (a reader rejects more). */
#define SR_MODEL_NOTE_MAX 1024
#define SR_MODEL_METRICS_MAX 32
#define SR_MODEL_METRIC_NAME_MAX 63
#define SR_MODEL_FILE_MAX_DIM 65536u  /* embed_dim, hidden_dim, window */

typedef struct sr_model_metric {
    char name[SR_MODEL_METRIC_NAME_MAX + 1];  /* NUL-terminated, e.g. "ndcg@10" */
    double value;
} sr_model_metric;

/* What the file says about the model besides its parameters. Plain values the
 * caller owns; a zeroed struct is an empty one. */
typedef struct sr_model_meta {
    int64_t created_at_ms;
    char note[SR_MODEL_NOTE_MAX + 1];  /* free text: trainer instance, commit, data */
    uint32_t metric_count;
    sr_model_metric metrics[SR_MODEL_METRICS_MAX];
} sr_model_meta;

/* Sets the note (copied); SR_ERR_LIMIT beyond SR_MODEL_NOTE_MAX bytes. */
sr_status sr_model_meta_set_note(sr_model_meta *meta, const char *note, sr_error *err);

/* Adds a validation metric; SR_ERR_LIMIT when full or the name is too long,
 * SR_ERR_INVALID_ARG for an empty or repeated name or a value that is not finite. */
sr_status sr_model_meta_add_metric(sr_model_meta *meta, const char *name, double value,
                                   sr_error *err);

/* What a valid file holds, found without allocating. */
typedef struct sr_model_file_info {
    uint32_t format_version;
    sr_model_config config;
    int64_t model_version;
    sr_model_meta meta;
    uint32_t vocab_count;
    size_t param_count;
    uint32_t crc32c;
    size_t file_bytes;
} sr_model_file_info;

/* Appends the file of model (with meta; NULL for none) to out. Fails with
 * SR_ERR_INVALID_ARG when the model contradicts itself (vocabulary size,
 * parameter count, ids not ascending, a NaN) or meta breaks a limit: what is
 * written always reads back. */
sr_status sr_model_file_encode(const sr_model *model, const sr_model_meta *meta, sr_buffer *out,
                               sr_error *err);

/* Writes the file atomically: to a temporary file in the same directory,
 * fsync, rename over path, fsync the directory. On failure path is unchanged
 * and no temporary file is left. */
sr_status sr_model_save(const sr_model *model, const sr_model_meta *meta, const char *path,
                        sr_error *err);

/* Validates len bytes as a model file, everything that loading checks, and
 * describes it in info (may be NULL). Allocates nothing. */
sr_status sr_model_file_inspect(const void *bytes, size_t len, sr_model_file_info *info,
                                sr_error *err);

/* A new model from len bytes (validated as sr_model_file_inspect does), with
 * model->version from the file; meta (may be NULL) receives the metadata. On
 * failure *model is left unset. Free with sr_model_free. */
sr_status sr_model_load_buffer(const void *bytes, size_t len, sr_model **model,
                               sr_model_meta *meta, sr_error *err);

/* sr_model_load_buffer on the contents of path; messages start with the path. */
sr_status sr_model_load_file(const char *path, sr_model **model, sr_model_meta *meta,
                             sr_error *err);

/* Reads a whole file into out (appended), e.g. to publish it. SR_ERR_IO names
 * the path; SR_ERR_LIMIT beyond max_bytes. */
sr_status sr_model_file_read(const char *path, size_t max_bytes, sr_buffer *out, sr_error *err);

#endif
