/*
 * bench_make_model.c — a model file with random weights for the worker
 * benchmark (tests/bench/worker.sh), and the same weights as a NumPy .npz for
 * the Python peer (tests/bench/worker_peer.py).
 *
 * The model: GRU, E = H = 64, window T = 16, item attention, tied embeddings,
 * a vocabulary of the item ids 1..V (the ids `streamrec replay --format
 * synthetic --items V` produces), version 1. Weights come from
 * sr_model_init_random: they do not matter for throughput.
 *
 *     build/bench/bench_make_model --out model.srm [--npz model.npz] [--items V]
 *                                  [--embed E] [--hidden H] [--window T] [--seed S]
 *
 * The .npz holds one float32 array per tensor, named as sr_model_tensors
 * (item_embed V x E, type_embed 4 x E, cell_w 3H x E, cell_u 3H x H, cell_b 3H,
 * attn_query E x H, out_w E x (H + E), out_b E, out_bias V; out_embed only when
 * the embeddings are not tied), item_ids (int64, row r holds id item_ids[r])
 * and config (int64: V, E, H, T, cell, attention, tied, version). It is a
 * plain "stored" ZIP of .npy files, written here so that the peer needs no
 * reader for our model format.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_buffer.h"
#include "sr_model_file.h"

/* ---- .npz (ZIP, stored, of .npy members) ---- */

static uint32_t crc32_ieee(const uint8_t *p, size_t n) {
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* Appends v as `bytes` (1..8) little-endian bytes. */
static sr_status put_le(sr_buffer *b, uint64_t v, int bytes, sr_error *err) {
    uint8_t le[8];
    for (int i = 0; i < bytes && i < 8; i++) le[i] = (uint8_t)(v >> (8 * i));
    return sr_buffer_append(b, le, (size_t)(bytes < 8 ? bytes : 8), err);
}

typedef struct npz_member {
    char name[64];
    uint32_t crc;
    uint32_t size;
    uint32_t offset;   /* of its local header */
} npz_member;

typedef struct npz_writer {
    sr_buffer zip;
    npz_member members[16];
    size_t count;
} npz_writer;

/* Appends "<name>.npy": a version 1.0 header (dtype, C order, shape; padded so
 * that the data starts at a multiple of 64) and the array's bytes. */
static sr_status npz_add(npz_writer *w, const char *name, const char *descr, size_t item_bytes,
                         const void *data, const size_t *shape, int dims, sr_error *err) {
    if (w->count == sizeof w->members / sizeof *w->members)
        return sr_fail(err, SR_ERR_LIMIT, "npz: too many members");
    char header[256];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     descr);
    size_t elements = 1;
    for (int d = 0; d < dims; d++) {
        n += snprintf(header + n, sizeof header - (size_t)n, "%zu,%s", shape[d],
                      d + 1 < dims ? " " : "");
        elements *= shape[d];
    }
    n += snprintf(header + n, sizeof header - (size_t)n, "), }");
    size_t total = 10 + (size_t)n + 1, padded = (total + 63) / 64 * 64;
    sr_buffer npy = {0};
    sr_status s = sr_buffer_append(&npy, "\x93NUMPY\x01\x00", 8, err);
    if (s == SR_OK) s = put_le(&npy, padded - 10, 2, err);
    if (s == SR_OK) s = sr_buffer_append(&npy, header, (size_t)n, err);
    for (size_t i = total; s == SR_OK && i < padded; i++) s = sr_buffer_append(&npy, " ", 1, err);
    if (s == SR_OK) s = sr_buffer_append(&npy, "\n", 1, err);
    if (s == SR_OK) s = sr_buffer_append(&npy, data, elements * item_bytes, err);

    npz_member *m = &w->members[w->count];
    snprintf(m->name, sizeof m->name, "%s.npy", name);
    size_t name_len = strlen(m->name);
    m->crc = crc32_ieee(npy.data, npy.len);
    m->size = (uint32_t)npy.len;
    m->offset = (uint32_t)w->zip.len;
    /* local file header: version 20, no flags, stored, no time */
    if (s == SR_OK) s = put_le(&w->zip, 0x04034b50u, 4, err);
    if (s == SR_OK) s = put_le(&w->zip, 20, 2, err);
    if (s == SR_OK) s = put_le(&w->zip, 0, 2 + 2 + 2 + 2, err);  /* flags, method, time, date */
    if (s == SR_OK) s = put_le(&w->zip, m->crc, 4, err);
    if (s == SR_OK) s = put_le(&w->zip, m->size, 4, err);
    if (s == SR_OK) s = put_le(&w->zip, m->size, 4, err);
    if (s == SR_OK) s = put_le(&w->zip, name_len, 2, err);
    if (s == SR_OK) s = put_le(&w->zip, 0, 2, err);
    if (s == SR_OK) s = sr_buffer_append(&w->zip, m->name, name_len, err);
    if (s == SR_OK) s = sr_buffer_append(&w->zip, npy.data, npy.len, err);
    sr_buffer_free(&npy);
    if (s == SR_OK && w->zip.len > 0xFFFFFFF0u)
        s = sr_fail(err, SR_ERR_LIMIT, "npz: larger than 4 GiB (no ZIP64 here)");
    if (s == SR_OK) w->count++;
    return s;
}

