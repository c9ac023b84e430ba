/*
 * kafka_log.c — librdkafka's own log lines as streamrec's JSON log lines; see
 * sr_kafka_conf_route_logs in sr_kafka.h.
 *
 * Left alone, librdkafka prints "%3|1700000000.123|FAIL|rdkafka#producer-1| ..."
 * to stderr, which breaks the one-JSON-object-per-line contract of our logs.
 * The log callback turns each line into
 *
 *     {"ts":...,"level":"error","component":"librdkafka",
 *      "msg":"[rdkafka#producer-1] FAIL: 127.0.0.1:1/bootstrap: Connect to ..."}
 *
 * Levels: syslog 0-3 (emerg, alert, crit, err) are errors, 4 (warning) warn,
 * 5-6 (notice, info) info, 7 (debug) debug. librdkafka emits debug lines only
 * for the contexts named in its `debug` property, and sr_log drops them unless
 * the log level is debug: `-X debug=broker --log-level debug` shows them.
 *
 * Threads: librdkafka calls the callback from its internal threads (and from
 * the application thread inside rd_kafka_new and rd_kafka_destroy), unless
 * log.queue is set and the logs are forwarded to a queue. sr_log is safe to
 * call from any thread: it formats into a local buffer and writes the line
 * with one fwrite under a mutex. librdkafka asks that the callback call no
 * librdkafka API and do no prolonged work: rd_kafka_name only reads the
 * handle's name, fixed when the handle was created, and a log line is one
 * short write.
 */
#include <librdkafka/rdkafka.h>

#include "sr_kafka.h"
#include "sr_log.h"

static sr_log_level level_of(int syslog_level) {
    if (syslog_level <= 3) return SR_LOG_ERROR;
    if (syslog_level == 4) return SR_LOG_WARN;
    if (syslog_level <= 6) return SR_LOG_INFO;
    return SR_LOG_DEBUG;
}

/* The log callback: runs on librdkafka's threads (see above). */
static void log_line(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    sr_log(level_of(level), "librdkafka", "[%s] %s: %s", rk ? rd_kafka_name(rk) : "-",
           fac ? fac : "-", buf ? buf : "");
}

void sr_kafka_conf_route_logs(rd_kafka_conf_t *conf) {
    rd_kafka_conf_set_log_cb(conf, log_line);
    sr_kafka_conf_route_errors(conf);
}
