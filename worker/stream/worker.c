/*
 * worker.c — the worker's processing loop (sr_worker.h).
 *
 * One thread does all the processing, in iterations:
 *
 *   consume a batch  ->  decode each record (bad: dead letter)  ->  queue its event
 *   step the queue (micro-batches)  ->  score the due users  ->  produce their lists
 *   serve delivery reports; take a new model if one was loaded; bounded upkeep
 *   every commit interval: flush the producer, then commit the processed offsets
 *
 * Other threads: the model loader (model_loader.c) and the HTTP endpoint
 * (libmicrohttpd's), which reads the metrics' atomics and two flags.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif

#include "sr_clock.h"
#include "sr_kafka.h"
#include "sr_log.h"
#include "sr_metrics.h"
#include "sr_model_file.h"
#include "sr_topics.h"
#include "sr_worker.h"
#include "stream/consumer.h"
#include "stream/model_loader.h"
#include "stream/online_hits.h"
#include "stream/output.h"
#include "stream/restore.h"
#include "stream/worker_metrics.h"

#define MAX_POLL_BATCH 65536u

void sr_worker_options_init(sr_worker_options *o) {
    memset(o, 0, sizeof *o);
    o->group_id = "streamrec-worker";
    o->events_topic = SR_TOPIC_EVENTS;
    o->recommendations_topic = SR_TOPIC_RECOMMENDATIONS;
    o->dead_letter_topic = SR_TOPIC_DLQ;
    o->models_topic = SR_TOPIC_MODELS;
    o->changelog_topic = SR_TOPIC_CHANGELOG;
    o->wire = SR_WIRE_REGISTRY;
    o->require_key_match = true;
    o->commit_interval_ms = 1000;
    o->poll_batch = 4096;
    o->model_catch_up_timeout_ms = 60000;
    sr_serving_config_init(&o->serving);
    o->http_port = 8080;
    o->shutdown_timeout_ms = 8000;
}

typedef struct worker {
    const sr_worker_options *o;
    sr_codec *codec;
    sr_serving *serving;
    stream_output *output;
    stream_consumer *consumer;
    model_loader *loader;
    worker_metrics *metrics;
    sr_http_server *http;
    online_hits *hits;
    rd_kafka_message_t **records;
    worker_figures figures;
    uint8_t *holds;                /* enum partition_hold per partition of the event topic */
    size_t hold_count;
    sr_status failure;             /* a failure inside a librdkafka callback */
    sr_error failure_error;
    atomic_bool ready;
    atomic_llong heartbeat_ms;     /* the loop's last iteration, for /healthz */
    int64_t last_commit_ms;
    int64_t last_trim_ms;
    unsigned aborts_in_a_row;      /* since the last committed transaction: the recovery backoff */
    char transactional_id[256];
    uint64_t consumer_errors;
    uint64_t iterations, polled;   /* loop iterations and records they brought: the batch sizes */
} worker;

/* ---- records ---- */

#define CONTROL_HEADER "streamrec.control"
#define CONTROL_FORGET_USER "forget-user"

static sr_status dead_letter(worker *w, const rd_kafka_message_t *msg, const sr_error *why,
                             int64_t now_ms, sr_error *err) {
    if (w->figures.output.dead_letters < 10)
        sr_log(SR_LOG_WARN, "worker", "record %s/%" PRId32 "@%" PRId64 " to the dead-letter topic: %s",
               rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset, why->message);
    return stream_output_dead_letter(w->output, msg, why, now_ms, err);
}

/* A control record on the event topic: header streamrec.control and no value
 * (a record with a value is an event, whatever its headers), keyed by the
 * user id like the user's events, so that it is ordered with them. The one
 * control so far, "forget-user", removes the user after its earlier events:
 * its state goes from memory, and tombstones go to the changelog and the
 * output topic, in the same transaction as everything else (exactly-once). */
static sr_status handle_control(worker *w, const rd_kafka_message_t *msg, const void *control,
                                size_t control_len, int64_t now_ms, sr_error *err) {
    sr_error why;
    int64_t user_id = 0;
    bool keyed = sr_key_user_id(msg->key, msg->key_len, &user_id);
    if (control_len != strlen(CONTROL_FORGET_USER) || memcmp(control, CONTROL_FORGET_USER, control_len)) {
        sr_fail(&why, SR_ERR_INVALID_VALUE, "unknown control record '%.*s' (known: %s)",
                (int)(control_len > 64 ? 64 : control_len), (const char *)control, CONTROL_FORGET_USER);
        w->figures.invalid_records++;
        return dead_letter(w, msg, &why, now_ms, err);
    }
    if (!keyed) {
        sr_fail(&why, SR_ERR_INVALID_VALUE, "a %s control record must be keyed by the decimal user id",
                CONTROL_FORGET_USER);
        w->figures.invalid_records++;
        return dead_letter(w, msg, &why, now_ms, err);
    }
    bool held;
    sr_status status = sr_serving_forget_user(w->serving, user_id, msg->partition, &held, err);
    if (status == SR_OK) status = stream_output_recommendation_tombstone(w->output, user_id, err);
    if (status == SR_OK) {
        w->figures.users_forgotten++;
        sr_log(SR_LOG_INFO, "worker", "user %" PRId64 " forgotten (%s)", user_id,
               held ? "its state removed" : "no state held");
    }
    return status;
}

