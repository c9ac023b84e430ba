/*
 * avro_skip.h — skipping a value of any Avro type (codec-internal).
 *
 * A writer schema field the reader does not know is compiled once, at schema
 * registration, into a tree of skip nodes; skipping then walks that tree over
 * the bytes with no allocation and the bounds of avro_binary.h. Named types are
 * compiled once, so recursive schemas make a graph, and a nesting limit keeps
 * hostile input from exhausting the stack (SR_ERR_LIMIT).
 *
 * Skipping checks what it can without a reader: union branches and enum
 * indexes in range, lengths non-negative and inside the record, and that an
 * array's item count could fit in the bytes left.
 */
#ifndef SR_CODEC_AVRO_SKIP_H
#define SR_CODEC_AVRO_SKIP_H

#include <avro.h>

#include "codec/avro_binary.h"

/* Deeper nesting than this, in a recursive schema, is SR_ERR_LIMIT. */
#define SR_AVRO_MAX_DEPTH 64

typedef struct sr_skip_node sr_skip_node;

/* Owns every node compiled for one writer schema; freed all at once. */
typedef struct sr_skip_arena sr_skip_arena;

sr_status sr_skip_arena_new(sr_skip_arena **out, sr_error *err);
void sr_skip_arena_free(sr_skip_arena *arena);

/* Compiles the skip tree for schema; nodes live in arena. */
sr_status sr_skip_compile(sr_skip_arena *arena, avro_schema_t schema, const sr_skip_node **out,
                          sr_error *err);

/* Skips one value; `what` names the field in error messages. */
sr_status sr_skip_value(const sr_skip_node *node, sr_avro_reader *r, const char *what,
                        sr_error *err);

#endif
