/*
 * model_file.c — the model file: writing, atomic saving, validating, loading;
 * the layout is in sr_model_file.h.
 *
 * Promise: reading looks only at bytes in [bytes, bytes + len) and allocates
 * nothing before the whole file has been validated, so that no length taken
 * from the input sizes an allocation before it was checked against the input's
 * own size. Validation runs in this order, so that each defect is reported as
 * what it is rather than as a consequence:
 *
 *   1. structure: magic, format version, each header field, each count against
 *      its limit and against the bytes left, the exact total size;
 *   2. the CRC-32C over everything (a bit flip anywhere is reported here);
 *   3. content that only a checksummed file can be blamed for: ids strictly
 *      ascending, every parameter finite.
 *
 * Writing runs the same validation over what it wrote, so a file that is
 * written always reads back.
 */
#include "sr_model_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "modelio/checksum.h"

/* ---- Little-endian fields ---- */

static uint64_t load_le(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint8_t *store_le(uint8_t *p, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + n;
}

/* A reading position in the file; every take is checked against the end. */
typedef struct cursor {
    const uint8_t *start;
    const uint8_t *pos;
    const uint8_t *end;
} cursor;

static size_t offset_of(const cursor *c) { return (size_t)(c->pos - c->start); }
static size_t left_of(const cursor *c) { return (size_t)(c->end - c->pos); }

static sr_status take(cursor *c, size_t n, const char *what, const uint8_t **out, sr_error *err) {
    if (left_of(c) < n)
        return sr_fail(err, SR_ERR_TRUNCATED,
                       "model file: %s at byte %zu needs %zu bytes, but the %zu-byte file ends %zu bytes later",
                       what, offset_of(c), n, (size_t)(c->end - c->start), left_of(c));
    *out = c->pos;
    c->pos += n;
    return SR_OK;
}

static sr_status take_u32(cursor *c, const char *what, uint32_t *v, sr_error *err) {
    const uint8_t *p = NULL; /* set by take() on success; gcc cannot see that */
    sr_status s = take(c, 4, what, &p, err);
    if (s == SR_OK) *v = (uint32_t)load_le(p, 4);
    return s;
}

static sr_status take_u64(cursor *c, const char *what, uint64_t *v, sr_error *err) {
    const uint8_t *p = NULL; /* set by take() on success; gcc cannot see that */
    sr_status s = take(c, 8, what, &p, err);
    if (s == SR_OK) *v = load_le(p, 8);
    return s;
}

static sr_status take_i64(cursor *c, const char *what, int64_t *v, sr_error *err) {
    uint64_t u;
    sr_status s = take_u64(c, what, &u, err);
    if (s == SR_OK) memcpy(v, &u, 8);
    return s;
}

static int float_bits_finite(uint32_t bits) { return ((bits >> 23) & 0xffu) != 0xffu; }

/* ---- Metadata ---- */

sr_status sr_model_meta_set_note(sr_model_meta *meta, const char *note, sr_error *err) {
    size_t n = strlen(note);
    if (n > SR_MODEL_NOTE_MAX)
        return sr_fail(err, SR_ERR_LIMIT, "note of %zu bytes is longer than %d", n, SR_MODEL_NOTE_MAX);
    memcpy(meta->note, note, n + 1);
    return SR_OK;
}

static const sr_model_metric *find_metric(const sr_model_meta *meta, const char *name, size_t len) {
    for (uint32_t i = 0; i < meta->metric_count; i++)
        if (strlen(meta->metrics[i].name) == len && memcmp(meta->metrics[i].name, name, len) == 0)
            return &meta->metrics[i];
    return NULL;
}

sr_status sr_model_meta_add_metric(sr_model_meta *meta, const char *name, double value,
                                   sr_error *err) {
    size_t n = strlen(name);
    if (meta->metric_count >= SR_MODEL_METRICS_MAX)
        return sr_fail(err, SR_ERR_LIMIT, "more than %d metrics", SR_MODEL_METRICS_MAX);
    if (n > SR_MODEL_METRIC_NAME_MAX)
        return sr_fail(err, SR_ERR_LIMIT, "metric name of %zu bytes is longer than %d", n,
                       SR_MODEL_METRIC_NAME_MAX);
    if (n == 0) return sr_fail(err, SR_ERR_INVALID_ARG, "metric name is empty");
    if (find_metric(meta, name, n))
        return sr_fail(err, SR_ERR_INVALID_ARG, "metric '%s' is already there", name);
    if (!isfinite(value))
        return sr_fail(err, SR_ERR_INVALID_ARG, "metric '%s' is not finite", name);
    sr_model_metric *m = &meta->metrics[meta->metric_count++];
    memcpy(m->name, name, n + 1);
    m->value = value;
    return SR_OK;
}

/* ---- Reading ---- */

/* Where the sections of a structurally valid file are. */
typedef struct layout {
    sr_model_file_info info;
    const uint8_t *start;   /* the file's first byte, for offsets in messages */
    const uint8_t *ids;     /* vocab_count little-endian i64 */
    const uint8_t *params;  /* param_count little-endian f32 */
} layout;

static sr_status check_dim(const char *name, uint32_t value, uint32_t max, sr_error *err) {
    if (value == 0 || value > max)
        return sr_fail(err, SR_ERR_CONFIG, "model file: configuration: %s %" PRIu32 " is not in 1..%" PRIu32,
                       name, value, max);
    return SR_OK;
}

/* The configuration's seven u32 fields, each range-checked before it becomes
 * an enum or a size, then the model's own check. Bounding every dimension
 * first keeps sr_model_param_count far from overflowing. */
static sr_status read_config(cursor *c, sr_model_config *config, sr_error *err) {
    static const char *const names[] = {"item_count", "embed_dim", "hidden_dim", "window",
                                        "cell", "attention", "tied_embeddings"};
    uint32_t v[7];
    sr_status s;
    for (int i = 0; i < 7; i++)
        if ((s = take_u32(c, names[i], &v[i], err)) != SR_OK) return s;
    if ((s = check_dim("item_count", v[0], SR_VOCAB_MAX_ITEMS, err)) != SR_OK) return s;
    for (int i = 1; i <= 3; i++)
        if ((s = check_dim(names[i], v[i], SR_MODEL_FILE_MAX_DIM, err)) != SR_OK) return s;
    if (v[4] > SR_CELL_ELMAN)
        return sr_fail(err, SR_ERR_CONFIG, "model file: configuration: cell kind %" PRIu32
                       " is unknown (0 GRU, 1 Elman)", v[4]);
    if (v[5] > SR_ATTENTION_HIDDEN)
        return sr_fail(err, SR_ERR_CONFIG, "model file: configuration: attention kind %" PRIu32
                       " is unknown (0 none, 1 items, 2 hidden)", v[5]);
    if (v[6] > 1)
        return sr_fail(err, SR_ERR_CONFIG, "model file: configuration: tied_embeddings is %" PRIu32
                       ", not 0 or 1", v[6]);
    *config = (sr_model_config){.item_count = v[0], .embed_dim = v[1], .hidden_dim = v[2],
                                .window = v[3], .cell = (sr_cell_kind)v[4],
                                .attention = (sr_attention_kind)v[5], .tied_embeddings = (int)v[6]};
    s = sr_model_config_check(config, err);
    if (s != SR_OK) return sr_error_wrap(err, s, "model file: configuration");
    return SR_OK;
}

/* A length-prefixed text of at most max bytes with no NUL in it, copied with a
 * NUL into out (max + 1 bytes). */
static sr_status read_text(cursor *c, const char *what, uint32_t min, uint32_t max, char *out,
                           sr_error *err) {
    size_t at = offset_of(c);
    uint32_t n;
    const uint8_t *p = NULL; /* set by take() on success; gcc cannot see that */
    sr_status s = take_u32(c, what, &n, err);
    if (s != SR_OK) return s;
    if (n < min || n > max)
        return sr_fail(err, SR_ERR_BAD_LENGTH, "model file: %s length %" PRIu32
                       " at byte %zu is not in %" PRIu32 "..%" PRIu32, what, n, at, min, max);
    if ((s = take(c, n, what, &p, err)) != SR_OK) return s;
    if (memchr(p, 0, n))
        return sr_fail(err, SR_ERR_INVALID_VALUE, "model file: %s at byte %zu contains a NUL byte", what, at);
    memcpy(out, p, n);
    out[n] = '\0';
    return SR_OK;
}

static sr_status read_meta(cursor *c, sr_model_file_info *info, sr_error *err) {
    sr_model_meta *meta = &info->meta;
    sr_status s;
    size_t at = offset_of(c);
    if ((s = take_i64(c, "model_version", &info->model_version, err)) != SR_OK) return s;
    if (info->model_version < 0)
        return sr_fail(err, SR_ERR_INVALID_VALUE, "model file: model_version %" PRId64 " at byte %zu is negative",
                       info->model_version, at);
    at = offset_of(c);
    if ((s = take_i64(c, "created_at_ms", &meta->created_at_ms, err)) != SR_OK) return s;
    if (meta->created_at_ms < 0)
        return sr_fail(err, SR_ERR_INVALID_VALUE, "model file: created_at_ms %" PRId64 " at byte %zu is negative",
                       meta->created_at_ms, at);
    if ((s = read_text(c, "note", 0, SR_MODEL_NOTE_MAX, meta->note, err)) != SR_OK) return s;

    at = offset_of(c);
    uint32_t count;
    if ((s = take_u32(c, "metric_count", &count, err)) != SR_OK) return s;
    if (count > SR_MODEL_METRICS_MAX)
        return sr_fail(err, SR_ERR_BAD_LENGTH, "model file: metric_count %" PRIu32 " at byte %zu is beyond %d",
                       count, at, SR_MODEL_METRICS_MAX);
    meta->metric_count = 0;
    for (uint32_t i = 0; i < count; i++) {
        sr_model_metric m;
        uint64_t bits;
        if ((s = read_text(c, "metric name", 1, SR_MODEL_METRIC_NAME_MAX, m.name, err)) != SR_OK) return s;
        at = offset_of(c);
        if ((s = take_u64(c, "metric value", &bits, err)) != SR_OK) return s;
        memcpy(&m.value, &bits, 8);
        if (!isfinite(m.value))
            return sr_fail(err, SR_ERR_INVALID_VALUE, "model file: metric '%s' at byte %zu is not finite",
                           m.name, at);
        if (find_metric(meta, m.name, strlen(m.name)))
            return sr_fail(err, SR_ERR_INVALID_VALUE, "model file: metric '%s' appears twice", m.name);
        meta->metrics[meta->metric_count++] = m;
    }
    return SR_OK;
}

static sr_status read_sections(cursor *c, layout *l, sr_error *err) {
    sr_model_file_info *info = &l->info;
    size_t at = offset_of(c);
    sr_status s;
    if ((s = take_u32(c, "vocab_count", &info->vocab_count, err)) != SR_OK) return s;
    if (info->vocab_count != info->config.item_count)
        return sr_fail(err, SR_ERR_BAD_LENGTH, "model file: vocab_count %" PRIu32 " at byte %zu differs from item_count %" PRIu32,
                       info->vocab_count, at, info->config.item_count);
    if ((s = take(c, (size_t)info->vocab_count * 8, "vocabulary ids", &l->ids, err)) != SR_OK) return s;

    at = offset_of(c);
    uint64_t declared;
    if ((s = take_u64(c, "param_count", &declared, err)) != SR_OK) return s;
    size_t expected = sr_model_param_count(&info->config);
    if (declared != expected)
        return sr_fail(err, SR_ERR_BAD_LENGTH, "model file: param_count %" PRIu64 " at byte %zu differs from %zu, "
                       "what the configuration needs", declared, at, expected);
    if (expected > SIZE_MAX / 4)
        return sr_fail(err, SR_ERR_BAD_LENGTH, "model file: %zu parameters do not fit in memory", expected);
    info->param_count = expected;
    return take(c, expected * 4, "parameters", &l->params, err);
}

static sr_status check_content(const layout *l, sr_error *err) {
    const uint8_t *ids = l->ids;
    for (uint32_t i = 1; i < l->info.vocab_count; i++) {
        int64_t prev, cur;
        uint64_t a = load_le(ids + 8 * (size_t)(i - 1), 8), b = load_le(ids + 8 * (size_t)i, 8);
        memcpy(&prev, &a, 8);
        memcpy(&cur, &b, 8);
        if (cur <= prev)
            return sr_fail(err, SR_ERR_INVALID_VALUE, "model file: vocabulary id %" PRId64 " at row %" PRIu32
                           " is not above %" PRId64 " before it (ids must be distinct and ascending)",
                           cur, i, prev);
    }
    for (size_t i = 0; i < l->info.param_count; i++) {
        uint32_t bits = (uint32_t)load_le(l->params + 4 * i, 4);
        if (!float_bits_finite(bits))
            return sr_fail(err, SR_ERR_INVALID_VALUE, "model file: parameter %zu (byte %zu) is %s", i,
                           (size_t)(l->params - l->start) + 4 * i,
                           (bits & 0x7fffffu) ? "NaN" : "infinite");
    }
    return SR_OK;
}

static sr_status parse(const void *bytes, size_t len, layout *l, sr_error *err) {
    memset(l, 0, sizeof *l);
    if (!bytes && len) return sr_fail(err, SR_ERR_INVALID_ARG, "model file: bytes is NULL");
    if (!bytes) bytes = "";  /* no arithmetic on a null pointer */
    cursor c = {bytes, bytes, (const uint8_t *)bytes + len};
    l->start = bytes;
    size_t magic_seen = len < SR_MODEL_FILE_MAGIC_BYTES ? len : SR_MODEL_FILE_MAGIC_BYTES;
    if (len && memcmp(bytes, SR_MODEL_FILE_MAGIC, magic_seen) != 0)
        return sr_fail(err, SR_ERR_BAD_MAGIC, "model file: not a streamrec model file (no \"SRMODEL\" magic)");
    const uint8_t *p = NULL; /* set by take() on success; gcc cannot see that */
    sr_status s = take(&c, SR_MODEL_FILE_MAGIC_BYTES, "magic", &p, err);
    if (s != SR_OK) return s;
    if ((s = take_u32(&c, "format_version", &l->info.format_version, err)) != SR_OK) return s;
    if (l->info.format_version != SR_MODEL_FILE_VERSION)
        return sr_fail(err, SR_ERR_INVALID_VALUE, "model file: format version %" PRIu32
                       " is not supported (this build reads version %u)", l->info.format_version,
                       SR_MODEL_FILE_VERSION);
    if ((s = read_config(&c, &l->info.config, err)) != SR_OK) return s;
    if ((s = read_meta(&c, &l->info, err)) != SR_OK) return s;
    if ((s = read_sections(&c, l, err)) != SR_OK) return s;
    if ((s = take_u32(&c, "crc32c", &l->info.crc32c, err)) != SR_OK) return s;
    if (left_of(&c) > 0)
        return sr_fail(err, SR_ERR_TRAILING_BYTES, "model file: %zu bytes follow the end of the model at byte %zu",
                       left_of(&c), offset_of(&c));
    uint32_t computed = modelio_crc32c(0, bytes, len - 4);
    if (computed != l->info.crc32c)
        return sr_fail(err, SR_ERR_INVALID_VALUE, "model file: checksum mismatch (stored crc32c %08" PRIx32
                       ", computed %08" PRIx32 "): the file is corrupted", l->info.crc32c, computed);
    l->info.file_bytes = len;
    return check_content(l, err);
}

sr_status sr_model_file_inspect(const void *bytes, size_t len, sr_model_file_info *info,
                                sr_error *err) {
    layout *l = malloc(sizeof *l);  /* the metadata makes it a few KB: not on the stack */
    if (!l) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    sr_status s = parse(bytes, len, l, err);
    if (s == SR_OK && info) *info = l->info;
    free(l);
    return s;
}

static sr_status fill_model(const layout *l, sr_model *m, sr_error *err) {
    uint32_t count = l->info.vocab_count;
    int64_t *ids = malloc((size_t)count * sizeof *ids);
    if (!ids) return sr_fail(err, SR_ERR_NOMEM, "out of memory for %" PRIu32 " vocabulary ids", count);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t u = load_le(l->ids + 8 * (size_t)i, 8);
        memcpy(&ids[i], &u, 8);
    }
    sr_status s = sr_vocab_build(&m->vocab, ids, count, err);
    free(ids);
    if (s != SR_OK) return s;
    if (m->vocab.count != count)
        return sr_fail(err, SR_ERR_INVALID_VALUE, "model file: the vocabulary has %" PRIu32 " rows, not %" PRIu32,
                       m->vocab.count, count);
    if (m->param_count != l->info.param_count)
        return sr_fail(err, SR_ERR_INVALID_VALUE, "model file: the model has %zu parameters, the file %zu",
                       m->param_count, l->info.param_count);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(m->data, l->params, 4 * l->info.param_count);
#else
    for (size_t i = 0; i < l->info.param_count; i++) {
        uint32_t bits = (uint32_t)load_le(l->params + 4 * i, 4);
        memcpy(&m->data[i], &bits, 4);
    }
#endif
    m->version = l->info.model_version;
    return SR_OK;
}