/* Whether a record carries the control header (and its value). Only records
 * without a value are asked: control records have none, and librdkafka
 * allocates a header list for every record it is asked about, even one
 * without headers (a malloc and a free per event: 4 % of the loop). */
static bool control_header(const rd_kafka_message_t *msg, const void **value, size_t *len) {
    rd_kafka_headers_t *headers = NULL;
    return rd_kafka_message_headers(msg, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers &&
           rd_kafka_header_get_last(headers, CONTROL_HEADER, value, len) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

static sr_status handle_record(worker *w, const rd_kafka_message_t *msg, int64_t now_ms,
                               sr_error *err) {
    if (msg->err) {
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return SR_OK;
        /* The same error repeats every poll while it lasts (a missing topic). */
        if (++w->consumer_errors <= 10 || w->consumer_errors % 1000 == 0)
            sr_log(SR_LOG_WARN, "worker", "consumer: %s (%llu so far)", rd_kafka_message_errstr(msg),
                   (unsigned long long)w->consumer_errors);
        if (msg->err == RD_KAFKA_RESP_ERR__FATAL)
            return sr_fail(err, SR_ERR_KAFKA, "consumer: %s", rd_kafka_message_errstr(msg));
        if (stream_consumer_refused(w->consumer, msg, err) != SR_OK) return err->status; /* an ACL */
        return SR_OK;
    }
    if (!stream_consumer_owns(w->consumer, msg->partition)) return SR_OK; /* revoked meanwhile */
    w->figures.records++;
    sr_user_event event;
    sr_error why;
    sr_status status = SR_OK;
    const void *control = NULL;
    size_t control_len = 0;
    if (!msg->payload && control_header(msg, &control, &control_len)) {
        status = handle_control(w, msg, control ? control : "", control ? control_len : 0, now_ms, err);
    } else if (!msg->payload) {
        sr_fail(&why, SR_ERR_INVALID_VALUE, "the record has no value");
        w->figures.decode_failures++;
        status = dead_letter(w, msg, &why, now_ms, err);
    } else if (sr_codec_decode_event(w->codec, w->o->wire, msg->payload, msg->len, &event, &why) != SR_OK) {
        w->figures.decode_failures++;
        status = dead_letter(w, msg, &why, now_ms, err);
    } else if (w->o->require_key_match && !sr_key_is_user_id(msg->key, msg->key_len, event.user_id)) {
        sr_fail(&why, SR_ERR_INVALID_VALUE,
                "the record key is not the decimal user id %" PRId64 " (events must be keyed by "
                "user so that one worker holds each user)", event.user_id);
        w->figures.invalid_records++;
        status = dead_letter(w, msg, &why, now_ms, err);
    } else {
        online_hits_event(w->hits, event.user_id, event.item_id);
        sr_serving_add(w->serving, &event, msg->partition, msg->offset, now_ms);
    }
    if (status == SR_OK) stream_consumer_processed(w->consumer, msg->partition, msg->offset);
    return status;
}

/* ---- outputs ---- */

static sr_status emit(void *context, const sr_serving_output *out, sr_error *err) {
    worker *w = context;
    online_hits_published(w->hits, out->rec->user_id, out->rec->items, out->rec->item_count);
    return stream_output_recommendation(w->output, out->rec, out->pending_since_ms, err);
}

static void delivered(void *context, stream_record_kind kind, int64_t pending_since_ms,
                      rd_kafka_resp_err_t status) {
    worker *w = context;
    if (kind == STREAM_RECOMMENDATION && status == RD_KAFKA_RESP_ERR_NO_ERROR && pending_since_ms > 0)
        worker_metrics_delivered(w->metrics, (double)(sr_wall_clock_ms() - pending_since_ms) / 1000.0);
}

/* Flushes every output, then commits the processed offsets: an offset is
 * never committed before the outputs of the records before it are delivered.
 * In the loop (must_drain false) a producer that has not delivered
 * everything within timeout_ms (a slow or unreachable broker) only delays
 * the commit to the next interval; before a revocation or a stop it is a
 * failure. A record that could not be delivered at all always is. */
/* Exactly-once: the removed users' tombstones and the changed users' states
 * join the open transaction, which commits with the processed offsets. The
 * tombstones first: a user removed (forgotten, evicted) and back with new
 * events within one interval must end with its new state, not a tombstone. */
static sr_status commit_transaction(worker *w, sr_error *err) {
    sr_status status = SR_OK;
    size_t removed = 0;
    int64_t user_id;
    int32_t partition;
    while (status == SR_OK && sr_serving_take_removed(w->serving, &removed, &user_id, &partition))
        status = stream_output_tombstone(w->output, user_id, partition, err);
    uint32_t cursor = 0;
    sr_user_state_record state;
    while (status == SR_OK && sr_serving_take_changed(w->serving, &cursor, &state))
        status = stream_output_state(w->output, &state, err);
    rd_kafka_topic_partition_list_t *offsets = NULL;
    rd_kafka_consumer_group_metadata_t *group = NULL;
    if (status == SR_OK) {
        offsets = stream_consumer_pending_offsets(w->consumer);
        group = stream_consumer_group_metadata(w->consumer);
    }
    if (status == SR_OK && (!offsets || !group))
        status = sr_fail(err, SR_ERR_NOMEM, "transaction: out of memory");
    if (status == SR_OK) status = stream_output_commit_transaction(w->output, offsets, group, err);
    if (status == SR_OK) {
        stream_consumer_offsets_committed(w->consumer, offsets);
        w->figures.commits++;
        w->aborts_in_a_row = 0;
    } else {
        w->figures.commit_failures++;
    }
    if (offsets) rd_kafka_topic_partition_list_destroy(offsets);
    if (group) rd_kafka_consumer_group_metadata_destroy(group);
    return status;
}

static sr_status commit(worker *w, int timeout_ms, bool must_drain, sr_error *err) {
    if (stream_output_transactional(w->output)) {
        w->last_commit_ms = sr_monotonic_ms();
        return commit_transaction(w, err);
    }
    bool drained = true;
    sr_status status = stream_output_flush(w->output, timeout_ms, must_drain ? NULL : &drained, err);
    w->last_commit_ms = sr_monotonic_ms();
    if (status == SR_OK && !drained) {
        w->figures.commit_failures++;
        if (w->figures.commit_failures <= 10 || w->figures.commit_failures % 100 == 0)
            sr_log(SR_LOG_WARN, "worker", "commit delayed: %d records not yet delivered",
                   stream_output_in_flight(w->output));
        return SR_OK;
    }
    /* In the loop the offsets are sent without waiting for the coordinator's
     * answer (6-10 ms on Kafka 4.1 here, the whole loop held behind it, once
     * per interval); before a revocation or a stop, the commit is waited for. */
    int committed = 0;
    if (status == SR_OK) status = stream_consumer_commit(w->consumer, must_drain, &committed, err);
    if (status != SR_OK) w->figures.commit_failures++;
    else if (committed) w->figures.commits++;
    return status;
}

/* ---- rebalances (inside a consume call) ----
 *
 * Eager rebalancing revokes every partition and then assigns the new set, in
 * which a member usually gets most of its partitions back. Users are kept
 * across that: a partition revoked cleanly (its work committed) and assigned
 * straight back keeps its users; one that went elsewhere has its users
 * dropped when the new assignment arrives; one lost (the session expired, so
 * another member may have processed it meanwhile) or revoked without a
 * commit has them dropped at once. */

enum partition_hold { HOLD_NONE, HOLD_ASSIGNED, HOLD_REVOKED, HOLD_LOST };

static void set_hold(worker *w, int32_t partition, enum partition_hold hold) {
    if (partition < 0) return;
    if ((size_t)partition >= w->hold_count) {
        size_t n = (size_t)partition + 1 > 2 * w->hold_count ? (size_t)partition + 1 : 2 * w->hold_count;
        uint8_t *grown = realloc(w->holds, n);
        if (!grown) return; /* then the users stay: a reassignment would have kept them anyway */
        memset(grown + w->hold_count, HOLD_NONE, n - w->hold_count);
        w->holds = grown;
        w->hold_count = n;
    }
    w->holds[partition] = (uint8_t)hold;
}

static void fail_in_callback(worker *w, sr_status status, const sr_error *err) {
    if (status != SR_OK && w->failure == SR_OK) {
        w->failure = status;
        w->failure_error = *err;
    }
}

/* The users of partitions lost or revoked without a commit go at once, not
 * at the next assignment: until then the loop goes on (commits, scoring), and
 * their states, ahead of the last commit, must neither reach the changelog
 * (restored later, their events would be applied twice) nor be scored. */
static sr_status drop_lost(worker *w, const rd_kafka_topic_partition_list_t *parts, sr_error *err) {
    int32_t *lost = malloc(((size_t)parts->cnt + 1) * sizeof *lost);
    if (!lost) return sr_fail(err, SR_ERR_NOMEM, "rebalance: out of memory");
    for (int i = 0; i < parts->cnt; i++) lost[i] = parts->elems[i].partition;
    size_t dropped = 0;
    sr_status status = sr_serving_drop_partitions(w->serving, lost, (size_t)parts->cnt, &dropped, err);
    free(lost);
    if (status == SR_OK && dropped)
        sr_log(SR_LOG_INFO, "worker", "rebalance: %zu users of partitions lost dropped", dropped);
    return status;
}

static bool on_revoking(void *context, const rd_kafka_topic_partition_list_t *parts, bool lost) {
    worker *w = context;
    w->figures.rebalances++;
    sr_error err;
    sr_status status = SR_OK;
    if (!lost) {
        /* What was consumed of these partitions is processed, delivered and
         * committed before another member may take them over. */
        status = sr_serving_step(w->serving, &err);
        if (status == SR_OK)
            status = sr_serving_score_due(w->serving, sr_wall_clock_ms(), 0, emit, w, NULL, &err);
        if (status == SR_OK) status = commit(w, w->o->shutdown_timeout_ms, true, &err);
    }
    if (lost && stream_output_transactional(w->output)) {
        /* Another member may own them already: the open transaction's outputs
         * and states for them must never become visible. */
        status = stream_output_abort(w->output, "the group session expired", &err);
        if (status == SR_OK) w->figures.transactions_aborted++;
        sr_serving_discard_removed(w->serving); /* their users come back from the changelog */
    }
    bool committed = !lost && status == SR_OK;
    if (status == SR_ERR_ABORTED) {
        /* The interval's work went with the transaction: these partitions'
         * users are ahead of the changelog. They are dropped as if lost (and
         * restored should the partitions come back). */
        w->figures.transactions_aborted++;
        sr_log(SR_LOG_WARN, "worker", "%s: the revoked partitions' users are dropped", err.message);
        status = SR_OK;
    }
    if (!committed && status == SR_OK) status = drop_lost(w, parts, &err);
    for (int i = 0; i < parts->cnt; i++)
        set_hold(w, parts->elems[i].partition, committed ? HOLD_REVOKED : HOLD_LOST);
    fail_in_callback(w, status, &err);
    return committed;
}

static bool in_list(const rd_kafka_topic_partition_list_t *parts, int32_t partition) {
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].partition == partition) return true;
    return false;
}

