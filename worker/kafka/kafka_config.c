/* kafka_config.c — librdkafka configuration from defaults and -X settings; see sr_kafka.h. */
#include <stdlib.h>
#include <string.h>

#include "sr_kafka.h"

sr_status sr_kafka_settings_add(sr_kafka_settings *settings, const char *assignment,
                                sr_error *err) {
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return sr_fail(err, SR_ERR_CONFIG, "kafka setting '%s' is not key=value", assignment);
    if (settings->count == SR_KAFKA_MAX_SETTINGS)
        return sr_fail(err, SR_ERR_CONFIG, "more than %d kafka settings", SR_KAFKA_MAX_SETTINGS);
    char *copy = strdup(assignment);
    if (!copy) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    copy[eq - assignment] = '\0';
    int i = settings->count++;
    settings->storage[i] = copy;
    settings->keys[i] = copy;
    settings->values[i] = copy + (eq - assignment) + 1;
    return SR_OK;
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
