/*
 * model_assembler.c — model files from model-topic records; see
 * model_assembler.h for the promises.
 *
 * A chunk record is checked on its own (key agrees with chunk_index, sizes in
 * range, CRC-32C of its data) and stored in the slot of its publication; a
 * manifest then finds its publication, checks that every slot is filled and
 * the offsets line up, and verifies the assembled file. Rejections leave the
 * latest model untouched.
 */
#include "modelio/model_assembler.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "modelio/checksum.h"
#include "modelio/model_records.h"

typedef struct chunk_slot {
    uint8_t *data;  /* NULL: not arrived */
    size_t len;
    int64_t offset;
} chunk_slot;

/* The chunks of one publication seen so far. */
typedef struct publication {
    bool used;
    int64_t version;
    uint8_t sha256[32];
    int32_t chunk_count;
    chunk_slot *slots;   /* chunk_count */
    size_t bytes;        /* chunk data held */
    uint64_t last_fed;   /* for dropping the least recently fed first */
} publication;

struct model_assembler {
    size_t max_file_bytes;
    size_t held;  /* chunk data held over all publications */
    uint64_t clock;
    publication pubs[MODEL_ASSEMBLER_PUBLICATIONS];
    bool has_latest;
    sr_model_release latest;
    uint8_t *latest_bytes;
};

sr_status model_assembler_new(size_t max_file_bytes, model_assembler **out, sr_error *err) {
    model_assembler *a = calloc(1, sizeof *a);
    if (!a) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    a->max_file_bytes = max_file_bytes ? max_file_bytes : SR_MODEL_DEFAULT_MAX_FILE_BYTES;
    *out = a;
    return SR_OK;
}

static void drop(model_assembler *a, publication *p) {
    if (!p->used) return;
    for (int32_t i = 0; i < p->chunk_count; i++) free(p->slots[i].data);
    free(p->slots);
    a->held -= p->bytes;
    memset(p, 0, sizeof *p);
}

void model_assembler_free(model_assembler *a) {
    if (!a) return;
    for (int i = 0; i < MODEL_ASSEMBLER_PUBLICATIONS; i++) drop(a, &a->pubs[i]);
    free(a->latest_bytes);
    free(a);
}

const sr_model_release *model_assembler_latest(const model_assembler *a) {
    return a->has_latest ? &a->latest : NULL;
}

static int64_t latest_version(const model_assembler *a) {
    return a->has_latest ? a->latest.manifest.model_version : -1;
}

static publication *find(model_assembler *a, int64_t version, const uint8_t sha256[32]) {
    for (int i = 0; i < MODEL_ASSEMBLER_PUBLICATIONS; i++) {
        publication *p = &a->pubs[i];
        if (p->used && p->version == version && memcmp(p->sha256, sha256, 32) == 0) return p;
    }
    return NULL;
}

static publication *least_recently_fed(model_assembler *a, const publication *except) {
    publication *oldest = NULL;
    for (int i = 0; i < MODEL_ASSEMBLER_PUBLICATIONS; i++) {
        publication *p = &a->pubs[i];
        if (p->used && p != except && (!oldest || p->last_fed < oldest->last_fed)) oldest = p;
    }
    return oldest;
}

/* A free publication for a chunk, dropping the least recently fed if all are taken. */
static sr_status open_publication(model_assembler *a, const model_chunk_record *c, publication **out,
                                  sr_error *err) {
    publication *p = NULL;
    for (int i = 0; i < MODEL_ASSEMBLER_PUBLICATIONS && !p; i++)
        if (!a->pubs[i].used) p = &a->pubs[i];
    if (!p) {
        p = least_recently_fed(a, NULL);
        drop(a, p);
    }
    p->slots = calloc((size_t)c->chunk_count, sizeof *p->slots);
    if (!p->slots) return sr_fail(err, SR_ERR_NOMEM, "out of memory for %" PRId32 " chunk slots", c->chunk_count);
    p->used = true;
    p->version = c->model_version;
    memcpy(p->sha256, c->file_sha256, 32);
    p->chunk_count = c->chunk_count;
    *out = p;
    return SR_OK;
}

