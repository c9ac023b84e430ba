/*
 * model_topic_tool.c — the model topic from the outside, for
 * test_model_publish.sh:
 *
 *   model_topic_tool publish --topic T --version N --items V [--seed S]
 *       makes a model of V items (32-dim embeddings: about 280 bytes an item),
 *       publishes it, prints "version=N chunks=C bytes=B tombstones=K sha256=HEX"
 *   model_topic_tool abort --topic T --version N --items V
 *       writes the chunks and manifest of such a model in a transaction and
 *       aborts it (a publisher that failed half-way)
 *   model_topic_tool expect --topic T --version N --sha256 HEX
 *       a fresh subscriber reads the topic to its end; exits 0 when the latest
 *       verified model is exactly that version and file, and loads
 *   model_topic_tool corrupt --topic T --version N --items V --damage KIND [--seed S]
 *       commits (in a transaction) the chunks and manifest of such a model,
 *       damaged so that a subscriber must reject it (for test_worker_models.sh):
 *         chunk-crc      a chunk's bytes differ from its crc32c
 *         file           the file's bytes are damaged before the SHA-256 and the
 *                        chunk CRCs are computed: every transport check passes,
 *                        the model file's own CRC-32C does not
 *         missing-chunk  the manifest names 2 chunks, only the first is written
 *
 * The bootstrap address comes from STREAMREC_BOOTSTRAP.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modelio/checksum.h"
#include "modelio/model_records.h"
#include "sr_kafka.h"
#include "sr_model_publish.h"

struct options {
    const char *topic;
    int64_t version;
    uint32_t items;
    uint64_t seed;
    const char *sha256;
    const char *damage;
};

static sr_status make_file(const struct options *o, sr_buffer *file, sr_error *err) {
    sr_model_config config = {.item_count = o->items, .embed_dim = 32, .hidden_dim = 32, .window = 4,
                              .cell = SR_CELL_GRU, .attention = SR_ATTENTION_ITEMS};
    sr_model *m;
    sr_status s = sr_model_new(&config, &m, err);
    if (s != SR_OK) return s;
    sr_model_init_random(m, o->seed);
    int64_t *ids = malloc(o->items * sizeof *ids);
    if (!ids) s = sr_fail(err, SR_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; s == SR_OK && i < o->items; i++) ids[i] = 5000000 + 7 * (int64_t)i;
    if (s == SR_OK) s = sr_vocab_build(&m->vocab, ids, o->items, err);
    free(ids);
    m->version = o->version;
    sr_model_meta meta = {.created_at_ms = 1767225600000LL};
    snprintf(meta.note, sizeof meta.note, "model_topic_tool seed %" PRIu64, o->seed);
    if (s == SR_OK) s = sr_model_meta_add_metric(&meta, "hr@10", 0.3, err);
    if (s == SR_OK) s = sr_model_file_encode(m, &meta, file, err);
    sr_model_free(m);
    return s;
}

static sr_status publish(const struct options *o, sr_error *err) {
    sr_buffer file = {0};
    sr_status s = make_file(o, &file, err);
    sr_model_publisher *p = NULL;
    sr_model_publisher_options po = {.bootstrap = getenv("STREAMREC_BOOTSTRAP"), .topic = o->topic};
    if (s == SR_OK) s = sr_model_publisher_new(&po, &p, err);
    sr_model_publication done;
    if (s == SR_OK) s = sr_model_publish(p, file.data, file.len, &done, err);
    if (s == SR_OK) {
        char hex[65];
        modelio_hex(done.sha256, hex);
        printf("version=%" PRId64 " chunks=%" PRId32 " bytes=%zu tombstones=%" PRId32 " sha256=%s\n",
               done.model_version, done.chunk_count, done.total_bytes, done.tombstones, hex);
    }
    sr_model_publisher_free(p);
    sr_buffer_free(&file);
    return s;
}

static sr_status kafka_check(rd_kafka_error_t *error, const char *what, sr_error *err) {
    if (!error) return SR_OK;
    sr_status s = sr_fail(err, SR_ERR_KAFKA, "%s: %s", what, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return s;
}

/* How write_publication damages a model (NONE: not at all). */
typedef enum damage_kind { DAMAGE_NONE, DAMAGE_CHUNK_CRC, DAMAGE_FILE, DAMAGE_MISSING_CHUNK } damage_kind;

