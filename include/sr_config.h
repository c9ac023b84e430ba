/*
 * sr_config.h — a command's configuration: typed options from a table the
 * command supplies, set by a properties file, the environment and flags, plus
 * every `kafka.*` key passed through to librdkafka.
 *
 *     static const char *const policies[] = {"keep", "recompute", NULL};
 *     static const sr_option_def defs[] = {
 *         {"score.after.events", SR_OPT_INT, "3", .min = 0, .max = 1000000,
 *          .help = "events a user needs before being scored"},
 *         {"model.policy", SR_OPT_ENUM, "keep", .choices = policies, .help = "on a new model"},
 *         {"state.token", SR_OPT_STRING, NULL, .secret = true, .help = "state store token"},
 *     };
 *     sr_config *cfg;
 *     sr_config_action action;
 *     if (sr_config_new(defs, 3, &cfg, &err) != SR_OK) ...     // a bad table: a bug
 *     if (sr_config_parse_args(cfg, argc, argv, environ, &action, &err) != SR_OK) {
 *         fprintf(stderr, "streamrec worker: %s\n", err.message);   // exit 2
 *     }
 *     if (action == SR_CONFIG_HELP) sr_config_print_help(defs, 3, stdout);
 *     if (action == SR_CONFIG_PRINT) sr_config_print(cfg, stdout);
 *     int64_t after = sr_config_int(cfg, "score.after.events");
 *     ...
 *     rd_kafka_conf_t *conf = rd_kafka_conf_new();   // the command's own defaults first
 *     sr_config_kafka_apply(cfg, conf, SR_CLIENT_CONSUMER, &err);
 *     ...
 *     sr_config_free(cfg);
 *
 * Keys. A key is lowercase words of [a-z0-9] joined by '.' ("score.after.events").
 * Its flag is --score-after-events, its environment variable
 * STREAMREC_SCORE_AFTER_EVENTS. Keys under "kafka." are not defined by the
 * table: `kafka.<prop>` goes to librdkafka as <prop> for every client,
 * `kafka.consumer.<prop>` to consumers only, `kafka.producer.<prop>` to
 * producers only.
 *
 * Sources, in increasing precedence: the default, the properties file
 * (--config), the environment, the flags; each value remembers its source as
 * text ("default", "file w.properties:12", "env STREAMREC_X", "flag --x").
 * Every value is checked when it is set, so a bad value fails even if a
 * source of higher precedence overrides it. Kafka keys are applied to a client
 * in the order they were set (so a flag's kafka.client.id beats a file's
 * kafka.consumer.client.id); setting a kafka key again moves it to the end.
 *
 * Errors. Everything a user can get wrong (unknown key or flag, bad value, a
 * malformed file line, a key librdkafka rejects) fails with SR_ERR_CONFIG and a
 * message naming the key and its source, with a suggestion when a known key is
 * close; a file that cannot be read fails with SR_ERR_IO; a malformed table
 * (a bug in the command) with SR_ERR_INVALID_ARG. Secret values never appear in
 * messages.
 *
 * Threads: a configuration is built by one thread; once built, the getters,
 * sr_config_kafka_apply and sr_config_print only read it and may be called
 * from any thread.
 */
#ifndef SR_CONFIG_H
#define SR_CONFIG_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sr_error.h"
#include "sr_kafka.h"

/* Prepended to the upper-cased key to name its environment variable. */
#define SR_CONFIG_ENV_PREFIX "STREAMREC_"

/* Printed instead of a secret value. */
#define SR_CONFIG_MASK "********"

typedef enum sr_option_type {
    SR_OPT_STRING,
    SR_OPT_INT,    /* int64 in decimal with an optional sign, within [min, max] */
    SR_OPT_DOUBLE, /* a finite number within [dmin, dmax] */
    SR_OPT_BOOL,   /* true/false, yes/no, on/off, 1/0, in any case */
    SR_OPT_ENUM,   /* one of choices, in any case; the getter gives the choice's spelling */
} sr_option_type;

