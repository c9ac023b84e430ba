/*
 * event_decoder.c — running a resolution plan over one UserEvent record.
 *
 * Promise: sr_plan_decode reads only inside the reader's bounds, allocates
 * nothing, and on success has consumed the record exactly (anything left is
 * SR_ERR_TRAILING_BYTES) and validated it: a session id of at most
 * SR_SESSION_ID_MAX bytes and a finite value, else SR_ERR_INVALID_VALUE. Every
 * message names the writer field and the byte offset of the bad value.
 */
#include <inttypes.h>
#include <math.h>

#include "codec/avro_skip.h"
#include "codec/schema_plan.h"

static sr_status fail_value(const sr_avro_reader *at, const char *field, const char *why,
                            sr_error *err) {
    return sr_fail(err, SR_ERR_INVALID_VALUE, "%s: value at byte %zu %s", field, sr_avro_offset(at), why);
}

static sr_status set_value(const sr_avro_reader *at, const char *field, double v, sr_user_event *ev,
                           sr_error *err) {
    if (!isfinite(v)) return fail_value(at, field, "is not a finite number", err);
    ev->has_value = true;
    ev->value = v;
    return SR_OK;
}

static sr_status read_session(const sr_avro_reader *at, sr_avro_reader *r, const char *field,
                              sr_user_event *ev, sr_error *err) {
    const uint8_t *data;
    size_t len;
    sr_status s = sr_avro_read_bytes(r, field, &data, &len, err);
    if (s != SR_OK) return s;
    if (len > SR_SESSION_ID_MAX) return fail_value(at, field, "is longer than 256 bytes", err);
    ev->has_session_id = true;
    ev->session_id = (const char *)data;
    ev->session_id_len = len;
    return SR_OK;
}

static sr_status read_enum(const sr_plan_action *a, sr_avro_reader *r, const char *field,
                           sr_user_event *ev, sr_error *err) {
    sr_avro_reader at = *r;
    int64_t index;
    sr_status s = sr_avro_read_long(r, field, &index, err);
    if (s != SR_OK) return s;
    int n = avro_schema_enum_number_of_symbols(a->writer);
    if (index < 0 || index >= n)
        return sr_fail(err, SR_ERR_BAD_ENUM, "%s: enum index %" PRId64 " at byte %zu is not in [0, %d)",
                       field, index, sr_avro_offset(&at), n);
    if (a->enum_map[index] < 0)
        return sr_fail(err, SR_ERR_BAD_ENUM, "%s: symbol %s at byte %zu is unknown to this reader", field,
                       avro_schema_enum_get(a->writer, (int)index), sr_avro_offset(&at));
    ev->event_type = (sr_event_type)a->enum_map[index];
    return SR_OK;
}

static sr_status apply(const sr_plan_action *a, sr_avro_reader *r, const char *field,
                       sr_user_event *ev, sr_error *err);

static sr_status read_union(const sr_plan_action *a, sr_avro_reader *r, const char *field,
                            sr_user_event *ev, sr_error *err) {
    sr_avro_reader at = *r;
    int64_t branch;
    sr_status s = sr_avro_read_long(r, field, &branch, err);
    if (s != SR_OK) return s;
    if (branch < 0 || (uint64_t)branch >= a->branch_count)
        return sr_fail(err, SR_ERR_BAD_UNION, "%s: union branch %" PRId64 " at byte %zu is not in [0, %zu)",
                       field, branch, sr_avro_offset(&at), a->branch_count);
    const sr_plan_action *b = &a->branches[branch];
    if (b->op == SR_OP_MISMATCH)
        return fail_value(&at, field, "is of a union branch this reader cannot take", err);
    return apply(b, r, field, ev, err); /* branches are never unions: one level deep */
}

/* Reads one writer value per its action into ev. */
static sr_status apply(const sr_plan_action *a, sr_avro_reader *r, const char *field,
                       sr_user_event *ev, sr_error *err) {
    sr_avro_reader at = *r;
    sr_status s;
    int32_t i;
    int64_t l;
    float f;
    double d;
    switch (a->op) {
    case SR_OP_LONG: return sr_avro_read_long(r, field, (int64_t *)((char *)ev + a->offset), err);
    case SR_OP_LONG_FROM_INT:
        if ((s = sr_avro_read_int(r, field, &i, err)) == SR_OK) *(int64_t *)((char *)ev + a->offset) = i;
        return s;
    case SR_OP_ENUM: return read_enum(a, r, field, ev, err);
    case SR_OP_UNION: return read_union(a, r, field, ev, err);
    case SR_OP_NULL: return SR_OK;
    case SR_OP_SESSION: return read_session(&at, r, field, ev, err);
    case SR_OP_VALUE:
        if ((s = sr_avro_read_double(r, field, &d, err)) != SR_OK) return s;
        return set_value(&at, field, d, ev, err);
    case SR_OP_VALUE_FROM_FLOAT:
        if ((s = sr_avro_read_float(r, field, &f, err)) != SR_OK) return s;
        return set_value(&at, field, f, ev, err);
    case SR_OP_VALUE_FROM_INT:
        if ((s = sr_avro_read_int(r, field, &i, err)) != SR_OK) return s;
        return set_value(&at, field, i, ev, err);
    case SR_OP_VALUE_FROM_LONG:
        if ((s = sr_avro_read_long(r, field, &l, err)) != SR_OK) return s;
        return set_value(&at, field, (double)l, ev, err);
    case SR_OP_SKIP: return sr_skip_value(a->skip, r, field, err);
    case SR_OP_MISMATCH: break;
    }
    return fail_value(&at, field, "cannot be read by this reader", err);
}

sr_status sr_plan_decode(const sr_plan *plan, sr_avro_reader *r, sr_user_event *out, sr_error *err) {
    /* Reader defaults: the optional fields are absent unless the writer says otherwise. */
    *out = (sr_user_event){0};
    for (size_t i = 0; i < plan->step_count; i++) {
        sr_status s = apply(&plan->steps[i].action, r, plan->steps[i].field, out, err);
        if (s != SR_OK) return s;
    }
    if (r->pos != r->end)
        return sr_fail(err, SR_ERR_TRAILING_BYTES, "%zu bytes left over after the record, at byte %zu",
                       sr_avro_remaining(r), sr_avro_offset(r));
    return SR_OK;
}
