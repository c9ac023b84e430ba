/* topics.c — the default topics; see sr_topics.h. */
#include "sr_topics.h"

const sr_topic_spec sr_default_topics[] = {
    {SR_TOPIC_EVENTS, 1, 0},
    {SR_TOPIC_DLQ, 1, 0},
    {SR_TOPIC_RECOMMENDATIONS, 1, 0},
    {SR_TOPIC_CHANGELOG, 1, 1},
    {SR_TOPIC_MODELS, 0, 1},
};
const int sr_default_topic_count = sizeof sr_default_topics / sizeof sr_default_topics[0];
