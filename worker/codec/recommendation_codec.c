/*
 * recommendation_codec.c — Recommendation records (schemas/recommendation.avsc)
 * as plain Avro binary, both ways.
 *
 * The encoder writes the item list as one array block; the decoder accepts any
 * blocking, including blocks with a negative count and a byte size, as the Avro
 * specification allows. The decoder keeps the bounds promises of avro_binary.h
 * and writes at most items_cap items.
 */
#include <inttypes.h>

#include "codec/avro_binary.h"
#include "sr_codec.h"

/* Six header varints, one block count, the terminating 0. */
#define HEADER_MAX_BYTES (8 * SR_AVRO_MAX_VARINT)
#define ITEM_MAX_BYTES (SR_AVRO_MAX_VARINT + 4)

sr_status sr_encode_recommendation(const sr_recommendation *rec, sr_buffer *out, sr_error *err) {
    if (rec->item_count && !rec->items)
        return sr_fail(err, SR_ERR_INVALID_ARG, "items is NULL but item_count is %zu", rec->item_count);
    if (rec->item_count > (SIZE_MAX - HEADER_MAX_BYTES) / ITEM_MAX_BYTES || rec->item_count > SR_AVRO_MAX_LENGTH)
        return sr_fail(err, SR_ERR_LIMIT, "%zu items is too many for one record", rec->item_count);
    sr_status s = sr_buffer_reserve(out, HEADER_MAX_BYTES + rec->item_count * ITEM_MAX_BYTES, err);
    if (s != SR_OK) return s;
    uint8_t *p = out->data + out->len;
    size_t n = 0;
    n += sr_avro_put_long(p + n, rec->user_id);
    n += sr_avro_put_long(p + n, rec->model_version);
    n += sr_avro_put_long(p + n, rec->generated_at_ms);
    n += sr_avro_put_long(p + n, rec->last_event_time_ms);
    n += sr_avro_put_long(p + n, rec->source_partition);
    n += sr_avro_put_long(p + n, rec->source_offset);
    if (rec->item_count) {
        n += sr_avro_put_long(p + n, (int64_t)rec->item_count);
        for (size_t i = 0; i < rec->item_count; i++) {
            n += sr_avro_put_long(p + n, rec->items[i].item_id);
            n += sr_avro_put_float(p + n, rec->items[i].score);
        }
    }
    n += sr_avro_put_long(p + n, 0);
    out->len += n;
    return SR_OK;
}

static sr_status read_header(sr_avro_reader *r, sr_recommendation *rec, sr_error *err) {
    sr_status s;
    if ((s = sr_avro_read_long(r, "user_id", &rec->user_id, err)) != SR_OK) return s;
    if ((s = sr_avro_read_long(r, "model_version", &rec->model_version, err)) != SR_OK) return s;
    if ((s = sr_avro_read_long(r, "generated_at", &rec->generated_at_ms, err)) != SR_OK) return s;
    if ((s = sr_avro_read_long(r, "last_event_time", &rec->last_event_time_ms, err)) != SR_OK) return s;
    if ((s = sr_avro_read_int(r, "source_partition", &rec->source_partition, err)) != SR_OK) return s;
    return sr_avro_read_long(r, "source_offset", &rec->source_offset, err);
}

static sr_status read_items(sr_avro_reader *r, sr_recommended_item *items, size_t cap, size_t *count,
                            sr_error *err) {
    *count = 0;
    for (;;) {
        int64_t block;
        sr_status s = sr_avro_read_block_count(r, "items", &block, err);
        if (s != SR_OK || block == 0) return s;
        if ((uint64_t)block > cap - *count)
            return sr_fail(err, SR_ERR_LIMIT, "items: more than %zu items at byte %zu", cap, sr_avro_offset(r));
        for (int64_t i = 0; i < block; i++, (*count)++) {
            if ((s = sr_avro_read_long(r, "items.item_id", &items[*count].item_id, err)) != SR_OK) return s;
            if ((s = sr_avro_read_float(r, "items.score", &items[*count].score, err)) != SR_OK) return s;
        }
    }
}

sr_status sr_decode_recommendation(const void *buf, size_t len, sr_recommendation *rec,
                                   sr_recommended_item *items_buf, size_t items_cap, sr_error *err) {
    if ((!buf && len) || !rec || (!items_buf && items_cap))
        return sr_fail(err, SR_ERR_INVALID_ARG, "no buffer, record or item buffer");
    sr_avro_reader r = sr_avro_reader_make(buf ? buf : "", len);
    *rec = (sr_recommendation){0};
    sr_status s = read_header(&r, rec, err);
    if (s == SR_OK) s = read_items(&r, items_buf, items_cap, &rec->item_count, err);
    if (s != SR_OK) return s;
    if (r.pos != r.end)
        return sr_fail(err, SR_ERR_TRAILING_BYTES, "%zu bytes left over after the record, at byte %zu",
                       sr_avro_remaining(&r), sr_avro_offset(&r));
    rec->items = items_buf;
    return SR_OK;
}
