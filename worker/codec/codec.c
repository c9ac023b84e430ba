/*
 * codec.c — the codec object: its table of registered writer schemas (Schema
 * Registry id -> resolution plan) and the wire framing in front of a record.
 *
 * The table is a sorted array searched by binary search: a handful of ids, looked
 * up once per record, read-only once registration is done. Registration is not
 * thread-safe; decoding is, since it only reads the table and the plans.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/schema_plan.h"
#include "sr_codec.h"
#include "sr_schemas.h"

typedef struct registered_schema {
    int32_t id;
    sr_plan *plan;
} registered_schema;

struct sr_codec {
    registered_schema *schemas; /* sorted by id */
    size_t count, cap;
    sr_plan *builtin;           /* for SR_WIRE_PLAIN, whatever id 1 later becomes */
};

int sr_wire_format_parse(const char *name) {
    if (strcmp(name, "plain") == 0) return SR_WIRE_PLAIN;
    if (strcmp(name, "registry") == 0) return SR_WIRE_REGISTRY;
    return -1;
}

sr_status sr_codec_new(sr_codec **out, sr_error *err) {
    sr_codec *codec = calloc(1, sizeof *codec);
    if (!codec) return sr_fail(err, SR_ERR_NOMEM, "out of memory creating a codec");
    sr_status s = sr_plan_compile(sr_schema_user_event, strlen(sr_schema_user_event), &codec->builtin, err);
    if (s == SR_OK)
        s = sr_codec_register_schema(codec, SR_CODEC_BUILTIN_SCHEMA_ID, sr_schema_user_event, err);
    if (s != SR_OK) {
        sr_codec_free(codec);
        return sr_error_wrap(err, s, "built-in UserEvent schema");
    }
    *out = codec;
    return SR_OK;
}

void sr_codec_free(sr_codec *codec) {
    if (!codec) return;
    for (size_t i = 0; i < codec->count; i++) sr_plan_free(codec->schemas[i].plan);
    sr_plan_free(codec->builtin);
    free(codec->schemas);
    free(codec);
}

/* Index of id in the table, or where it would go (then not equal). */
static size_t find_slot(const sr_codec *codec, int32_t id) {
    size_t lo = 0, hi = codec->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (codec->schemas[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static sr_status insert_plan(sr_codec *codec, int32_t id, sr_plan *plan, sr_error *err) {
    size_t at = find_slot(codec, id);
    if (at < codec->count && codec->schemas[at].id == id) {
        sr_plan_free(codec->schemas[at].plan);
        codec->schemas[at].plan = plan;
        return SR_OK;
    }
    if (codec->count == codec->cap) {
        size_t cap = codec->cap ? codec->cap * 2 : 8;
        registered_schema *p = realloc(codec->schemas, cap * sizeof *p);
        if (!p) return sr_fail(err, SR_ERR_NOMEM, "out of memory registering schema %d", (int)id);
        codec->schemas = p;
        codec->cap = cap;
    }
    memmove(&codec->schemas[at + 1], &codec->schemas[at], (codec->count - at) * sizeof *codec->schemas);
    codec->schemas[at] = (registered_schema){id, plan};
    codec->count++;
    return SR_OK;
}

sr_status sr_codec_register_schema(sr_codec *codec, int32_t schema_id, const char *writer_schema_json,
                                   sr_error *err) {
    if (!codec || !writer_schema_json) return sr_fail(err, SR_ERR_INVALID_ARG, "no codec or no schema");
    sr_plan *plan;
    sr_status s = sr_plan_compile(writer_schema_json, strlen(writer_schema_json), &plan, err);
    if (s == SR_OK && (s = insert_plan(codec, schema_id, plan, err)) != SR_OK) sr_plan_free(plan);
    if (s != SR_OK) return sr_error_wrap(err, s, "schema id %d", (int)schema_id);
    return SR_OK;
}

static const sr_plan *find_plan(const sr_codec *codec, int32_t id) {
    size_t at = find_slot(codec, id);
    return at < codec->count && codec->schemas[at].id == id ? codec->schemas[at].plan : NULL;
}

/* Registry framing: 0x00, then the schema id as a big-endian int32. */
static sr_status read_frame(const sr_codec *codec, sr_avro_reader *r, const sr_plan **plan,
                            sr_error *err) {
    size_t len = sr_avro_remaining(r);
    if (len >= 1 && r->pos[0] != 0)
        return sr_fail(err, SR_ERR_BAD_MAGIC, "magic byte is 0x%02x, not 0x00, at byte 0", r->pos[0]);
    if (len < 5)
        return sr_fail(err, SR_ERR_TRUNCATED, "record of %zu bytes ends inside the 5-byte registry header", len);
    uint32_t id = (uint32_t)r->pos[1] << 24 | (uint32_t)r->pos[2] << 16 | (uint32_t)r->pos[3] << 8 | r->pos[4];
    *plan = find_plan(codec, (int32_t)id);
    if (!*plan) return sr_fail(err, SR_ERR_UNKNOWN_SCHEMA, "schema id %d at byte 1 is not registered", (int32_t)id);
    r->pos += 5;
    return SR_OK;
}

sr_status sr_codec_decode_event(const sr_codec *codec, sr_wire_format wire, const void *buf, size_t len,
                                sr_user_event *out, sr_error *err) {
    if (!codec || (!buf && len) || !out) return sr_fail(err, SR_ERR_INVALID_ARG, "no codec, buffer or event");
    sr_avro_reader r = sr_avro_reader_make(buf ? buf : "", len);
    const sr_plan *plan = codec->builtin;
    if (wire == SR_WIRE_REGISTRY) {
        sr_status s = read_frame(codec, &r, &plan, err);
        if (s != SR_OK) return s;
    } else if (wire != SR_WIRE_PLAIN) {
        return sr_fail(err, SR_ERR_INVALID_ARG, "unknown wire format %d", (int)wire);
    }
    return sr_plan_decode(plan, &r, out, err);
}