/* Appends the central directory and its end record, then writes the file. */
static sr_status npz_finish(npz_writer *w, const char *path, sr_error *err) {
    size_t dir_start = w->zip.len;
    sr_status s = SR_OK;
    for (size_t i = 0; s == SR_OK && i < w->count; i++) {
        const npz_member *m = &w->members[i];
        size_t name_len = strlen(m->name);
        s = put_le(&w->zip, 0x02014b50u, 4, err);
        if (s == SR_OK) s = put_le(&w->zip, 20, 2, err);           /* made by */
        if (s == SR_OK) s = put_le(&w->zip, 20, 2, err);           /* needed */
        if (s == SR_OK) s = put_le(&w->zip, 0, 2 + 2 + 2 + 2, err);
        if (s == SR_OK) s = put_le(&w->zip, m->crc, 4, err);
        if (s == SR_OK) s = put_le(&w->zip, m->size, 4, err);
        if (s == SR_OK) s = put_le(&w->zip, m->size, 4, err);
        if (s == SR_OK) s = put_le(&w->zip, name_len, 2, err);
        if (s == SR_OK) s = put_le(&w->zip, 0, 2 + 2 + 2 + 2, err); /* extra, comment, disk, attrs */
        if (s == SR_OK) s = put_le(&w->zip, 0, 4, err);             /* external attrs */
        if (s == SR_OK) s = put_le(&w->zip, m->offset, 4, err);
        if (s == SR_OK) s = sr_buffer_append(&w->zip, m->name, name_len, err);
    }
    size_t dir_len = w->zip.len - dir_start;
    if (s == SR_OK) s = put_le(&w->zip, 0x06054b50u, 4, err);
    if (s == SR_OK) s = put_le(&w->zip, 0, 4, err);                /* disk numbers */
    if (s == SR_OK) s = put_le(&w->zip, w->count, 2, err);
    if (s == SR_OK) s = put_le(&w->zip, w->count, 2, err);
    if (s == SR_OK) s = put_le(&w->zip, dir_len, 4, err);
    if (s == SR_OK) s = put_le(&w->zip, dir_start, 4, err);
    if (s == SR_OK) s = put_le(&w->zip, 0, 2, err);                /* comment */
    if (s != SR_OK) return s;
    FILE *f = fopen(path, "wb");
    if (!f) return sr_fail(err, SR_ERR_IO, "%s: cannot create", path);
    size_t written = fwrite(w->zip.data, 1, w->zip.len, f);
    if (fclose(f) != 0 || written != w->zip.len) return sr_fail(err, SR_ERR_IO, "%s: write failed", path);
    return SR_OK;
}

