/*
 * config_internal.h — what the files of worker/config share (see sr_config.h):
 *   config.c     the table, the values, setting and getting them
 *   kafka_keys.c the kafka.* pass-through: checking, keeping, applying
 *   sources.c    the properties file, the environment, the command line
 *   print.c      --print-config and --help
 */
#ifndef SR_CONFIG_INTERNAL_H
#define SR_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_config.h"

/* The effective value of one defined option. */
typedef struct config_value {
    char *text;   /* canonical text; NULL = unset (strings only) */
    char *source; /* NULL = "default" */
    int64_t i;    /* SR_OPT_INT */
    double d;     /* SR_OPT_DOUBLE */
    bool b;       /* SR_OPT_BOOL */
    int choice;   /* SR_OPT_ENUM: index into def->choices */
} config_value;

typedef enum kafka_scope { KAFKA_ALL, KAFKA_CONSUMER, KAFKA_PRODUCER } kafka_scope;

/* One kafka.* key as the user wrote it. */
typedef struct kafka_entry {
    char *key;            /* "kafka.consumer.group.id" */
    const char *property; /* into key: "group.id" */
    kafka_scope scope;
    char *value;
    char *source;
} kafka_entry;

struct sr_config {
    const sr_option_def *defs; /* borrowed */
    size_t count;
    config_value *values;      /* count of them, parallel to defs */
    kafka_entry *kafka;        /* in order of application */
    size_t kafka_count, kafka_capacity;
    rd_kafka_conf_t *scratch;  /* kafka values are checked on it; created on first use */
};

#define CONFIG_KAFKA_PREFIX "kafka."

/* True for "kafka" itself and every key under "kafka.". */
bool config_is_kafka_key(const char *key);

/* kafka_keys.c: checks a kafka.* key on cfg's scratch configuration and keeps
 * it (moving it to the end when set again). SR_ERR_CONFIG naming key and
 * source, with a suggestion for a property librdkafka does not know. */
sr_status config_kafka_set(sr_config *cfg, const char *key, const char *value,
                           const char *source, sr_error *err);
void config_kafka_free(sr_config *cfg);

/* The closest candidate to a mistyped word, if close enough to suggest:
 * consider every candidate, then read best (NULL when none is close). */
typedef struct config_suggestion {
    const char *word;
    size_t distance;
    char best[128];
    bool found;
} config_suggestion;

void config_suggestion_init(config_suggestion *s, const char *word);
void config_suggestion_consider(config_suggestion *s, const char *candidate);
/* "; did you mean 'PREFIX<best>'?" or "" when nothing is close. */
void config_suggestion_text(const config_suggestion *s, const char *prefix, char *out,
                            size_t size);

/* Writes value into out as a message may show it: SR_CONFIG_MASK for a
 * secret, control characters as '?', long values cut with "...". */
void config_value_for_message(const char *value, bool secret, char *out, size_t size);

#endif
