/*
 * model_assembler.h — turns the records of the model topic, in topic order,
 * into verified model files (modelio-internal; no Kafka in it, so that every
 * interleaving can be tested by handing it records).
 *
 *     model_assembler *a;
 *     model_assembler_new(max_file_bytes, &a, &err);
 *     for each record: model_assembler_offer(a, key, key_len, value, value_len, &result, &why);
 *     if (result == MODEL_OFFER_APPLIED) use(model_assembler_latest(a));
 *
 * Chunks are kept per publication — a (model_version, file SHA-256) pair — so
 * chunks of two publications interleaved on the topic never mix. A manifest is
 * applied only when it is newer than the latest applied version, its
 * publication's chunks are all there, contiguous and of the announced size,
 * and the assembled bytes pass the SHA-256 in the manifest and
 * sr_model_file_inspect (the file's own CRC-32C and structure) with the same
 * model version. Memory stays bounded: at most MODEL_ASSEMBLER_PUBLICATIONS
 * publications are held at once (the least recently fed is dropped first), and
 * at most twice max_file_bytes of chunk data in all.
 */
#ifndef SR_MODELIO_MODEL_ASSEMBLER_H
#define SR_MODELIO_MODEL_ASSEMBLER_H

#include <stddef.h>

#include "sr_error.h"
#include "sr_model_publish.h"

#define MODEL_ASSEMBLER_PUBLICATIONS 4

typedef enum model_offer_result {
    MODEL_OFFER_IGNORED,   /* a tombstone, an unknown key, a chunk of an old version */
    MODEL_OFFER_STORED,    /* a chunk kept for its publication */
    MODEL_OFFER_APPLIED,   /* a manifest whose version is now the latest */
    MODEL_OFFER_REJECTED,  /* a bad record or version; why says what */
} model_offer_result;

typedef struct model_assembler model_assembler;

sr_status model_assembler_new(size_t max_file_bytes, model_assembler **out, sr_error *err);

/* Takes one record (value NULL for a tombstone). Returns SR_OK with a result,
 * filling why when the result is MODEL_OFFER_REJECTED; fails only with
 * SR_ERR_NOMEM, in err. */
sr_status model_assembler_offer(model_assembler *a, const void *key, size_t key_len, const void *value,
                                size_t value_len, model_offer_result *result, sr_error *why,
                                sr_error *err);

/* The latest applied model, or NULL; valid until the next offer or free. */
const sr_model_release *model_assembler_latest(const model_assembler *a);

void model_assembler_free(model_assembler *a);

#endif
