/*
 * sr_event.h — the in-memory forms of the records on streamrec's topics
 * (schemas/user_event.avsc and schemas/recommendation.avsc).
 */
#ifndef SR_EVENT_H
#define SR_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Symbol indexes of the EventType enum; new types are appended before the count. */
typedef enum sr_event_type {
    SR_EVENT_VIEW = 0,
    SR_EVENT_CLICK = 1,
    SR_EVENT_ADD_TO_CART = 2,
    SR_EVENT_PURCHASE = 3,
    SR_EVENT_TYPE_COUNT
} sr_event_type;

/* "view", "click", "add_to_cart", "purchase"; "unknown" out of range. */
const char *sr_event_type_name(sr_event_type type);
/* Parses a name as above (case-insensitive, also the Avro symbols); -1 if unknown. */
int sr_event_type_parse(const char *name);

#define SR_SESSION_ID_MAX 256

typedef struct sr_user_event {
    int64_t user_id;
    int64_t item_id;
    sr_event_type event_type;
    int64_t event_time_ms;         /* timestamp-millis */
    bool has_session_id;
    const char *session_id;        /* not NUL-terminated; points into the decoded buffer */
    size_t session_id_len;
    bool has_value;
    double value;
} sr_user_event;

typedef struct sr_recommended_item {
    int64_t item_id;
    float score;
} sr_recommended_item;

typedef struct sr_recommendation {
    int64_t user_id;
    int64_t model_version;
    int64_t generated_at_ms;
    int64_t last_event_time_ms;
    int32_t source_partition;
    int64_t source_offset;
    const sr_recommended_item *items;  /* ranked best first */
    size_t item_count;
} sr_recommendation;

#endif