/* A restore holds the loop (seconds per million users): it is alive. */
static void restoring(void *context) {
    worker *w = context;
    atomic_store(&w->heartbeat_ms, sr_monotonic_ms());
}

/* Restores the users of n event partitions from the changelog, counted and
 * logged. */
static sr_status restore_users(worker *w, const int32_t *partitions, size_t n, sr_error *err) {
    restore_stats st;
    sr_status status = restore_partitions(w->o->bootstrap, w->o->consumer_settings,
                                          w->o->changelog_topic, partitions, n, w->serving,
                                          restoring, w, &st, err);
    if (status == SR_ERR_NOT_FOUND)
        return sr_error_wrap(err, SR_ERR_CONFIG, "exactly_once keeps user states in '%s', which must "
                             "exist, compacted, with the event topic's partition count (create it, "
                             "or set processing.guarantee=at_least_once)", w->o->changelog_topic);
    if (status != SR_OK || n == 0) return status;
    w->figures.restored_users += st.states;
    sr_log(SR_LOG_INFO, "worker", "restored %" PRIu64 " user states (%" PRIu64 " records, %" PRIu64
           " tombstones, %.1f MB) of %zu partitions from %s in %.3f s: %.0f states/s, %.1f MB/s",
           st.states, st.records, st.tombstones, (double)st.bytes / 1e6, n, w->o->changelog_topic,
           st.seconds, st.seconds > 0 ? (double)st.states / st.seconds : 0.0,
           st.seconds > 0 ? (double)st.bytes / 1e6 / st.seconds : 0.0);
    return SR_OK;
}

