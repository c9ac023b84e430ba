/*
 * schema_plan.c — compiling a writer schema into a resolution plan against the
 * built-in UserEvent reader (see schema_plan.h for the promise).
 *
 * The reader is the table below rather than a parsed schema because the
 * decoder's target is a C struct: each reader field names the member it fills.
 * The table mirrors schemas/user_event.avsc; test_codec checks that the two
 * agree (names, types, enum symbols), and the built-in id 1 is registered by
 * compiling that very .avsc against this table.
 *
 * Resolution follows the Avro specification, restricted to the reader's types:
 * records match by unqualified name, fields by name in any order, enums by
 * name with symbols mapped by name, and for unions: a writer union resolves
 * branch by branch (a branch the reader cannot take fails only when a record
 * uses it); a reader union ["null", T] takes a writer null or anything T
 * accepts.
 */
#include "codec/schema_plan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec/avro_skip.h"

typedef enum reader_kind { READER_LONG, READER_EVENT_TYPE, READER_SESSION, READER_VALUE } reader_kind;

typedef struct reader_field {
    const char *name;
    reader_kind kind;
    size_t offset;     /* READER_LONG: the int64_t member */
    bool has_default;  /* the .avsc gives a default (null for both optional fields) */
} reader_field;

static const reader_field reader_fields[] = {
    {"user_id", READER_LONG, offsetof(sr_user_event, user_id), false},
    {"item_id", READER_LONG, offsetof(sr_user_event, item_id), false},
    {"event_type", READER_EVENT_TYPE, 0, false},
    {"event_time", READER_LONG, offsetof(sr_user_event, event_time_ms), false},
    {"session_id", READER_SESSION, 0, true},
    {"value", READER_VALUE, 0, true},
};
#define READER_FIELD_COUNT (sizeof reader_fields / sizeof reader_fields[0])

static const char *const reader_symbols[SR_EVENT_TYPE_COUNT] = {"VIEW", "CLICK", "ADD_TO_CART",
                                                                "PURCHASE"};

static const char *const reader_type_names[] = {
    [READER_LONG] = "long",
    [READER_EVENT_TYPE] = "enum EventType",
    [READER_SESSION] = "[\"null\", \"string\"]",
    [READER_VALUE] = "[\"null\", \"double\"]",
};

static const reader_field *find_reader_field(const char *name) {
    for (size_t i = 0; i < READER_FIELD_COUNT; i++)
        if (strcmp(reader_fields[i].name, name) == 0) return &reader_fields[i];
    return NULL;
}

static avro_schema_t resolve_link(avro_schema_t s) {
    return is_avro_link(s) ? avro_schema_link_target(s) : s;
}

/* Maps each writer symbol to the reader symbol of the same name, or -1. */
static sr_status build_enum_map(avro_schema_t w, sr_plan_action *a, sr_error *err) {
    int n = avro_schema_enum_number_of_symbols(w);
    a->enum_map = malloc(n > 0 ? (size_t)n : 1);
    if (!a->enum_map) return sr_fail(err, SR_ERR_NOMEM, "out of memory compiling a schema");
    for (int i = 0; i < n; i++) {
        a->enum_map[i] = -1;
        for (int j = 0; j < SR_EVENT_TYPE_COUNT; j++)
            if (strcmp(avro_schema_enum_get(w, i), reader_symbols[j]) == 0) a->enum_map[i] = (int8_t)j;
    }
    a->op = SR_OP_ENUM;
    return SR_OK;
}

/* Resolves one non-union writer type; SR_OP_MISMATCH when the reader field
 * cannot take it (the caller decides whether that is an error now or later). */
static sr_status resolve_branch(avro_schema_t w, const reader_field *f, sr_plan_action *a,
                                sr_error *err) {
    avro_type_t t = avro_typeof(w);
    a->writer = w;
    a->op = SR_OP_MISMATCH;
    switch (f->kind) {
    case READER_LONG:
        a->offset = f->offset;
        if (t == AVRO_INT32) a->op = SR_OP_LONG_FROM_INT;
        if (t == AVRO_INT64) a->op = SR_OP_LONG;
        return SR_OK;
    case READER_EVENT_TYPE:
        if (t == AVRO_ENUM && strcmp(avro_schema_name(w), "EventType") == 0) return build_enum_map(w, a, err);
        return SR_OK;
    case READER_SESSION:
        if (t == AVRO_NULL) a->op = SR_OP_NULL;
        if (t == AVRO_STRING || t == AVRO_BYTES) a->op = SR_OP_SESSION;
        return SR_OK;
    case READER_VALUE:
        if (t == AVRO_NULL) a->op = SR_OP_NULL;
        if (t == AVRO_INT32) a->op = SR_OP_VALUE_FROM_INT;
        if (t == AVRO_INT64) a->op = SR_OP_VALUE_FROM_LONG;
        if (t == AVRO_FLOAT) a->op = SR_OP_VALUE_FROM_FLOAT;
        if (t == AVRO_DOUBLE) a->op = SR_OP_VALUE;
        return SR_OK;
    }
    return SR_OK;
}