/* Chunks and manifest of a model inside a transaction that is then aborted
 * (commit false) or committed, damaged as `damage` says. */
static sr_status write_publication(const struct options *o, damage_kind damage, bool commit,
                                   sr_error *err) {
    sr_buffer file = {0}, record = {0};
    sr_status s = make_file(o, &file, err);
    if (s == SR_OK && damage == DAMAGE_FILE) file.data[file.len / 2] ^= 0x5a; /* inside the parameters */
    rd_kafka_conf_t *conf = NULL;
    if (s == SR_OK) s = sr_kafka_conf_new(NULL, getenv("STREAMREC_BOOTSTRAP"), &conf, err);
    if (s == SR_OK)
        s = sr_kafka_conf_set(conf, "transactional.id",
                              commit ? "model-topic-tool-corrupt" : "model-topic-tool-abort", err);
    char reason[512];
    rd_kafka_t *producer = s == SR_OK ? rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason) : NULL;
    if (s == SR_OK && !producer) s = sr_fail(err, SR_ERR_KAFKA, "producer: %s", reason);
    if (s == SR_OK) s = kafka_check(rd_kafka_init_transactions(producer, 30000), "init", err);
    if (s == SR_OK) s = kafka_check(rd_kafka_begin_transaction(producer), "begin", err);
    uint8_t sha[32];
    if (s == SR_OK) s = modelio_sha256(file.data, file.len, sha, err);
    size_t chunk = damage == DAMAGE_MISSING_CHUNK ? (file.len + 1) / 2 : SR_MODEL_CHUNK_DEFAULT_BYTES;
    int32_t count = (int32_t)((file.len + chunk - 1) / chunk);
    for (int32_t i = 0; s == SR_OK && i <= count; i++) {
        char key[MODEL_CHUNK_KEY_MAX];
        sr_buffer_reset(&record);
        if (i < count && damage == DAMAGE_MISSING_CHUNK && i > 0) continue;
        if (i < count) {
            size_t at = (size_t)i * chunk, n = file.len - at < chunk ? file.len - at : chunk;
            model_chunk_record c = {.model_version = o->version, .chunk_index = i, .chunk_count = count,
                                    .offset = (int64_t)at, .crc32c = modelio_crc32c(0, file.data + at, n),
                                    .data = file.data + at, .data_len = n};
            memcpy(c.file_sha256, sha, 32);
            model_chunk_key(i, key);
            if (damage == DAMAGE_CHUNK_CRC) file.data[at + n / 2] ^= 0x5a; /* after its CRC */
            s = model_chunk_encode(&c, &record, err);
        } else {
            sr_model_manifest m = {.model_version = o->version, .chunk_count = count,
                                   .total_bytes = (int64_t)file.len};
            memcpy(m.sha256, sha, 32);
            snprintf(key, sizeof key, MODEL_MANIFEST_KEY);
            s = model_manifest_encode(&m, &record, err);
        }
        rd_kafka_resp_err_t rc = s != SR_OK ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE(record.data, record.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (rc) s = sr_fail(err, SR_ERR_KAFKA, "produce: %s", rd_kafka_err2str(rc));
    }
    if (s == SR_OK && rd_kafka_flush(producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        s = sr_fail(err, SR_ERR_KAFKA, "flush timed out");
    if (s == SR_OK && !commit) s = kafka_check(rd_kafka_abort_transaction(producer, 30000), "abort", err);
    if (s == SR_OK && commit) s = kafka_check(rd_kafka_commit_transaction(producer, 30000), "commit", err);
    if (s == SR_OK && !commit) printf("aborted version=%" PRId64 " chunks=%" PRId32 "\n", o->version, count);
    if (s == SR_OK && commit)
        printf("corrupt version=%" PRId64 " chunks=%" PRId32 " damage=%s\n", o->version, count, o->damage);
    if (producer) rd_kafka_destroy(producer);
    else if (conf) rd_kafka_conf_destroy(conf);
    sr_buffer_free(&record);
    sr_buffer_free(&file);
    return s;
}

static sr_status expect(const struct options *o, sr_error *err) {
    sr_model_subscriber *sub;
    sr_model_subscriber_options so = {.bootstrap = getenv("STREAMREC_BOOTSTRAP"), .topic = o->topic};
    sr_status s = sr_model_subscriber_new(&so, &sub, err);
    if (s != SR_OK) return s;
    s = sr_model_subscriber_catch_up(sub, 60000, err);
    const sr_model_release *r = s == SR_OK ? sr_model_subscriber_latest(sub) : NULL;
    char hex[65] = "";
    if (r) modelio_hex(r->manifest.sha256, hex);
    if (s == SR_OK && !r) s = sr_fail(err, SR_ERR_NOT_FOUND, "no verified model on '%s'", o->topic);
    if (s == SR_OK && (r->manifest.model_version != o->version || strcmp(hex, o->sha256) != 0))
        s = sr_fail(err, SR_ERR_INVALID_VALUE, "latest is version %" PRId64 " sha256 %s, expected %" PRId64 " %s",
                    r->manifest.model_version, hex, o->version, o->sha256);
    uint8_t digest[32];
    char actual[65];
    if (s == SR_OK) s = modelio_sha256(r->bytes, r->len, digest, err);
    if (s == SR_OK) {
        modelio_hex(digest, actual);
        if (strcmp(actual, o->sha256) != 0) s = sr_fail(err, SR_ERR_INVALID_VALUE, "bytes do not hash to %s", o->sha256);
    }
    sr_model *model = NULL;
    if (s == SR_OK) s = sr_model_load_buffer(r->bytes, r->len, &model, NULL, err);
    if (s == SR_OK && model->version != o->version)
        s = sr_fail(err, SR_ERR_INVALID_VALUE, "the model loaded is version %" PRId64, model->version);
    if (s == SR_OK) {
        sr_model_subscriber_stats st = sr_model_subscriber_get_stats(sub);
        printf("latest version=%" PRId64 " bytes=%zu items=%" PRIu32 " records=%" PRIu64 " applied=%" PRIu64
               " rejected=%" PRIu64 "\n", model->version, r->len, model->config.item_count, st.records, st.applied,
               st.rejected);
    }
    sr_model_free(model);
    sr_model_subscriber_free(sub);
    return s;
}

int main(int argc, char **argv) {
    static const struct option longs[] = {
        {"topic", required_argument, NULL, 't'},  {"version", required_argument, NULL, 'v'},
        {"items", required_argument, NULL, 'i'},  {"seed", required_argument, NULL, 's'},
        {"sha256", required_argument, NULL, 'h'}, {"damage", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    struct options o = {.seed = 1};
    if (argc < 2) {
        fprintf(stderr, "usage: model_topic_tool publish|abort|expect|corrupt OPTIONS\n");
        return 2;
    }
    const char *command = argv[1];
    optind = 2;
    for (int c; (c = getopt_long(argc, argv, "", longs, NULL)) != -1;) {
        switch (c) {
        case 't': o.topic = optarg; break;
        case 'v': o.version = strtoll(optarg, NULL, 10); break;
        case 'i': o.items = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 's': o.seed = strtoull(optarg, NULL, 10); break;
        case 'h': o.sha256 = optarg; break;
        case 'd': o.damage = optarg; break;
        default: return 2;
        }
    }
    if (!o.topic || !getenv("STREAMREC_BOOTSTRAP")) {
        fprintf(stderr, "model_topic_tool: --topic and STREAMREC_BOOTSTRAP are needed\n");
        return 2;
    }
    damage_kind damage = DAMAGE_NONE;
    if (o.damage && strcmp(o.damage, "chunk-crc") == 0) damage = DAMAGE_CHUNK_CRC;
    else if (o.damage && strcmp(o.damage, "file") == 0) damage = DAMAGE_FILE;
    else if (o.damage && strcmp(o.damage, "missing-chunk") == 0) damage = DAMAGE_MISSING_CHUNK;
    sr_error err;
    sr_status s;
    if (strcmp(command, "publish") == 0) s = publish(&o, &err);
    else if (strcmp(command, "abort") == 0) s = write_publication(&o, DAMAGE_NONE, false, &err);
    else if (strcmp(command, "corrupt") == 0 && damage != DAMAGE_NONE) s = write_publication(&o, damage, true, &err);
    else if (strcmp(command, "expect") == 0 && o.sha256) s = expect(&o, &err);
    else {
        fprintf(stderr, "model_topic_tool: unknown command or missing option\n");
        return 2;
    }
    if (s != SR_OK) {
        fprintf(stderr, "model_topic_tool %s: %s (%s)\n", command, err.message, sr_status_name(s));
        return 1;
    }
    return 0;
}