/* Exactly-once: the users of the assigned partitions this worker did not keep
 * (all of them at start) come back from the changelog before any of their
 * events is processed (this runs inside the consume call that assigns them). */
static sr_status restore_assigned(worker *w, const rd_kafka_topic_partition_list_t *parts,
                                  sr_error *err) {
    int32_t *todo = malloc(((size_t)parts->cnt + 1) * sizeof *todo);
    if (!todo) return sr_fail(err, SR_ERR_NOMEM, "restore: out of memory");
    size_t n = 0;
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        bool kept = p >= 0 && (size_t)p < w->hold_count && w->holds[p] == HOLD_REVOKED;
        if (!kept) todo[n++] = p;
    }
    sr_status status = restore_users(w, todo, n, err);
    free(todo);
    return status;
}

static void on_assigned(void *context, const rd_kafka_topic_partition_list_t *parts) {
    worker *w = context;
    w->figures.rebalances++;
    int32_t gone[256];
    size_t n = 0, dropped_total = 0;
    sr_error err;
    sr_status status = SR_OK;
    for (size_t p = 0; p < w->hold_count && status == SR_OK; p++) {
        bool back = in_list(parts, (int32_t)p);
        if (w->holds[p] == HOLD_REVOKED && !back) gone[n++] = (int32_t)p; /* HOLD_LOST: dropped */
        if (n == sizeof gone / sizeof *gone || (n && p + 1 == w->hold_count)) {
            size_t dropped;
            status = sr_serving_drop_partitions(w->serving, gone, n, &dropped, &err);
            dropped_total += dropped;
            n = 0;
        }
    }
    if (status == SR_OK && w->o->exactly_once) status = restore_assigned(w, parts, &err);
    for (size_t p = 0; p < w->hold_count; p++) w->holds[p] = HOLD_NONE;
    for (int i = 0; i < parts->cnt; i++) set_hold(w, parts->elems[i].partition, HOLD_ASSIGNED);
    if (dropped_total)
        sr_log(SR_LOG_INFO, "worker", "rebalance: %zu users of partitions now elsewhere dropped",
               dropped_total);
    fail_in_callback(w, status, &err);
}