static sr_status fail_types(const reader_field *f, avro_schema_t w, sr_error *err) {
    return sr_fail(err, SR_ERR_SCHEMA, "field %s: writer type %s%s%s cannot be read as %s", f->name,
                   avro_schema_type_name(w), is_avro_named_type(w) ? " " : "",
                   is_avro_named_type(w) ? avro_schema_name(w) : "", reader_type_names[f->kind]);
}

/* A writer union: every branch resolved; at least one must match. */
static sr_status resolve_union(avro_schema_t w, const reader_field *f, sr_plan_action *a,
                               sr_error *err) {
    a->op = SR_OP_UNION;
    a->writer = w;
    a->branch_count = avro_schema_union_size(w);
    a->branches = calloc(a->branch_count ? a->branch_count : 1, sizeof *a->branches);
    if (!a->branches) return sr_fail(err, SR_ERR_NOMEM, "out of memory compiling a schema");
    size_t matches = 0;
    for (size_t i = 0; i < a->branch_count; i++) {
        avro_schema_t b = resolve_link(avro_schema_union_branch(w, (int)i));
        sr_status s = resolve_branch(b, f, &a->branches[i], err);
        if (s != SR_OK) return s;
        matches += a->branches[i].op != SR_OP_MISMATCH;
    }
    return matches ? SR_OK : fail_types(f, w, err);
}

static sr_status resolve_field(avro_schema_t w, const reader_field *f, sr_plan_action *a,
                               sr_error *err) {
    w = resolve_link(w);
    if (is_avro_union(w)) return resolve_union(w, f, a, err);
    sr_status s = resolve_branch(w, f, a, err);
    if (s == SR_OK && a->op == SR_OP_MISMATCH) return fail_types(f, w, err);
    return s;
}

static sr_status compile_step(sr_plan *plan, size_t i, bool *seen, sr_error *err) {
    sr_plan_step *step = &plan->steps[i];
    avro_schema_t w = avro_schema_record_field_get_by_index(plan->writer, (int)i);
    step->field = avro_schema_record_field_name(plan->writer, (int)i);
    const reader_field *f = find_reader_field(step->field);
    if (!f) {
        step->action.op = SR_OP_SKIP;
        return sr_skip_compile(plan->arena, w, &step->action.skip, err);
    }
    seen[f - reader_fields] = true;
    return resolve_field(w, f, &step->action, err);
}

static sr_status check_defaults(const bool *seen, sr_error *err) {
    for (size_t i = 0; i < READER_FIELD_COUNT; i++)
        if (!seen[i] && !reader_fields[i].has_default)
            return sr_fail(err, SR_ERR_SCHEMA,
                           "field %s: the writer schema lacks it and the reader has no default",
                           reader_fields[i].name);
    return SR_OK;
}

static sr_status compile_record(sr_plan *plan, sr_error *err) {
    if (!is_avro_record(plan->writer) || strcmp(avro_schema_name(plan->writer), "UserEvent") != 0)
        return sr_fail(err, SR_ERR_SCHEMA, "writer schema is %s %s, not record UserEvent",
                       avro_schema_type_name(plan->writer),
                       is_avro_named_type(plan->writer) ? avro_schema_name(plan->writer) : "");
    sr_status s = sr_skip_arena_new(&plan->arena, err);
    if (s != SR_OK) return s;
    plan->step_count = avro_schema_record_size(plan->writer);
    plan->steps = calloc(plan->step_count ? plan->step_count : 1, sizeof *plan->steps);
    if (!plan->steps) return sr_fail(err, SR_ERR_NOMEM, "out of memory compiling a schema");
    bool seen[READER_FIELD_COUNT] = {false};
    for (size_t i = 0; i < plan->step_count; i++)
        if ((s = compile_step(plan, i, seen, err)) != SR_OK) return s;
    return check_defaults(seen, err);
}

sr_status sr_plan_compile(const char *writer_json, size_t len, sr_plan **out, sr_error *err) {
    sr_plan *plan = calloc(1, sizeof *plan);
    if (!plan) return sr_fail(err, SR_ERR_NOMEM, "out of memory compiling a schema");
    sr_status s;
    if (avro_schema_from_json_length(writer_json, len, &plan->writer) != 0) {
        plan->writer = NULL;
        s = sr_fail(err, SR_ERR_SCHEMA, "writer schema does not parse: %s", avro_strerror());
    } else {
        s = compile_record(plan, err);
    }
    if (s != SR_OK) {
        sr_plan_free(plan);
        return s;
    }
    *out = plan;
    return SR_OK;
}

static void free_action(sr_plan_action *a) {
    for (size_t i = 0; i < a->branch_count; i++) free_action(&a->branches[i]);
    free(a->branches);
    free(a->enum_map);
}

void sr_plan_free(sr_plan *plan) {
    if (!plan) return;
    for (size_t i = 0; plan->steps && i < plan->step_count; i++) free_action(&plan->steps[i].action);
    free(plan->steps);
    sr_skip_arena_free(plan->arena);
    if (plan->writer) avro_schema_decref(plan->writer);
    free(plan);
}
