/*
 * schema_plan.h — a writer schema resolved against the built-in UserEvent
 * reader (codec-internal).
 *
 * sr_plan_compile applies Avro schema resolution once: each writer field
 * becomes a step that either reads the value into its sr_user_event member
 * (with the promotions int->long, int/long/float->double, bytes->string, and
 * enum symbols mapped by name) or skips it; reader fields the writer lacks
 * keep their defaults, and a reader field without a default that the writer
 * lacks, or a type that cannot be resolved, fails with SR_ERR_SCHEMA naming
 * the field. sr_plan_decode then runs the steps over one record with no
 * allocation; a plan is immutable and may be shared by threads.
 */
#ifndef SR_CODEC_SCHEMA_PLAN_H
#define SR_CODEC_SCHEMA_PLAN_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/avro_binary.h"
#include "sr_error.h"
#include "sr_event.h"

/* What one writer value does to the event. A writer union is SR_OP_UNION with
 * one non-union action per branch (Avro unions do not nest). */
typedef enum sr_plan_op {
    SR_OP_SKIP,            /* a writer field the reader does not know */
    SR_OP_NULL,            /* null into an optional reader field: it keeps its default */
    SR_OP_LONG_FROM_INT,   /* into the int64_t member at `offset` */
    SR_OP_LONG,
    SR_OP_ENUM,            /* into event_type, through enum_map */
    SR_OP_SESSION,         /* string or bytes into session_id */
    SR_OP_VALUE_FROM_INT,  /* int, long, float or double into value */
    SR_OP_VALUE_FROM_LONG,
    SR_OP_VALUE_FROM_FLOAT,
    SR_OP_VALUE,
    SR_OP_UNION,           /* a branch index, then branches[index] */
    SR_OP_MISMATCH,        /* a writer union branch the reader field cannot take */
} sr_plan_op;

typedef struct sr_skip_node sr_skip_node;
typedef struct sr_plan_action sr_plan_action;

struct sr_plan_action {
    sr_plan_op op;
    size_t offset;                 /* SR_OP_LONG*: member of sr_user_event */
    const sr_skip_node *skip;      /* SR_OP_SKIP */
    int8_t *enum_map;              /* SR_OP_ENUM: writer symbol -> reader symbol or -1 */
    avro_schema_t writer;          /* the writer type: symbol and type names for messages */
    size_t branch_count;           /* SR_OP_UNION */
    sr_plan_action *branches;
};

typedef struct sr_plan_step {
    const char *field;             /* writer field name, owned by the plan's schema */
    sr_plan_action action;
} sr_plan_step;

typedef struct sr_skip_arena sr_skip_arena;

typedef struct sr_plan {
    avro_schema_t writer;
    sr_skip_arena *arena;
    size_t step_count;
    sr_plan_step *steps;           /* in writer order */
} sr_plan;

/* Parses writer_json with avro-c and resolves it; *out is the caller's. */
sr_status sr_plan_compile(const char *writer_json, size_t len, sr_plan **out, sr_error *err);
void sr_plan_free(sr_plan *plan);

/* Decodes one record that fills the rest of r, then validates it. */
sr_status sr_plan_decode(const sr_plan *plan, sr_avro_reader *r, sr_user_event *out, sr_error *err);

#endif