/* One option of a command. Tables are usually static; the configuration
 * borrows the table, which must outlive it. */
typedef struct sr_option_def {
    const char *key;            /* "score.after.events": lowercase words [a-z0-9] joined by '.' */
    sr_option_type type;
    const char *default_value;  /* text form; NULL = unset (allowed for strings only) */
    int64_t min, max;           /* SR_OPT_INT range (inclusive) */
    double dmin, dmax;          /* SR_OPT_DOUBLE range (inclusive) */
    const char *const *choices; /* SR_OPT_ENUM: NULL-terminated list */
    bool secret;                /* masked by print and in error messages */
    const char *help;           /* one line, for --help */
} sr_option_def;

typedef struct sr_config sr_config;

/* What the command line asked for. */
typedef enum sr_config_action {
    SR_CONFIG_RUN,   /* run the command with the configuration */
    SR_CONFIG_PRINT, /* --print-config: print it (sr_config_print) and exit 0 */
    SR_CONFIG_HELP,  /* --help/-h: print sr_config_print_help and exit 0; nothing was loaded */
} sr_config_action;

/* Which kafka.* keys a client gets. */
typedef enum sr_config_client {
    SR_CLIENT_CONSUMER, /* kafka.* and kafka.consumer.* */
    SR_CLIENT_PRODUCER, /* kafka.* and kafka.producer.* */
    SR_CLIENT_OTHER,    /* kafka.* only (an admin client, say) */
} sr_config_client;

/* A configuration holding every option's default. Fails with
 * SR_ERR_INVALID_ARG naming the entry when the table is malformed: a bad or
 * duplicate key, a key under "kafka." or whose flag would be one of the
 * built-in flags (--config, --set, --print-config, --help), a missing help, a
 * NULL default for a non-string, an empty range or a default outside it, an
 * enum without choices or with duplicate ones. SR_ERR_NOMEM on allocation. */
sr_status sr_config_new(const sr_option_def *defs, size_t count, sr_config **out, sr_error *err);

/* Frees cfg and everything it holds; NULL is fine. */
void sr_config_free(sr_config *cfg);

/* Parses a command's whole command line and loads the configuration. argv[0]
 * is the command's name (as sr_commands.h passes it) and is skipped. Accepts:
 *   --config PATH              the properties file (at most once)
 *   --<key-dashed> VALUE       for every defined key; also --<key-dashed>=VALUE;
 *                              a boolean flag alone (last, or followed by an
 *                              option) means true
 *   --set KEY=VALUE            any key, kafka.* included
 *   -X PROP=VALUE              kafka.PROP=VALUE, as the other commands accept
 *   --print-config, --help/-h
 * Then applies, whatever the order in argv: the file, the environment envp
 * (NULL = none; a command passes `environ`), the flags in argv order.
 * *action says what to do next; on --help nothing is loaded. An unknown
 * option (with a suggestion), a missing value or a positional argument fail
 * with SR_ERR_CONFIG. Call once per configuration. */
sr_status sr_config_parse_args(sr_config *cfg, int argc, char **argv, char **envp,
                               sr_config_action *action, sr_error *err);

/* The building blocks of sr_config_parse_args, each usable alone. */

/* Reads a properties file: `key=value`, `key = value` or `key: value` (split
 * at the first '=' or ':', whitespace around key and value trimmed), '#' and
 * '!' comment lines, blank lines; no escapes (a backslash is itself), no
 * line continuations. A malformed line fails with SR_ERR_CONFIG naming
 * path:line; a file that cannot be read with SR_ERR_IO. A key given twice:
 * the later line wins. */
sr_status sr_config_load_file(sr_config *cfg, const char *path, sr_error *err);