static void on_statistics(void *context, const char *json, size_t len) {
    worker *w = context;
    worker_metrics_kafka_stats(w->metrics, json, len);
}

/* ---- health ---- */

static bool is_ready(void *context, char *reason, size_t cap) {
    worker *w = context;
    if (atomic_load(&w->ready)) return true;
    snprintf(reason, cap, "waiting for a model and a partition assignment");
    return false;
}

static bool is_healthy(void *context, char *reason, size_t cap) {
    worker *w = context;
    int64_t idle = sr_monotonic_ms() - atomic_load(&w->heartbeat_ms);
    if (idle < 30000) return true;
    snprintf(reason, cap, "the processing loop has not run for %" PRId64 " ms", idle);
    return false;
}

/* ---- models ---- */

static sr_status swap_in(worker *w, sr_model *model, sr_error *err) {
    sr_swap_report report;
    int64_t version = model->version;
    sr_status status = sr_serving_set_model(w->serving, model, &report, err);
    if (status != SR_OK) return sr_error_wrap(err, status, "serving model %" PRId64, version);
    if (report.previous_version) worker_metrics_swap(w->metrics, report.pause_seconds); /* a swap, not the first */
    sr_log(SR_LOG_INFO, "worker", "serving model %" PRId64 " (was %" PRId64 "): swap paused %.3f ms%s",
           report.version, report.previous_version, report.pause_seconds * 1000.0,
           report.states_reset ? "; user states restart (another state shape)" : "");
    sr_step_precision asked = w->o->serving.step_precision;
    sr_step_precision runs = sr_model_step_precision(sr_serving_model(w->serving));
    /* Not a warning: bf16x3 is the default, fp32 its documented fallback. */
    sr_log(SR_LOG_INFO, "worker", "model %" PRId64 " steps in %s%s", report.version,
           sr_step_precision_name(runs),
           runs != asked ? " (bf16x3 needs AMX and a hidden size that is a multiple of 32)" : "");
    return SR_OK;
}

/* Waits for the loader's first read of the model topic; serves what it found,
 * or the local file, or (wait_for_model) waits for the first model. */
static sr_status first_model(worker *w, sr_error *err) {
    const sr_worker_options *o = w->o;
    if (o->model_file) {
        sr_model *model;
        sr_status status = sr_model_load_file(o->model_file, &model, NULL, err);
        if (status == SR_OK) status = swap_in(w, model, err);
        if (status != SR_OK) return status;
    }
    model_loader_status st;
    bool announced = false;
    for (;;) {
        model_loader_get_status(w->loader, &st);
        if (st.failed) return sr_fail(err, SR_ERR_KAFKA, "model topic '%s': %s", o->models_topic, st.failure);
        sr_model *model = st.caught_up ? model_loader_take(w->loader) : NULL;
        if (model) {
            const sr_model *current = sr_serving_model(w->serving);
            if (current && current->version >= model->version) sr_model_free(model);
            else if (swap_in(w, model, err) != SR_OK) return err->status;
        }
        if (st.caught_up && (sr_serving_model(w->serving) || !o->wait_for_model)) break;
        if (st.caught_up && !announced) {
            sr_log(SR_LOG_WARN, "worker", "no model on topic '%s' yet: waiting for the trainer to "
                   "publish one (model.wait=false serves the popularity ranking meanwhile)",
                   o->models_topic);
            announced = true;
        }
        if (o->stop && *o->stop) return SR_OK;
        atomic_store(&w->heartbeat_ms, sr_monotonic_ms());
        sr_sleep_ms(100);
    }
    if (!sr_serving_model(w->serving))
        sr_log(SR_LOG_WARN, "worker", "no model on topic '%s' yet: serving the time-decayed "
               "popularity ranking until the trainer publishes one", o->models_topic);
    return SR_OK;
}