sr_status sr_model_load_buffer(const void *bytes, size_t len, sr_model **model,
                               sr_model_meta *meta, sr_error *err) {
    layout *l = malloc(sizeof *l);
    if (!l) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    sr_status s = parse(bytes, len, l, err);
    sr_model *m = NULL;
    if (s == SR_OK) s = sr_model_new(&l->info.config, &m, err);
    if (s == SR_OK) s = fill_model(l, m, err);
    if (s == SR_OK) {
        if (meta) *meta = l->info.meta;
        *model = m;
    } else {
        sr_model_free(m);
    }
    free(l);
    return s;
}

/* ---- Writing ---- */

static sr_status check_meta(const sr_model_meta *meta, sr_error *err) {
    if (meta->created_at_ms < 0)
        return sr_fail(err, SR_ERR_INVALID_ARG, "created_at_ms %" PRId64 " is negative", meta->created_at_ms);
    if (strnlen(meta->note, sizeof meta->note) == sizeof meta->note)
        return sr_fail(err, SR_ERR_INVALID_ARG, "note is not NUL-terminated");
    if (meta->metric_count > SR_MODEL_METRICS_MAX)
        return sr_fail(err, SR_ERR_INVALID_ARG, "metric_count %" PRIu32 " is beyond %d", meta->metric_count,
                       SR_MODEL_METRICS_MAX);
    for (uint32_t i = 0; i < meta->metric_count; i++) {
        const sr_model_metric *m = &meta->metrics[i];
        if (strnlen(m->name, sizeof m->name) == sizeof m->name)
            return sr_fail(err, SR_ERR_INVALID_ARG, "metric %" PRIu32 "'s name is not NUL-terminated", i);
    }
    return SR_OK;  /* the rest is checked by reading back what was written */
}

