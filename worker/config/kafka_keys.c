/*
 * kafka_keys.c — the kafka.* pass-through of a configuration; see sr_config.h.
 *
 * A key is checked when it is set, by setting it on a scratch librdkafka
 * configuration, so that a misspelt property or a bad value stops the command
 * at startup with the key as the user wrote it and where it came from, not
 * later in rd_kafka_new with librdkafka's name for it. The scratch
 * configuration sees every key, whatever client it is for: librdkafka accepts
 * consumer properties on a producer's configuration and the other way round.
 * Setting a key on it has librdkafka's side effects, such as loading the
 * plugins of plugin.library.paths.
 *
 * Entries are kept in the order they apply: setting a key again removes the
 * old entry and appends the new one, so that aliases (linger.ms and
 * queue.buffering.max.ms) and general versus client keys resolve by
 * precedence and then by order of appearance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

bool sr_config_kafka_key_is_secret(const char *key) {
    static const char *const secret_words[] = {"password", "secret", ".pem",
                                               "sasl.oauthbearer.config", "ssl_key", NULL};
    for (size_t i = 0; secret_words[i]; i++)
        if (strcasestr(key, secret_words[i])) return true;
    return false;
}

/* Every property librdkafka documents, offered as suggestions: the first
 * column of rd_kafka_conf_properties_show's table. Quietly offers none when
 * that cannot be had. */
static void suggest_property(config_suggestion *s) {
    char *text = NULL;
    size_t size = 0;
    FILE *table = open_memstream(&text, &size);
    if (!table) return;
    rd_kafka_conf_properties_show(table);
    if (fclose(table) != 0 || !text) {
        free(text);
        return;
    }
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = '\0';
        size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz0123456789._");
        if (n > 0 && n < 128 && (line[n] == ' ' || line[n] == '|')) {
            char name[128];
            memcpy(name, line, n);
            name[n] = '\0';
            config_suggestion_consider(s, name);
        }
        line = next;
    }
    free(text);
}

static sr_status unknown_property(const char *key, const char *property, const char *source,
                                  sr_error *err) {
    config_suggestion suggestion;
    config_suggestion_init(&suggestion, property);
    suggest_property(&suggestion);
    char prefix[32], hint[192], shown[64];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(property - key), key); /* the user's prefix */
    config_suggestion_text(&suggestion, prefix, hint, sizeof hint);
    config_value_for_message(key, false, shown, sizeof shown);
    return sr_fail(err, SR_ERR_CONFIG,
                   "unknown configuration key '%s' (%s): librdkafka has no property '%s'%s",
                   shown, source, property, hint);
}

/* Where a key applies and which librdkafka property it names. */
static const char *split_key(const char *key, kafka_scope *scope) {
    const char *rest = key + strlen(CONFIG_KAFKA_PREFIX);
    *scope = KAFKA_ALL;
    if (strncmp(rest, "consumer.", 9) == 0) *scope = KAFKA_CONSUMER, rest += 9;
    else if (strncmp(rest, "producer.", 9) == 0) *scope = KAFKA_PRODUCER, rest += 9;
    return rest;
}

/* librdkafka quotes some bad values in its message: not a secret one. */
static void hide_secret(const char *key, const char *value, char *why, size_t size) {
    if (sr_config_kafka_key_is_secret(key) && *value && strstr(why, value))
        snprintf(why, size, "invalid value");
}

/* Sets key's property on the scratch configuration. */
static sr_status check_on_scratch(sr_config *cfg, const char *key, const char *property,
                                  const char *value, const char *source, sr_error *err) {
    if (!cfg->scratch && !(cfg->scratch = rd_kafka_conf_new()))
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    char why[512];
    rd_kafka_conf_res_t res = rd_kafka_conf_set(cfg->scratch, property, value, why, sizeof why);
    if (res == RD_KAFKA_CONF_OK) return SR_OK;
    if (res == RD_KAFKA_CONF_UNKNOWN) return unknown_property(key, property, source, err);
    bool secret = sr_config_kafka_key_is_secret(key);
    hide_secret(key, value, why, sizeof why);
    char shown[64];
    config_value_for_message(value, secret, shown, sizeof shown);
    return sr_fail(err, SR_ERR_CONFIG, "configuration key '%s' = '%s' (%s): %s", key, shown,
                   source, why);
}

static void free_entry(kafka_entry *e) {
    free(e->key);
    free(e->value);
    free(e->source);
}

static sr_status kafka_set(sr_config *cfg, const char *key, const char *value,
                           const char *source, sr_error *err);

