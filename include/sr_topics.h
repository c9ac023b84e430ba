/*
 * sr_topics.h — default topic names (DESIGN.md, "The data flow"). Every command
 * lets the user override them; these are only the defaults.
 */
#ifndef SR_TOPICS_H
#define SR_TOPICS_H

#define SR_TOPIC_EVENTS "user-events"
#define SR_TOPIC_DLQ "user-events-dlq"
#define SR_TOPIC_RECOMMENDATIONS "user-recommendations"
#define SR_TOPIC_CHANGELOG "worker-state-changelog"
#define SR_TOPIC_MODELS "model-updates"

/* A topic the embedded broker and the test broker create up front. Topics
 * co-partitioned with the event topic get its partition count. */
typedef struct sr_topic_spec {
    const char *name;
    int copartitioned;  /* 1: as many partitions as the event topic; 0: one */
    int compacted;      /* cleanup.policy=compact on a real broker */
} sr_topic_spec;

extern const sr_topic_spec sr_default_topics[];
extern const int sr_default_topic_count;

#endif