static sr_status take_new_model(worker *w, sr_error *err) {
    sr_model *model = model_loader_take(w->loader);
    if (!model) return SR_OK;
    const sr_model *current = sr_serving_model(w->serving);
    if (current && current->version >= model->version) {
        sr_log(SR_LOG_INFO, "worker", "model %" PRId64 " is not newer than the serving %" PRId64 ": ignored",
               model->version, current->version);
        sr_model_free(model);
        return SR_OK;
    }
    return swap_in(w, model, err);
}

/* ---- the loop ---- */

/* Refreshes the figures, the metrics and readiness; *loader (may be NULL)
 * receives the model loader's status, read once here. */
static void update_figures(worker *w, model_loader_status *loader) {
    sr_serving_stats_get(w->serving, &w->figures.serving);
    w->figures.output = stream_output_get_stats(w->output);
    model_loader_status st;
    model_loader_get_status(w->loader, &st);
    if (loader) *loader = st;
    w->figures.model_rejections = st.rejected;
    w->figures.assigned_partitions = stream_consumer_assigned_count(w->consumer);
    w->figures.model_loaded = sr_serving_model(w->serving) != NULL;
    online_hits_totals(w->hits, &w->figures.online_hits, &w->figures.online_checked);
    worker_metrics_update(w->metrics, &w->figures);
    bool ready = (w->figures.model_loaded || !w->o->wait_for_model) &&
                 w->figures.assigned_partitions > 0;
    atomic_store(&w->ready, ready);
}

/* A backlog fills librdkafka's fetch queue (up to queued.min.messages per
 * partition: hundreds of MB at a million events behind); once it drains, glibc
 * keeps the freed pages resident. Every few seconds without a backlog (a poll
 * that did not fill its batch), give them back, so that resident memory
 * follows the users held and not the largest backlog ever seen. Measured:
 * 16 ms once after a 5 M event catch-up (872 -> 466 MB resident at 967 k
 * users), 0.05 ms when there is nothing to return. */
#define TRIM_INTERVAL_MS 5000

static void release_drained_heap(worker *w, size_t polled) {
#ifdef __GLIBC__
    int64_t now = sr_monotonic_ms();
    if (polled >= w->o->poll_batch || now - w->last_trim_ms < TRIM_INTERVAL_MS) return;
    w->last_trim_ms = now;
    double started = sr_monotonic_seconds();
    int released = malloc_trim(0);
    if (released)
        sr_log(SR_LOG_DEBUG, "worker", "returned drained heap to the system in %.1f ms",
               (sr_monotonic_seconds() - started) * 1000.0);
#else
    (void)w, (void)polled;
#endif
}

/* Exactly-once, after an aborted transaction: its outputs and offsets are
 * discarded, but the states in memory had moved on. Every assigned partition
 * goes back to its committed offset, its users are dropped and restored from
 * the changelog (the state of the last committed transaction), and the
 * events since are processed again. */
static sr_status recover_after_abort(worker *w, sr_error *err) {
    w->figures.transactions_aborted++;
    /* An abort that keeps coming back (a record whose output the broker
     * refuses: a poison pill) must not spin: 0.1 s, doubling, up to 10 s. */
    unsigned backoff_ms = w->aborts_in_a_row >= 7 ? 10000 : 100u << w->aborts_in_a_row;
    w->aborts_in_a_row++;
    sr_log(SR_LOG_WARN, "worker", "%s: rewinding to the last committed transaction in %u ms "
           "(%u aborts in a row)", err->message, backoff_ms, w->aborts_in_a_row);
    for (unsigned slept = 0; slept < backoff_ms && !(w->o->stop && *w->o->stop); slept += 100)
        sr_sleep_ms(100); /* a stop request cuts it short */
    int32_t *parts = malloc(((size_t)stream_consumer_assigned_count(w->consumer) + 1) * sizeof *parts);
    if (!parts) return sr_fail(err, SR_ERR_NOMEM, "recovering from an abort: out of memory");
    size_t n = 0, dropped = 0;
    sr_status status = stream_consumer_rewind(w->consumer, parts, &n, err);
    if (status == SR_OK) status = sr_serving_drop_partitions(w->serving, parts, n, &dropped, err);
    sr_serving_discard_removed(w->serving); /* their tombstones went with the transaction */
    if (status == SR_OK) status = restore_users(w, parts, n, err);
    free(parts);
    if (status != SR_OK) return sr_error_wrap(err, status, "recovering from an aborted transaction");
    sr_log(SR_LOG_INFO, "worker", "recovered: %zu partitions rewound to their last commit, %zu users "
           "dropped and restored", n, dropped);
    return SR_OK;
}