/* kafka.PROP.file=PATH: kafka.PROP from the file, its source naming both. */
static sr_status set_from_file(sr_config *cfg, const char *key, size_t base_len,
                               const char *path, const char *source, sr_error *err) {
    char *secret = NULL, *base = strndup(key, base_len), *from = NULL;
    sr_status status = SR_OK;
    if (!base || asprintf(&from, "%s, file %s", source, path) < 0)
        status = sr_fail(err, SR_ERR_NOMEM, "out of memory");
    if (status == SR_OK && (status = sr_kafka_read_secret_file(key, path, &secret, err)) != SR_OK)
        sr_error_wrap(err, status, "%s", source);
    if (status == SR_OK) status = kafka_set(cfg, base, secret, from, err);
    if (secret) {
        memset(secret, 0, strlen(secret));
        free(secret);
    }
    free(base);
    free(from);
    return status;
}

sr_status config_kafka_set(sr_config *cfg, const char *key, const char *value,
                           const char *source, sr_error *err) {
    size_t base_len;
    if (strncmp(key, CONFIG_KAFKA_PREFIX, strlen(CONFIG_KAFKA_PREFIX)) == 0 &&
        sr_kafka_is_file_property(key, &base_len))
        return set_from_file(cfg, key, base_len, value, source, err);
    return kafka_set(cfg, key, value, source, err);
}

static sr_status kafka_set(sr_config *cfg, const char *key, const char *value,
                           const char *source, sr_error *err) {
    if (strncmp(key, CONFIG_KAFKA_PREFIX, strlen(CONFIG_KAFKA_PREFIX)) != 0)
        return sr_fail(err, SR_ERR_CONFIG, "configuration key '%s' (%s): kafka.<property> expected",
                       key, source);
    kafka_scope scope;
    const char *property = split_key(key, &scope);
    if (!*property)
        return sr_fail(err, SR_ERR_CONFIG, "configuration key '%s' (%s): no librdkafka property",
                       key, source);
    sr_status status = check_on_scratch(cfg, key, property, value, source, err);
    if (status != SR_OK) return status;

    if (cfg->kafka_count == cfg->kafka_capacity) {
        size_t capacity = cfg->kafka_capacity ? 2 * cfg->kafka_capacity : 16;
        kafka_entry *grown = realloc(cfg->kafka, capacity * sizeof *grown);
        if (!grown) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
        cfg->kafka = grown;
        cfg->kafka_capacity = capacity;
    }
    kafka_entry entry = {.key = strdup(key), .value = strdup(value), .source = strdup(source),
                         .scope = scope};
    if (!entry.key || !entry.value || !entry.source) {
        free_entry(&entry);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    }
    entry.property = entry.key + (property - key);
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        if (strcmp(cfg->kafka[i].key, key) != 0) continue;
        free_entry(&cfg->kafka[i]);
        memmove(&cfg->kafka[i], &cfg->kafka[i + 1], (cfg->kafka_count - i - 1) * sizeof *cfg->kafka);
        cfg->kafka_count--;
        break; /* a key is never kept twice */
    }
    cfg->kafka[cfg->kafka_count++] = entry;
    return SR_OK;
}

void config_kafka_free(sr_config *cfg) {
    for (size_t i = 0; i < cfg->kafka_count; i++) free_entry(&cfg->kafka[i]);
    free(cfg->kafka);
    if (cfg->scratch) rd_kafka_conf_destroy(cfg->scratch);
}

static bool applies_to(kafka_scope scope, sr_config_client client) {
    return scope == KAFKA_ALL || (scope == KAFKA_CONSUMER && client == SR_CLIENT_CONSUMER) ||
           (scope == KAFKA_PRODUCER && client == SR_CLIENT_PRODUCER);
}

sr_status sr_config_kafka_apply(const sr_config *cfg, rd_kafka_conf_t *conf,
                                sr_config_client client, sr_error *err) {
    if (!cfg || !conf) return sr_fail(err, SR_ERR_INVALID_ARG, "sr_config_kafka_apply needs a conf");
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        const kafka_entry *e = &cfg->kafka[i];
        if (!applies_to(e->scope, client)) continue;
        char why[512];
        if (rd_kafka_conf_set(conf, e->property, e->value, why, sizeof why) == RD_KAFKA_CONF_OK)
            continue;
        hide_secret(e->key, e->value, why, sizeof why);
        return sr_fail(err, SR_ERR_CONFIG, "configuration key '%s' (%s): %s", e->key, e->source,
                       why);
    }
    return SR_OK;
}

sr_status sr_config_kafka_settings(const sr_config *cfg, sr_config_client client,
                                   sr_kafka_settings *out, sr_error *err) {
    if (!cfg || !out)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_config_kafka_settings needs settings");
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        const kafka_entry *e = &cfg->kafka[i];
        if (!applies_to(e->scope, client)) continue;
        char *assignment;
        if (asprintf(&assignment, "%s=%s", e->property, e->value) < 0) {
            sr_kafka_settings_free(out);
            return sr_fail(err, SR_ERR_NOMEM, "out of memory");
        }
        sr_status status = sr_kafka_settings_add(out, assignment, err);
        free(assignment);
        if (status != SR_OK) {
            sr_kafka_settings_free(out);
            return status;
        }
    }
    return SR_OK;
}