/* The checks a chunk passes on its own. */
static bool chunk_is_sound(const model_assembler *a, const model_chunk_record *c, int32_t key_index,
                           sr_error *why) {
    if (c->chunk_index != key_index) {
        sr_fail(why, SR_ERR_INVALID_VALUE, "chunk-%" PRId32 ": record says chunk_index %" PRId32, key_index,
                c->chunk_index);
        return false;
    }
    if (c->chunk_count < 1 || c->chunk_count > SR_MODEL_MAX_CHUNKS || c->chunk_index >= c->chunk_count ||
        c->chunk_index < 0) {
        sr_fail(why, SR_ERR_INVALID_VALUE, "chunk-%" PRId32 ": chunk_count %" PRId32 " is out of range", key_index,
                c->chunk_count);
        return false;
    }
    if (c->model_version < 0 || c->offset < 0 || (uint64_t)c->offset > a->max_file_bytes || c->data_len == 0 ||
        c->data_len > a->max_file_bytes) {
        sr_fail(why, SR_ERR_INVALID_VALUE, "chunk-%" PRId32 " of version %" PRId64 ": version, offset %" PRId64
                " or length %zu out of range", key_index, c->model_version, c->offset, c->data_len);
        return false;
    }
    uint32_t crc = modelio_crc32c(0, c->data, c->data_len);
    if (crc != c->crc32c) {
        sr_fail(why, SR_ERR_INVALID_VALUE, "chunk-%" PRId32 " of version %" PRId64 ": crc32c mismatch "
                "(record %08" PRIx32 ", data %08" PRIx32 ")", key_index, c->model_version, c->crc32c, crc);
        return false;
    }
    return true;
}

static sr_status offer_chunk(model_assembler *a, int32_t index, const void *value, size_t len,
                             model_offer_result *result, sr_error *why, sr_error *err) {
    model_chunk_record c;
    *result = MODEL_OFFER_REJECTED;
    if (model_chunk_decode(value, len, &c, why) != SR_OK) {
        sr_error_wrap(why, why->status, "chunk-%" PRId32, index);
        return SR_OK;
    }
    if (!chunk_is_sound(a, &c, index, why)) return SR_OK;
    if (c.model_version <= latest_version(a)) {
        *result = MODEL_OFFER_IGNORED;  /* of the serving version or older: not needed */
        return SR_OK;
    }
    publication *p = find(a, c.model_version, c.file_sha256);
    if (p && p->chunk_count != c.chunk_count) {
        sr_fail(why, SR_ERR_INVALID_VALUE, "chunk-%" PRId32 " of version %" PRId64 ": chunk_count %" PRId32
                " where its publication's other chunks say %" PRId32, index, c.model_version, c.chunk_count,
                p->chunk_count);
        return SR_OK;
    }
    /* Room for the data: never more than twice max_file_bytes held in all. */
    while (a->held + c.data_len > 2 * a->max_file_bytes) {
        publication *victim = least_recently_fed(a, p);
        if (!victim) break;
        drop(a, victim);
    }
    size_t old = p ? (p->slots[index].data ? p->slots[index].len : 0) : 0;
    if (a->held - old + c.data_len > 2 * a->max_file_bytes || (p && p->bytes - old + c.data_len > a->max_file_bytes)) {
        sr_fail(why, SR_ERR_LIMIT, "chunk-%" PRId32 " of version %" PRId64 ": its publication exceeds %zu bytes",
                index, c.model_version, a->max_file_bytes);
        if (p) drop(a, p);
        return SR_OK;
    }
    uint8_t *copy = malloc(c.data_len);
    if (!copy) return sr_fail(err, SR_ERR_NOMEM, "out of memory for a %zu-byte chunk", c.data_len);
    if (!p) {
        sr_status s = open_publication(a, &c, &p, err);
        if (s != SR_OK) {
            free(copy);
            return s;
        }
    }
    memcpy(copy, c.data, c.data_len);
    chunk_slot *slot = &p->slots[index];
    if (slot->data) {
        a->held -= slot->len;
        p->bytes -= slot->len;
        free(slot->data);
    }
    *slot = (chunk_slot){copy, c.data_len, c.offset};
    p->bytes += c.data_len;
    a->held += c.data_len;
    p->last_fed = ++a->clock;
    *result = MODEL_OFFER_STORED;
    return SR_OK;
}

/* Checks that p holds the whole file m announces, and assembles it. */
static bool assemble(const publication *p, const sr_model_manifest *m, uint8_t *file, sr_error *why) {
    if (p->chunk_count != m->chunk_count) {
        sr_fail(why, SR_ERR_INVALID_VALUE, "version %" PRId64 ": the manifest names %" PRId32
                " chunks, the chunks say %" PRId32, m->model_version, m->chunk_count, p->chunk_count);
        return false;
    }
    uint64_t at = 0;
    for (int32_t i = 0; i < p->chunk_count; i++) {
        const chunk_slot *s = &p->slots[i];
        if (!s->data) {
            sr_fail(why, SR_ERR_TRUNCATED, "version %" PRId64 ": chunk %" PRId32 " of %" PRId32 " is missing",
                    m->model_version, i, p->chunk_count);
            return false;
        }
        if ((uint64_t)s->offset != at || s->len > (uint64_t)m->total_bytes - at) {
            sr_fail(why, SR_ERR_INVALID_VALUE, "version %" PRId64 ": chunk %" PRId32 " at offset %" PRId64
                    " with %zu bytes does not continue the file at %" PRIu64 " of %" PRId64,
                    m->model_version, i, s->offset, s->len, at, m->total_bytes);
            return false;
        }
        memcpy(file + at, s->data, s->len);
        at += s->len;
    }
    if (at != (uint64_t)m->total_bytes) {
        sr_fail(why, SR_ERR_TRUNCATED, "version %" PRId64 ": the chunks hold %" PRIu64 " bytes, the manifest says %"
                PRId64, m->model_version, at, m->total_bytes);
        return false;
    }
    return true;
}