static size_t encoded_size(const sr_model *model, const sr_model_meta *meta) {
    size_t n = SR_MODEL_FILE_MAGIC_BYTES + 4 + 7 * 4 + 8 + 8 + 4 + strlen(meta->note) + 4;
    for (uint32_t i = 0; i < meta->metric_count; i++) n += 4 + strlen(meta->metrics[i].name) + 8;
    return n + 4 + 8 * (size_t)model->vocab.count + 8 + 4 * model->param_count + 4;
}

static uint8_t *put_text(uint8_t *p, const char *text) {
    size_t n = strlen(text);
    p = store_le(p, n, 4);
    memcpy(p, text, n);
    return p + n;
}

static void write_file(const sr_model *model, const sr_model_meta *meta, uint8_t *start) {
    const sr_model_config *c = &model->config;
    uint8_t *p = start;
    memcpy(p, SR_MODEL_FILE_MAGIC, SR_MODEL_FILE_MAGIC_BYTES);
    p = store_le(p + SR_MODEL_FILE_MAGIC_BYTES, SR_MODEL_FILE_VERSION, 4);
    uint32_t fields[7] = {c->item_count, c->embed_dim, c->hidden_dim, c->window, (uint32_t)c->cell,
                          (uint32_t)c->attention, c->tied_embeddings ? 1u : 0u};
    for (int i = 0; i < 7; i++) p = store_le(p, fields[i], 4);
    p = store_le(p, (uint64_t)model->version, 8);
    p = store_le(p, (uint64_t)meta->created_at_ms, 8);
    p = put_text(p, meta->note);
    p = store_le(p, meta->metric_count, 4);
    for (uint32_t i = 0; i < meta->metric_count; i++) {
        uint64_t bits;
        memcpy(&bits, &meta->metrics[i].value, 8);
        p = store_le(put_text(p, meta->metrics[i].name), bits, 8);
    }
    p = store_le(p, model->vocab.count, 4);
    for (uint32_t i = 0; i < model->vocab.count; i++) p = store_le(p, (uint64_t)model->vocab.ids[i], 8);
    p = store_le(p, model->param_count, 8);
    for (size_t i = 0; i < model->param_count; i++) {
        uint32_t bits;
        memcpy(&bits, &model->data[i], 4);
        p = store_le(p, bits, 4);
    }
    store_le(p, modelio_crc32c(0, start, (size_t)(p - start)), 4);
}

