/* kafka_config.c — librdkafka configuration from defaults and -X settings; see sr_kafka.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_kafka.h"

#define FILE_SUFFIX ".file"
#define SECRET_FILE_MAX (64 * 1024)

bool sr_kafka_is_file_property(const char *property, size_t *base_len) {
    size_t n = strlen(property), suffix = strlen(FILE_SUFFIX);
    if (n <= suffix || strcmp(property + n - suffix, FILE_SUFFIX) != 0) return false;
    if (base_len) *base_len = n - suffix;
    return true;
}

sr_status sr_kafka_read_secret_file(const char *key, const char *path, char **value,
                                    sr_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return sr_fail(err, SR_ERR_IO, "%s: cannot read '%s': %s", key, path, strerror(errno));
    char *text = malloc(SECRET_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, SECRET_FILE_MAX + 1, f) : 0;
    bool failed = text && ferror(f);
    fclose(f);
    if (!text) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    sr_status status = SR_OK;
    if (failed) status = sr_fail(err, SR_ERR_IO, "%s: cannot read '%s'", key, path);
    else if (n > SECRET_FILE_MAX)
        status = sr_fail(err, SR_ERR_CONFIG, "%s: '%s' is over %d bytes", key, path, SECRET_FILE_MAX);
    else if (memchr(text, '\0', n))
        status = sr_fail(err, SR_ERR_CONFIG, "%s: '%s' holds a NUL byte", key, path);
    /* Files written by echo or an editor end in a newline the secret does not have. */
    if (n > 0 && text[n - 1] == '\n') n--;
    if (n > 0 && text[n - 1] == '\r') n--;
    if (status == SR_OK && n == 0) status = sr_fail(err, SR_ERR_CONFIG, "%s: '%s' is empty", key, path);
    if (status != SR_OK) {
        memset(text, 0, SECRET_FILE_MAX + 1);
        free(text);
        return status;
    }
    text[n] = '\0';
    *value = text;
    return SR_OK;
}

/* Stores key=value (both copied) as the next setting. */
static sr_status add_setting(sr_kafka_settings *settings, const char *key, size_t key_len,
                             const char *value, sr_error *err) {
    if (settings->count == SR_KAFKA_MAX_SETTINGS)
        return sr_fail(err, SR_ERR_CONFIG, "more than %d kafka settings", SR_KAFKA_MAX_SETTINGS);
    size_t value_len = strlen(value);
    char *copy = malloc(key_len + 1 + value_len + 1);
    if (!copy) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    memcpy(copy, key, key_len);
    copy[key_len] = '\0';
    memcpy(copy + key_len + 1, value, value_len + 1);
    int i = settings->count++;
    settings->storage[i] = copy;
    settings->keys[i] = copy;
    settings->values[i] = copy + key_len + 1;
    return SR_OK;
}

sr_status sr_kafka_settings_add(sr_kafka_settings *settings, const char *assignment,
                                sr_error *err) {
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return sr_fail(err, SR_ERR_CONFIG, "kafka setting '%s' is not key=value", assignment);
    size_t key_len = (size_t)(eq - assignment), base_len;
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)key_len, assignment);
    if (!sr_kafka_is_file_property(key, &base_len))
        return add_setting(settings, assignment, key_len, eq + 1, err);
    char *secret;
    sr_status status = sr_kafka_read_secret_file(key, eq + 1, &secret, err);
    if (status != SR_OK) return status;
    status = add_setting(settings, assignment, base_len, secret, err);
    memset(secret, 0, strlen(secret));
    free(secret);
    return status;
}

void sr_kafka_settings_free(sr_kafka_settings *settings) {
    for (int i = 0; i < settings->count; i++) free(settings->storage[i]);
    settings->count = 0;
}

sr_status sr_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                            sr_error *err) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return sr_fail(err, SR_ERR_CONFIG, "kafka setting '%s': %s", key, errstr);
    return SR_OK;
}

sr_status sr_kafka_conf_apply(rd_kafka_conf_t *conf, const sr_kafka_settings *settings,
                              sr_error *err) {
    for (int i = 0; settings && i < settings->count; i++) {
        sr_status status = sr_kafka_conf_set(conf, settings->keys[i], settings->values[i], err);
        if (status != SR_OK) return status;
    }
    return SR_OK;
}

sr_status sr_kafka_conf_new(const sr_kafka_settings *settings, const char *bootstrap,
                            rd_kafka_conf_t **out, sr_error *err) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    sr_kafka_conf_route_logs(conf);
    sr_status status = SR_OK;
    if (bootstrap) status = sr_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err);
    if (status == SR_OK) status = sr_kafka_conf_apply(conf, settings, err);
    if (status != SR_OK) {
        rd_kafka_conf_destroy(conf);
        return status;
    }
    *out = conf;
    return SR_OK;
}

const char *sr_kafka_default_bootstrap(void) {
    const char *env = getenv("STREAMREC_BOOTSTRAP");
    return env && *env ? env : "127.0.0.1:9092";
}