static sr_status write_npz(const sr_model *m, const char *path, sr_error *err) {
    const sr_model_config *c = &m->config;
    const sr_model_tensors *t = &m->t;
    size_t V = c->item_count, E = c->embed_dim, H = c->hidden_dim, G = 3, K = E;
    int64_t config[8] = {c->item_count, c->embed_dim, c->hidden_dim, c->window, c->cell,
                         c->attention, c->tied_embeddings, m->version};
    struct {
        const char *name;
        const void *data;
        size_t shape[2];
        int dims;
    } f32[] = {
        {"item_embed", t->item_embed, {V, E}, 2},
        {"type_embed", t->type_embed, {SR_EVENT_TYPE_COUNT, E}, 2},
        {"cell_w", t->cell_w, {G * H, E}, 2},
        {"cell_u", t->cell_u, {G * H, H}, 2},
        {"cell_b", t->cell_b, {G * H}, 1},
        {"attn_query", t->attn_query, {K, H}, 2},
        {"out_w", t->out_w, {E, H + K}, 2},
        {"out_b", t->out_b, {E}, 1},
        {"out_bias", t->out_bias, {V}, 1},
        {"out_embed", c->tied_embeddings ? NULL : t->out_embed, {V, E}, 2},
    };
    npz_writer w = {0};
    size_t config_shape = 8, vocab_shape = V;
    sr_status s = npz_add(&w, "config", "<i8", 8, config, &config_shape, 1, err);
    if (s == SR_OK) s = npz_add(&w, "item_ids", "<i8", 8, m->vocab.ids, &vocab_shape, 1, err);
    for (size_t i = 0; s == SR_OK && i < sizeof f32 / sizeof *f32; i++)
        if (f32[i].data)
            s = npz_add(&w, f32[i].name, "<f4", 4, f32[i].data, f32[i].shape, f32[i].dims, err);
    if (s == SR_OK) s = npz_finish(&w, path, err);
    sr_buffer_free(&w.zip);
    return s;
}

/* ---- main ---- */

static int usage(void) {
    fprintf(stderr, "usage: bench_make_model --out FILE [--npz FILE] [--items V] [--embed E] "
                    "[--hidden H] [--window T] [--seed S]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *out = NULL, *npz = NULL;
    sr_model_config mc = {.item_count = 12000, .embed_dim = 64, .hidden_dim = 64, .window = 16,
                          .cell = SR_CELL_GRU, .attention = SR_ATTENTION_ITEMS,
                          .tied_embeddings = 1};
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage();
        if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--npz")) npz = v;
        else if (!strcmp(a, "--items")) mc.item_count = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--embed")) mc.embed_dim = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--hidden")) mc.hidden_dim = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--window")) mc.window = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else return usage();
        i++;
    }
    if (!out) return usage();
    sr_error err;
    sr_model *model = NULL;
    int64_t *ids = malloc((size_t)(mc.item_count ? mc.item_count : 1) * sizeof *ids);
    if (!ids) {
        fprintf(stderr, "bench_make_model: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < mc.item_count; i++) ids[i] = (int64_t)i + 1;
    sr_model_meta meta = {0};
    sr_status s = sr_model_new(&mc, &model, &err);
    if (s == SR_OK) {
        sr_model_init_random(model, seed);
        model->version = 1;
        s = sr_vocab_build(&model->vocab, ids, mc.item_count, &err);
    }
    if (s == SR_OK) s = sr_model_meta_set_note(&meta, "tests/bench/bench_make_model: random weights", &err);
    if (s == SR_OK) s = sr_model_save(model, &meta, out, &err);
    if (s == SR_OK && npz) s = write_npz(model, npz, &err);
    free(ids);
    sr_model_free(model);
    if (s != SR_OK) {
        fprintf(stderr, "bench_make_model: %s\n", err.message);
        return 1;
    }
    fprintf(stderr, "bench_make_model: %s (V = %u, E = %u, H = %u, T = %u)%s%s\n", out,
            mc.item_count, mc.embed_dim, mc.hidden_dim, mc.window, npz ? " and " : "",
            npz ? npz : "");
    return 0;
}