sr_status sr_model_file_encode(const sr_model *model, const sr_model_meta *meta, sr_buffer *out,
                               sr_error *err) {
    static const sr_model_meta no_meta;
    if (!meta) meta = &no_meta;
    sr_status s = check_meta(meta, err);
    if (s != SR_OK) return s;
    if (model->vocab.count != model->config.item_count)
        return sr_fail(err, SR_ERR_INVALID_ARG, "the vocabulary has %" PRIu32 " ids, the configuration %" PRIu32
                       " items", model->vocab.count, model->config.item_count);
    if (model->config.item_count > SR_VOCAB_MAX_ITEMS || model->config.embed_dim > SR_MODEL_FILE_MAX_DIM ||
        model->config.hidden_dim > SR_MODEL_FILE_MAX_DIM || model->config.window > SR_MODEL_FILE_MAX_DIM)
        return sr_fail(err, SR_ERR_INVALID_ARG, "the configuration is beyond the model file's limits");
    if (model->param_count != sr_model_param_count(&model->config) || (model->param_count && !model->data))
        return sr_fail(err, SR_ERR_INVALID_ARG, "the model has %zu parameters, its configuration needs %zu",
                       model->param_count, sr_model_param_count(&model->config));
    size_t size = encoded_size(model, meta), start = out->len;
    if ((s = sr_buffer_reserve(out, size, err)) != SR_OK) return s;
    write_file(model, meta, out->data + start);
    sr_error why;
    if (sr_model_file_inspect(out->data + start, size, NULL, &why) != SR_OK)
        return sr_fail(err, SR_ERR_INVALID_ARG, "the model cannot be written: %s", why.message);
    out->len += size;
    return SR_OK;
}

