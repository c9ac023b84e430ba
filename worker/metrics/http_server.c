/*
 * http_server.c — /healthz, /readyz and /metrics over libmicrohttpd; see
 * sr_metrics.h.
 *
 * One internal thread polls every connection (MHD_USE_INTERNAL_POLLING_THREAD),
 * so requests are answered one at a time: the handlers are short (a probe
 * callback, or one rendering of the registry into a fresh buffer that MHD then
 * owns and frees). At most 16 connections are open at once and an idle one is
 * closed after 10 s, so a slow or stuck client cannot hold the endpoint.
 *
 * Binding is left to libmicrohttpd (MHD_OPTION_SOCK_ADDR) rather than handing
 * it a socket of ours: on some of its failure paths it closes a given socket
 * and on others it does not, which would leave us a leak or a double close.
 * Its error messages go through our logger; those written while it starts are
 * kept, so that a failure to listen says why ("Address already in use").
 */
#include "sr_metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sr_log.h"

#define MAX_CONNECTIONS 16u
#define CONNECTION_TIMEOUT_SECONDS 10u
#define REASON_MAX 256

static const char metrics_content_type[] = "text/plain; version=0.0.4; charset=utf-8";
static const char text_content_type[] = "text/plain; charset=utf-8";

struct sr_http_server {
    struct MHD_Daemon *daemon;
    const sr_metrics *metrics;
    sr_http_probe_fn healthy, ready;
    void *context;
    int port;
    char where[300]; /* "address:port" for messages */

    pthread_mutex_t log_lock; /* guards the two fields below */
    bool starting;            /* keep MHD's messages in start_error */
    char start_error[256];
};

/* libmicrohttpd's error messages (MHD_OPTION_EXTERNAL_LOGGER); on its thread
 * once started. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt,
                                                          va_list ap) {
    sr_http_server *server = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r' || msg[len - 1] == ' '))
        msg[--len] = '\0';
    pthread_mutex_lock(&server->log_lock);
    bool starting = server->starting;
    if (starting) snprintf(server->start_error, sizeof server->start_error, "%.200s", msg);
    pthread_mutex_unlock(&server->log_lock);
    sr_log(starting ? SR_LOG_DEBUG : SR_LOG_WARN, "http", "libmicrohttpd: %s", msg);
}

/* Queues a response whose body is copied from text. */
static enum MHD_Result respond_text(struct MHD_Connection *connection, unsigned int status,
                                    const char *text) {
    char body[REASON_MAX + 64];
    size_t len = strlen(text) < sizeof body ? strlen(text) : sizeof body - 1;
    memcpy(body, text, len);
    struct MHD_Response *response =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
    if (!response) return MHD_NO;
    enum MHD_Result r = MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                                text_content_type);
    if (r == MHD_YES && status == MHD_HTTP_METHOD_NOT_ALLOWED)
        r = MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (r == MHD_YES) r = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return r;
}