/* Reads the environment (NULL = none): for each defined key, the variable
 * STREAMREC_<KEY> (upper case, '.' -> '_'); then every STREAMREC_KAFKA_<REST>
 * as kafka.<rest> (lower case, '_' -> '.'), kafka.* ones before
 * kafka.consumer.* and kafka.producer.* ones, each group in name order.
 * Other STREAMREC_* variables are ignored, and so are the service links
 * Kubernetes injects for a service named streamrec-kafka[-*]
 * (STREAMREC_KAFKA_SERVICE_HOST, STREAMREC_KAFKA_PORT_9092_TCP_ADDR, ...).
 * A librdkafka property with '_' in its name (log_level) cannot be set here. */
sr_status sr_config_load_env(sr_config *cfg, char **envp, sr_error *err);

/* Sets one key from the named source ("flag --set", "file x:3"...): a
 * defined key is checked against its type and range; a kafka.* key against
 * librdkafka (rd_kafka_conf_set on a scratch configuration). Anything else is
 * an unknown key. SR_ERR_CONFIG naming key and source; on failure the
 * previous value stays. */
sr_status sr_config_set(sr_config *cfg, const char *key, const char *value, const char *source,
                        sr_error *err);

/* Getters. Calling one with a key the table does not define, or a typed
 * getter on a key of another type, is a programming error: it prints the key
 * on stderr and calls abort(). Each is a linear search of the table: read the
 * values once at startup, not per record. */

/* A value's text (for SR_OPT_INT/DOUBLE/BOOL/ENUM its canonical text, "true",
 * "42"...); NULL for an unset string. For a kafka.* key, its value or NULL
 * when not set (no abort). Valid until the key is set again or cfg is freed. */
const char *sr_config_string(const sr_config *cfg, const char *key);
int64_t sr_config_int(const sr_config *cfg, const char *key);
double sr_config_double(const sr_config *cfg, const char *key);
bool sr_config_bool(const sr_config *cfg, const char *key);
/* The index of an SR_OPT_ENUM value in its def's choices. */
int sr_config_enum(const sr_config *cfg, const char *key);

/* Where a value came from: "default", "file w.properties:12",
 * "env STREAMREC_SCORE_AFTER_EVENTS", "flag --score-after-events", "flag --set",
 * "flag -X". For a kafka.* key, NULL when not set. */
const char *sr_config_source(const sr_config *cfg, const char *key);

/* Applies the kafka keys meant for client, in the order they were set, to
 * conf (after the command's own defaults, so that the user has the last
 * word). SR_ERR_CONFIG naming the key and its source if librdkafka refuses
 * one (it accepted them when they were set, so only a conf set up
 * differently can). */
sr_status sr_config_kafka_apply(const sr_config *cfg, rd_kafka_conf_t *conf,
                                sr_config_client client, sr_error *err);

/* The same keys as sr_config_kafka_apply, in the same order, appended to out
 * (caller-owned, usually zeroed; free with sr_kafka_settings_free) as
 * property=value, for code that takes an sr_kafka_settings. SR_ERR_CONFIG
 * when they do not fit (SR_KAFKA_MAX_SETTINGS); on failure out holds none. */
sr_status sr_config_kafka_settings(const sr_config *cfg, sr_config_client client,
                                   sr_kafka_settings *out, sr_error *err);

/* True when a kafka.* key's value is masked: its name contains "password",
 * "secret", ".pem", "sasl.oauthbearer.config" or "ssl_key". */
bool sr_config_kafka_key_is_secret(const char *key);

/* Writes the effective configuration as a properties file: every defined key
 * in table order, then the kafka.* keys in the order they apply. A value not
 * from its default has its source on a comment line above it; an unset string
 * is a commented-out `#key=`; a secret is SR_CONFIG_MASK unless it is its
 * default (which the program holds anyway); a value that one line cannot
 * hold (a line break, white space at either end: only a flag or the
 * environment can give one) is commented out. Reading the output back with
 * sr_config_load_file gives the same values (masked secrets aside). */
void sr_config_print(const sr_config *cfg, FILE *out);

/* Writes the flags of defs with their defaults and help, the built-in flags,
 * and how the file and the environment name keys. The command prints its own
 * usage line and description first. */
void sr_config_print_help(const sr_option_def *defs, size_t count, FILE *out);

#endif