static sr_status write_all(int fd, const uint8_t *p, size_t n, const char *path, sr_error *err) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return sr_fail(err, SR_ERR_IO, "writing %s: %s", path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return SR_OK;
}

/* Makes a rename in path's directory durable. */
static sr_status sync_directory(const char *path, sr_error *err) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else return sr_fail(err, SR_ERR_INVALID_ARG, "path is too long: %s", path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sr_fail(err, SR_ERR_IO, "opening directory %s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc != 0) return sr_fail(err, SR_ERR_IO, "syncing directory %s: %s", dir, strerror(saved));
    return SR_OK;
}

sr_status sr_model_save(const sr_model *model, const sr_model_meta *meta, const char *path,
                        sr_error *err) {
    sr_buffer file = {0};
    sr_status s = sr_model_file_encode(model, meta, &file, err);
    if (s != SR_OK) {
        sr_buffer_free(&file);
        return s;
    }
    size_t n = strlen(path) + sizeof ".tmp-XXXXXX";
    char *tmp = malloc(n);
    if (!tmp) {
        sr_buffer_free(&file);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    }
    snprintf(tmp, n, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        s = sr_fail(err, SR_ERR_IO, "creating a temporary file next to %s: %s", path, strerror(errno));
    } else {
        if (fchmod(fd, 0644) != 0) s = sr_fail(err, SR_ERR_IO, "chmod %s: %s", tmp, strerror(errno));
        if (s == SR_OK) s = write_all(fd, file.data, file.len, tmp, err);
        if (s == SR_OK && fsync(fd) != 0) s = sr_fail(err, SR_ERR_IO, "syncing %s: %s", tmp, strerror(errno));
        if (close(fd) != 0 && s == SR_OK) s = sr_fail(err, SR_ERR_IO, "closing %s: %s", tmp, strerror(errno));
        if (s == SR_OK && rename(tmp, path) != 0)
            s = sr_fail(err, SR_ERR_IO, "renaming %s to %s: %s", tmp, path, strerror(errno));
        if (s != SR_OK) unlink(tmp);
        else s = sync_directory(path, err);
    }
    free(tmp);
    sr_buffer_free(&file);
    return s;
}

/* ---- Files ---- */

sr_status sr_model_file_read(const char *path, size_t max_bytes, sr_buffer *out, sr_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sr_fail(err, errno == ENOENT ? SR_ERR_NOT_FOUND : SR_ERR_IO, "opening %s: %s", path,
                               strerror(errno));
    struct stat st;
    sr_status s = SR_OK;
    if (fstat(fd, &st) != 0) s = sr_fail(err, SR_ERR_IO, "stat %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode)) s = sr_fail(err, SR_ERR_IO, "%s is not a regular file", path);
    else if ((uint64_t)st.st_size > max_bytes)
        s = sr_fail(err, SR_ERR_LIMIT, "%s has %lld bytes, more than the %zu allowed", path,
                    (long long)st.st_size, max_bytes);
    size_t size = s == SR_OK ? (size_t)st.st_size : 0, start = out->len, got = 0;
    if (s == SR_OK) s = sr_buffer_reserve(out, size, err);
    while (s == SR_OK && got < size) {
        ssize_t r = read(fd, out->data + start + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) s = sr_fail(err, SR_ERR_IO, "reading %s: %s", path, strerror(errno));
        else if (r == 0) s = sr_fail(err, SR_ERR_IO, "%s shrank while being read", path);
        else got += (size_t)r;
    }
    close(fd);
    if (s == SR_OK) out->len += size;
    return s;
}

sr_status sr_model_load_file(const char *path, sr_model **model, sr_model_meta *meta, sr_error *err) {
    sr_buffer file = {0};
    sr_status s = sr_model_file_read(path, SIZE_MAX / 2, &file, err);
    if (s == SR_OK) {
        s = sr_model_load_buffer(file.data, file.len, model, meta, err);
        if (s != SR_OK) s = sr_error_wrap(err, s, "%s", path);
    }
    sr_buffer_free(&file);
    return s;
}