/* /healthz and /readyz: 200 with ok_text, or 503 with prefix and the reason. */
static enum MHD_Result respond_probe(struct MHD_Connection *connection, sr_http_probe_fn probe,
                                     void *context, const char *ok_text, const char *prefix) {
    char reason[REASON_MAX] = "";
    if (!probe || probe(context, reason, sizeof reason))
        return respond_text(connection, MHD_HTTP_OK, ok_text);
    reason[sizeof reason - 1] = '\0';
    char body[REASON_MAX + 64];
    if (reason[0]) snprintf(body, sizeof body, "%s: %s\n", prefix, reason);
    else snprintf(body, sizeof body, "%s\n", prefix);
    return respond_text(connection, MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

static enum MHD_Result respond_metrics(struct MHD_Connection *connection,
                                       const sr_metrics *metrics) {
    sr_buffer buf = {0};
    sr_error err;
    if (sr_metrics_render(metrics, &buf, &err) != SR_OK) {
        sr_buffer_free(&buf);
        sr_log(SR_LOG_ERROR, "http", "rendering the metrics: %s", err.message);
        return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render metrics\n");
    }
    /* MHD frees buf.data with free() once sent (MHD_RESPMEM_MUST_FREE). */
    struct MHD_Response *response =
        MHD_create_response_from_buffer(buf.len, buf.data, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        sr_buffer_free(&buf);
        return MHD_NO;
    }
    enum MHD_Result r = MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                                metrics_content_type);
    if (r == MHD_YES) r = MHD_queue_response(connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return r;
}

/* MHD's request handler, on the server's thread. Every answer is decided from
 * the request line, so it is queued on the first call (a request body, if
 * any, is never read). */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *connection,
                                      const char *url, const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **request_context) {
    (void)version, (void)upload_data, (void)upload_data_size, (void)request_context;
    const sr_http_server *server = cls;
    enum { HEALTHZ, READYZ, METRICS, UNKNOWN } path =
        strcmp(url, "/healthz") == 0   ? HEALTHZ
        : strcmp(url, "/readyz") == 0  ? READYZ
        : strcmp(url, "/metrics") == 0 ? METRICS
                                       : UNKNOWN;
    if (path == UNKNOWN) return respond_text(connection, MHD_HTTP_NOT_FOUND, "not found\n");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return respond_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    switch (path) {
    case HEALTHZ:
        return respond_probe(connection, server->healthy, server->context, "ok\n", "unhealthy");
    case READYZ:
        return respond_probe(connection, server->ready, server->context, "ready\n", "not ready");
    case METRICS:
        return respond_metrics(connection, server->metrics);
    case UNKNOWN:
        break;
    }
    return MHD_NO;
}

/* The bind address (numeric; NULL: every IPv4 interface) and port as a socket
 * address. Names are refused rather than resolved: "localhost" may mean ::1 on
 * one host and 127.0.0.1 on another, and a bind should not wait for DNS. */
static sr_status resolve(const char *address, int port, struct sockaddr_storage *out,
                         sr_error *err) {
    struct addrinfo hints = {.ai_family = address ? AF_UNSPEC : AF_INET,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST};
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo *found = NULL;
    int rc = getaddrinfo(address, service, &hints, &found);
    if (rc != 0 || !found)
        return sr_fail(err, SR_ERR_CONFIG, "HTTP bind address \"%s\" (numeric IPv4 or IPv6): %s",
                       address ? address : "", rc ? gai_strerror(rc) : "no address");
    if (found->ai_addrlen > sizeof *out) {
        freeaddrinfo(found);
        return sr_fail(err, SR_ERR_CONFIG, "HTTP bind address \"%s\" is too long", address);
    }
    memcpy(out, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    return SR_OK;
}

/* The port a started daemon listens on. */
static int bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info && info->port) return info->port;
    info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (!info || getsockname(info->listen_fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

static void server_free(sr_http_server *server) {
    pthread_mutex_destroy(&server->log_lock);
    free(server);
}

sr_status sr_http_server_start(const sr_http_server_options *options, sr_http_server **out,
                               sr_error *err) {
    if (!options || !options->metrics)
        return sr_fail(err, SR_ERR_INVALID_ARG, "the HTTP server needs a metrics registry");
    if (options->port < 0 || options->port > 65535)
        return sr_fail(err, SR_ERR_INVALID_ARG, "HTTP port %d is not 0..65535", options->port);
    struct sockaddr_storage addr;
    sr_status s = resolve(options->bind_address, options->port, &addr, err);
    if (s != SR_OK) return s;

    sr_http_server *server = calloc(1, sizeof *server);
    if (!server) return sr_fail(err, SR_ERR_NOMEM, "out of memory for the HTTP server");
    if (pthread_mutex_init(&server->log_lock, NULL) != 0) {
        free(server);
        return sr_fail(err, SR_ERR_NOMEM, "cannot create a mutex for the HTTP server");
    }
    server->metrics = options->metrics;
    server->healthy = options->healthy;
    server->ready = options->ready;
    server->context = options->context;
    const char *shown = options->bind_address ? options->bind_address : "0.0.0.0";
    bool v6 = addr.ss_family == AF_INET6;
    snprintf(server->where, sizeof server->where, v6 ? "[%.200s]:%d" : "%.200s:%d", shown,
             options->port);
    server->starting = true;

    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (v6) flags |= MHD_USE_IPv6;
    server->daemon = MHD_start_daemon(
        flags, (uint16_t)options->port, NULL, NULL, handle_request, server,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, server,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_SECONDS,
        MHD_OPTION_END);
    pthread_mutex_lock(&server->log_lock);
    server->starting = false;
    pthread_mutex_unlock(&server->log_lock);
    if (!server->daemon) {
        s = sr_fail(err, SR_ERR_IO, "cannot serve HTTP on %s: %s", server->where,
                    server->start_error[0] ? server->start_error
                                           : "libmicrohttpd could not start");
        server_free(server);
        return s;
    }
    server->port = bound_port(server->daemon);
    snprintf(server->where, sizeof server->where, v6 ? "[%.200s]:%d" : "%.200s:%d", shown,
             server->port);
    sr_log(SR_LOG_INFO, "http", "serving /healthz, /readyz and /metrics on %s", server->where);
    *out = server;
    return SR_OK;
}

int sr_http_server_port(const sr_http_server *server) { return server->port; }

void sr_http_server_stop(sr_http_server *server) {
    if (!server) return;
    MHD_stop_daemon(server->daemon);
    sr_log(SR_LOG_INFO, "http", "stopped serving on %s", server->where);
    server_free(server);
}