/* Verifies an assembled file against its manifest. */
static sr_status verify(const uint8_t *file, const sr_model_manifest *m, bool *ok, sr_error *why,
                        sr_error *err) {
    uint8_t digest[32];
    sr_status s = modelio_sha256(file, (size_t)m->total_bytes, digest, err);
    if (s != SR_OK) return s;
    *ok = false;
    if (memcmp(digest, m->sha256, 32) != 0) {
        char want[65], got[65];
        modelio_hex(m->sha256, want);
        modelio_hex(digest, got);
        sr_fail(why, SR_ERR_INVALID_VALUE, "version %" PRId64 ": SHA-256 mismatch (manifest %.16s…, file %.16s…)",
                m->model_version, want, got);
        return SR_OK;
    }
    sr_model_file_info *info = malloc(sizeof *info);
    if (!info) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    if (sr_model_file_inspect(file, (size_t)m->total_bytes, info, why) != SR_OK)
        sr_error_wrap(why, why->status, "version %" PRId64, m->model_version);
    else if (info->model_version != m->model_version)
        sr_fail(why, SR_ERR_INVALID_VALUE, "version %" PRId64 ": the model file inside says version %" PRId64,
                m->model_version, info->model_version);
    else
        *ok = true;
    free(info);
    return SR_OK;
}

static sr_status offer_manifest(model_assembler *a, const void *value, size_t len,
                                model_offer_result *result, sr_error *why, sr_error *err) {
    *result = MODEL_OFFER_REJECTED;
    sr_model_manifest *m = malloc(sizeof *m);
    if (!m) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    sr_status s = SR_OK;
    uint8_t *file = NULL;
    publication *p = NULL;
    bool ok = false;
    if (model_manifest_decode(value, len, m, why) != SR_OK) {
        sr_error_wrap(why, why->status, "manifest");
    } else if (m->model_version <= latest_version(a)) {
        sr_fail(why, SR_ERR_INVALID_VALUE, "manifest of version %" PRId64 " is not newer than the latest, %" PRId64,
                m->model_version, latest_version(a));
    } else if (m->chunk_count < 1 || m->chunk_count > SR_MODEL_MAX_CHUNKS || m->total_bytes < m->chunk_count ||
               (uint64_t)m->total_bytes > a->max_file_bytes) {
        sr_fail(why, SR_ERR_LIMIT, "manifest of version %" PRId64 ": %" PRId32 " chunks, %" PRId64
                " bytes: out of range (at most %zu bytes)", m->model_version, m->chunk_count, m->total_bytes,
                a->max_file_bytes);
    } else if (!(p = find(a, m->model_version, m->sha256))) {
        sr_fail(why, SR_ERR_TRUNCATED, "version %" PRId64 ": none of its %" PRId32 " chunks arrived",
                m->model_version, m->chunk_count);
    } else if (!(file = malloc((size_t)m->total_bytes))) {
        s = sr_fail(err, SR_ERR_NOMEM, "out of memory for a %" PRId64 "-byte model", m->total_bytes);
    } else if (assemble(p, m, file, why)) {
        s = verify(file, m, &ok, why, err);
    }
    if (p) drop(a, p);  /* applied or not, its chunks are done with */
    if (s == SR_OK && ok) {
        free(a->latest_bytes);
        a->latest_bytes = file;
        a->latest = (sr_model_release){.manifest = *m, .bytes = file, .len = (size_t)m->total_bytes};
        a->has_latest = true;
        file = NULL;
        for (int i = 0; i < MODEL_ASSEMBLER_PUBLICATIONS; i++)
            if (a->pubs[i].used && a->pubs[i].version <= m->model_version) drop(a, &a->pubs[i]);
        *result = MODEL_OFFER_APPLIED;
    }
    free(file);
    free(m);
    return s;
}

sr_status model_assembler_offer(model_assembler *a, const void *key, size_t key_len, const void *value,
                                size_t value_len, model_offer_result *result, sr_error *why,
                                sr_error *err) {
    int32_t index = 0;
    *result = MODEL_OFFER_IGNORED;
    model_key_kind kind = model_key_parse(key, key_len, &index);
    if (kind == MODEL_KEY_OTHER || !value) return SR_OK;  /* foreign records, tombstones */
    if (kind == MODEL_KEY_CHUNK) return offer_chunk(a, index, value, value_len, result, why, err);
    return offer_manifest(a, value, value_len, result, why, err);
}