static sr_status iterate(worker *w, sr_error *err) {
    const sr_worker_options *o = w->o;
    int64_t now = sr_wall_clock_ms();
    int64_t next_due = sr_serving_next_due(w->serving);
    int timeout = next_due <= now ? 0 : next_due - now < 100 ? (int)(next_due - now) : 100;
    size_t n = stream_consumer_poll(w->consumer, timeout, w->records, o->poll_batch);
    w->iterations++;
    w->polled += n;
    if (w->failure != SR_OK) {
        *err = w->failure_error;
        return w->failure;
    }
    now = sr_wall_clock_ms();
    sr_status status = SR_OK;
    for (size_t i = 0; i < n; i++) {
        if (status == SR_OK) status = handle_record(w, w->records[i], now, err);
        rd_kafka_message_destroy(w->records[i]);
    }
    double step_started = sr_monotonic_seconds();
    if (status == SR_OK) status = sr_kafka_terminal_error(err); /* a refused login: sr_kafka.h */
    if (status == SR_OK) status = sr_serving_step(w->serving, err);
    if (n) worker_metrics_step_batch(w->metrics, sr_monotonic_seconds() - step_started);
    if (status == SR_OK) status = sr_serving_score_due(w->serving, sr_wall_clock_ms(), 0, emit, w, NULL, err);
    stream_output_poll(w->output);
    if (status == SR_OK) status = take_new_model(w, err);
    sr_serving_maintain(w->serving);
    release_drained_heap(w, n);
    if (status == SR_OK && sr_monotonic_ms() - w->last_commit_ms >= o->commit_interval_ms)
        status = commit(w, 1000, false, err);
    if (status == SR_ERR_ABORTED) status = recover_after_abort(w, err);
    model_loader_status st;
    update_figures(w, &st);
    if (status == SR_OK && st.failed)
        status = sr_fail(err, SR_ERR_KAFKA, "model topic '%s': %s", o->models_topic, st.failure);
    atomic_store(&w->heartbeat_ms, sr_monotonic_ms());
    return status;
}

/* This instance's transactional id: configured, or the group and the static
 * member name (stable across restarts: a restarted instance fences its
 * previous self), or the group, host and process (unique; with exactly-once
 * v2 the group generation fences zombies anyway). */
static const char *transactional_id(worker *w) {
    const sr_worker_options *o = w->o;
    if (o->transactional_id && *o->transactional_id) return o->transactional_id;
    if (o->group_instance_id && *o->group_instance_id) {
        snprintf(w->transactional_id, sizeof w->transactional_id, "%s-%s", o->group_id,
                 o->group_instance_id);
    } else {
        char host[128] = "host";
        gethostname(host, sizeof host - 1);
        snprintf(w->transactional_id, sizeof w->transactional_id, "%s-%s-%ld", o->group_id, host,
                 (long)getpid());
    }
    return w->transactional_id;
}

