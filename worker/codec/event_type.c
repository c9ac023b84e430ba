/* event_type.c — names of the EventType enum symbols. */
#include <strings.h>

#include "sr_event.h"

static const char *const names[SR_EVENT_TYPE_COUNT] = {"view", "click", "add_to_cart", "purchase"};

const char *sr_event_type_name(sr_event_type type) {
    if ((unsigned)type >= SR_EVENT_TYPE_COUNT) return "unknown";
    return names[type];
}

int sr_event_type_parse(const char *name) {
    for (int i = 0; i < SR_EVENT_TYPE_COUNT; i++)
        if (strcasecmp(name, names[i]) == 0) return i;
    return -1;
}
