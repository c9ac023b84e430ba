/*
 * sr_codec.h — Avro encoding and decoding of streamrec's records.
 *
 * Events arrive either as plain Avro binary (written with schemas/user_event.avsc)
 * or in the Schema Registry wire format: magic byte 0, a 4-byte big-endian schema
 * id, then Avro binary written with the schema that id names. Ids map to writer
 * schemas registered here (for now from local schema files, see
 * sr_codec_load_schema_map); id 1 is the built-in UserEvent schema.
 *
 * A writer schema is compiled once, on registration, into a resolution plan
 * against the reader schema (Avro schema resolution: fields match by name in any
 * order, fields the reader does not know are skipped whatever their type, reader
 * fields the writer lacks take their defaults, promotions int->long,
 * int/long/float->double and bytes->string apply, enum symbols map by name).
 * Decoding then runs the plan over the bytes with no allocation and never reads
 * outside [buf, buf+len).
 *
 *     sr_codec *codec;
 *     sr_error err;
 *     if (sr_codec_new(&codec, &err) != SR_OK) ...
 *     sr_user_event ev;
 *     if (sr_codec_decode_event(codec, SR_WIRE_REGISTRY, value, len, &ev, &err) != SR_OK)
 *         send_to_dlq(value, len, sr_status_name(err.status), err.message);
 *
 * A decoded event's session_id points into the input buffer: copy it if the
 * buffer goes away. A codec is read-only after registration: any number of
 * threads may decode with one codec at once.
 */
#ifndef SR_CODEC_H
#define SR_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_buffer.h"
#include "sr_error.h"
#include "sr_event.h"

typedef enum sr_wire_format {
    SR_WIRE_PLAIN,     /* Avro binary written with the built-in UserEvent schema */
    SR_WIRE_REGISTRY,  /* 0x00, int32 big-endian schema id, Avro binary */
} sr_wire_format;

/* Parses "plain" or "registry"; -1 for anything else. */
int sr_wire_format_parse(const char *name);

#define SR_CODEC_BUILTIN_SCHEMA_ID 1

typedef struct sr_codec sr_codec;

/* A codec that knows the built-in UserEvent schema under id 1. */
sr_status sr_codec_new(sr_codec **out, sr_error *err);
void sr_codec_free(sr_codec *codec);

/* Registers a writer schema (JSON text) under a Schema Registry id. Fails with
 * SR_ERR_SCHEMA when the schema is invalid or cannot be resolved against the
 * reader schema (not a record named UserEvent, a required reader field the
 * writer lacks and that has no default, a type that cannot be promoted),
 * naming the field; the id is then left as it was. Re-registering an id
 * replaces it; SR_WIRE_PLAIN always means the built-in schema. A writer union
 * resolves branch by branch: a branch the reader cannot take (null for
 * user_id) and a writer enum symbol the reader lacks fail only in the records
 * that use them (SR_ERR_INVALID_VALUE, SR_ERR_BAD_ENUM). Not thread-safe:
 * register before decoding starts. */
sr_status sr_codec_register_schema(sr_codec *codec, int32_t schema_id,
                                   const char *writer_schema_json, sr_error *err);

/* Registers every schema listed in a map file: one "<id> <path>" per line
 * (id 0..2^31-1), '#' comments, blank lines, paths relative to the map file's
 * folder. Fails with SR_ERR_IO, SR_ERR_PARSE (a bad line) or SR_ERR_SCHEMA,
 * naming "<map>:<line>"; schemas of the lines before stay registered. */
sr_status sr_codec_load_schema_map(sr_codec *codec, const char *map_path, sr_error *err);

/* Decodes one UserEvent record. On failure err names the kind of damage
 * (SR_ERR_TRUNCATED, SR_ERR_BAD_MAGIC, SR_ERR_UNKNOWN_SCHEMA, SR_ERR_BAD_VARINT,
 * SR_ERR_BAD_UNION, SR_ERR_BAD_ENUM, SR_ERR_TRAILING_BYTES, SR_ERR_BAD_LENGTH,
 * SR_ERR_INVALID_VALUE; SR_ERR_LIMIT for values nested deeper than 64 in a
 * skipped field of a recursive writer schema), the field and the byte offset,
 * and *out is unspecified. Valid means: session_id at most SR_SESSION_ID_MAX
 * bytes, value finite. */
sr_status sr_codec_decode_event(const sr_codec *codec, sr_wire_format wire,
                                const void *buf, size_t len, sr_user_event *out,
                                sr_error *err);

/* Appends one UserEvent to out, framed as `wire` (registry framing uses id 1).
 * Refuses, with SR_ERR_INVALID_VALUE and out unchanged, an event the decoder
 * would refuse (unknown event_type, session_id too long, non-finite value). */
sr_status sr_encode_event(const sr_user_event *event, sr_wire_format wire,
                          sr_buffer *out, sr_error *err);

/* Record keys. Events and recommendations are keyed by the user id in
 * decimal ("42", "-7"), so that each user's records share a partition.
 * Whether key (len bytes, not NUL-terminated) is exactly user_id so written:
 * no sign for non-negative ids, no leading zeros, no spaces. */
bool sr_key_is_user_id(const void *key, size_t len, int64_t user_id);

/* The user id a key (len bytes) names, when it is written that way; false for
 * anything else (no key, spaces, leading zeros, out of range). */
bool sr_key_user_id(const void *key, size_t len, int64_t *user_id);

/* Appends one Recommendation, plain Avro binary (items in one block), to out. */
sr_status sr_encode_recommendation(const sr_recommendation *rec, sr_buffer *out,
                                   sr_error *err);

/* Decodes a plain-Avro Recommendation; items are written into items_buf (up to
 * items_cap; more is SR_ERR_LIMIT) and rec->items points at it. */
sr_status sr_decode_recommendation(const void *buf, size_t len, sr_recommendation *rec,
                                   sr_recommended_item *items_buf, size_t items_cap,
                                   sr_error *err);

/* One user's state as the changelog carries it (schemas/user_state.avsc).
 * hidden: the model's state floats (H; with hidden-state attention H + T x H),
 * little-endian float32 on the wire. recent_*: the window, oldest first.
 * sequence_hash travels as Avro long (the same 64 bits). */
typedef struct sr_user_state_record {
    int64_t user_id;
    int64_t model_version;
    const float *hidden;
    size_t hidden_count;
    const int64_t *recent_items;
    const uint8_t *recent_types;
    size_t recent_count;
    uint64_t applied_events;
    uint64_t sequence_hash;
    int64_t last_event_time_ms;
    int64_t last_scored_at_ms;
    int32_t source_partition;
    int64_t source_offset;
} sr_user_state_record;

/* Appends one UserState, plain Avro binary (the window in one block), to out.
 * SR_ERR_INVALID_VALUE for a non-finite hidden value or an event type out of
 * range (out unchanged). */
sr_status sr_encode_user_state(const sr_user_state_record *state, sr_buffer *out, sr_error *err);

/* Decodes a plain-Avro UserState. The hidden floats go to hidden_buf (at most
 * hidden_cap), the window to items_buf and types_buf (at most window_cap;
 * more is SR_ERR_LIMIT), and the record's pointers point at them. Damage is
 * reported as sr_codec_decode_event does; a non-finite float, an event type
 * out of range or a types length unequal to the items' is
 * SR_ERR_INVALID_VALUE. */
sr_status sr_decode_user_state(const void *buf, size_t len, sr_user_state_record *state,
                               float *hidden_buf, size_t hidden_cap, int64_t *items_buf,
                               uint8_t *types_buf, size_t window_cap, sr_error *err);

#endif