static sr_status start(worker *w, sr_error *err) {
    const sr_worker_options *o = w->o;
    sr_status status = sr_codec_new(&w->codec, err);
    if (status == SR_OK && o->schema_map) status = sr_codec_load_schema_map(w->codec, o->schema_map, err);
    sr_serving_config serving = o->serving;
    serving.changelog = o->exactly_once; /* removed users become changelog tombstones */
    if (status == SR_OK) status = sr_serving_new(&serving, &w->serving, err);
    if (status == SR_OK) status = worker_metrics_new(&w->metrics, err);
    if (status == SR_OK) status = online_hits_new(16, o->serving.topn, 1 << 16, &w->hits, err);
    if (status == SR_OK) {
        w->records = calloc(o->poll_batch, sizeof *w->records);
        if (!w->records) status = sr_fail(err, SR_ERR_NOMEM, "worker: out of memory");
    }
    if (status == SR_OK && o->http_port >= 0) {
        sr_http_server_options ho = {.bind_address = o->http_bind, .port = o->http_port,
                                     .metrics = worker_metrics_registry(w->metrics),
                                     .ready = is_ready, .healthy = is_healthy, .context = w};
        status = sr_http_server_start(&ho, &w->http, err);
        if (status == SR_OK)
            sr_log(SR_LOG_INFO, "worker", "serving /healthz, /readyz and /metrics on port %d",
                   sr_http_server_port(w->http));
    }
    if (status == SR_OK) {
        model_loader_options lo = {.bootstrap = o->bootstrap, .topic = o->models_topic,
                                   .settings = o->consumer_settings,
                                   .catch_up_timeout_ms = o->model_catch_up_timeout_ms,
                                   .step_table_max_bytes = o->serving.step_table_max_bytes,
                                   .step_precision = o->serving.step_precision};
        status = model_loader_start(&lo, &w->loader, err);
    }
    if (status == SR_OK) {
        stream_output_options po = {
            .bootstrap = o->bootstrap, .client_id = o->client_id,
            .recommendations_topic = o->recommendations_topic, .dead_letter_topic = o->dead_letter_topic,
            .settings = o->settings, .settings_context = o->settings_context,
            .delivered = delivered, .delivered_context = w,
            .queue_full_timeout_ms = o->shutdown_timeout_ms,
            .changelog_topic = o->exactly_once ? o->changelog_topic : NULL,
            .transactional_id = o->exactly_once ? transactional_id(w) : NULL,
            .transaction_timeout_ms = o->shutdown_timeout_ms};
        if (po.transactional_id)
            sr_log(SR_LOG_INFO, "worker", "exactly-once: transactional id '%s'", po.transactional_id);
        status = stream_output_new(&po, &w->output, err);
    }
    if (status == SR_OK) status = first_model(w, err);
    if (status == SR_OK && !(o->stop && *o->stop)) {
        stream_consumer_options co = {
            .bootstrap = o->bootstrap, .group_id = o->group_id,
            .group_instance_id = o->group_instance_id, .client_id = o->client_id,
            .topic = o->events_topic, .settings = o->settings, .settings_context = o->settings_context,
            .hooks = {.revoking = on_revoking, .assigned = on_assigned, .statistics = on_statistics,
                      .context = w}};
        status = stream_consumer_new(&co, &w->consumer, err);
    }
    return status;
}

/* Finishes the in-flight work, flushes, commits and leaves the group. */
static sr_status finish(worker *w, sr_error *err) {
    sr_status status = sr_serving_step(w->serving, err);
    if (status == SR_OK)
        status = sr_serving_score_due(w->serving, sr_wall_clock_ms(), 0, emit, w, NULL, err);
    if (status == SR_OK) status = commit(w, w->o->shutdown_timeout_ms, true, err);
    if (status == SR_OK) sr_log(SR_LOG_INFO, "worker", "final commit done: every output delivered");
    return status;
}

static void stop_all(worker *w) {
    stream_consumer_close(w->consumer); /* leaves the group */
    model_loader_stop(w->loader);
    sr_http_server_stop(w->http);
    stream_output_free(w->output);
    online_hits_free(w->hits);
    worker_metrics_free(w->metrics);
    sr_serving_free(w->serving);
    sr_codec_free(w->codec);
    free(w->records);
    free(w->holds);
}

sr_status sr_worker_run(const sr_worker_options *o, sr_worker_summary *summary, sr_error *err) {
    if (o->poll_batch == 0 || o->poll_batch > MAX_POLL_BATCH)
        return sr_fail(err, SR_ERR_CONFIG, "worker: poll batch %u is not in 1..%u", o->poll_batch,
                       MAX_POLL_BATCH);
    worker w = {.o = o};
    atomic_store(&w.heartbeat_ms, sr_monotonic_ms());
    double started = sr_monotonic_seconds();
    w.last_commit_ms = sr_monotonic_ms();
    sr_status status = start(&w, err);
    if (status == SR_OK && w.consumer) {
        sr_log(SR_LOG_INFO, "worker", "consuming %s as group %s", o->events_topic, o->group_id);
        while (status == SR_OK && !(o->stop && *o->stop)) status = iterate(&w, err);
        sr_log(SR_LOG_DEBUG, "worker", "%llu loop iterations, %.1f records each",
               (unsigned long long)w.iterations, w.iterations ? (double)w.polled / (double)w.iterations : 0.0);
        if (status == SR_OK) {
            sr_log(SR_LOG_INFO, "worker", "stopping: finishing the batch, flushing, committing");
            status = finish(&w, err);
        }
    }
    if (w.serving && w.output && w.loader && w.consumer) update_figures(&w, NULL);
    if (summary) {
        *summary = (sr_worker_summary){
            .records = w.figures.records, .events = w.figures.serving.events,
            .dead_letters = w.figures.output.dead_letters,
            .recommendations = w.figures.output.recommendations, .commits = w.figures.commits,
            .aborted = w.figures.transactions_aborted,
            .swaps = w.figures.serving.swaps, .model_version = w.figures.serving.model_version,
            .seconds = sr_monotonic_seconds() - started};
    }
    stop_all(&w);
    return status;
}
