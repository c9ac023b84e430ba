/*
 * model_loader.c — the model topic followed on a thread of its own (model_loader.h).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sr_clock.h"
#include "sr_log.h"
#include "sr_model_file.h"
#include "sr_model_publish.h"
#include "stream/model_loader.h"

struct model_loader {
    model_loader_options options;
    sr_model_subscriber *subscriber;
    pthread_t thread;
    atomic_bool stop;

    pthread_mutex_t lock;       /* guards pending and status */
    sr_model *pending;
    uint64_t load_failures;     /* verified versions that did not parse */
    model_loader_status status;
};

/* Parses the subscriber's latest version and leaves it for the taker. */
static void load_latest(model_loader *l) {
    const sr_model_release *release = sr_model_subscriber_latest(l->subscriber);
    if (!release) return;
    sr_model *model;
    sr_error err;
    sr_status status = sr_model_load_buffer(release->bytes, release->len, &model, NULL, &err);
    if (status == SR_OK) {
        status = sr_model_prepare_step_table(model, l->options.step_table_max_bytes,
                                             l->options.step_precision, &err);
        if (status != SR_OK) sr_model_free(model);
    }
    if (status != SR_OK) {
        sr_log(SR_LOG_ERROR, "model", "version %" PRId64 " verified but does not load: %s; the "
               "current model keeps serving", release->manifest.model_version, err.message);
        pthread_mutex_lock(&l->lock);
        l->load_failures++;
        l->status.rejected++;
        memcpy(l->status.last_rejection, err.message, sizeof err.message);
        pthread_mutex_unlock(&l->lock);
        return;
    }
    pthread_mutex_lock(&l->lock);
    sr_model_free(l->pending); /* superseded before it was taken */
    l->pending = model;
    l->status.loaded++;
    l->status.latest_version = model->version;
    pthread_mutex_unlock(&l->lock);
}

static void fail(model_loader *l, const sr_error *err) {
    sr_log(SR_LOG_ERROR, "model", "model topic: %s", err->message);
    pthread_mutex_lock(&l->lock);
    l->status.failed = true;
    l->status.caught_up = true;
    memcpy(l->status.failure, err->message, sizeof err->message);
    pthread_mutex_unlock(&l->lock);
}

static void sync_rejections(model_loader *l) {
    sr_model_subscriber_stats st = sr_model_subscriber_get_stats(l->subscriber);
    pthread_mutex_lock(&l->lock);
    if (st.rejected + l->load_failures != l->status.rejected) {
        l->status.rejected = st.rejected + l->load_failures;
        if (st.last_rejection[0])
            memcpy(l->status.last_rejection, st.last_rejection, sizeof st.last_rejection);
    }
    pthread_mutex_unlock(&l->lock);
}

/* Opens the model topic, waiting while it does not exist yet (a deployment
 * that creates topics after starting the workers): the first miss counts as
 * a finished catch-up with no model, so that the worker serves popularity or
 * waits, as configured, instead of failing. */
static sr_status open_topic(model_loader *l, sr_error *err) {
    sr_model_subscriber_options so = {.bootstrap = l->options.bootstrap, .topic = l->options.topic,
                                      .settings = l->options.settings};
    bool announced = false;
    for (;;) {
        sr_status status = sr_model_subscriber_new(&so, &l->subscriber, err);
        if (status != SR_ERR_NOT_FOUND) return status;
        if (!announced) {
            sr_log(SR_LOG_WARN, "model", "%s; checking again every second", err->message);
            pthread_mutex_lock(&l->lock);
            l->status.caught_up = true;
            pthread_mutex_unlock(&l->lock);
            announced = true;
        }
        for (int i = 0; i < 10; i++) {
            if (atomic_load(&l->stop)) return SR_ERR_NOT_FOUND;
            sr_sleep_ms(100);
        }
    }
}

static void *run(void *arg) {
    model_loader *l = arg;
    sr_error err;
    sr_status opened = open_topic(l, &err);
    if (opened == SR_ERR_NOT_FOUND) return NULL; /* stopped while waiting */
    if (opened != SR_OK) {
        fail(l, &err);
        return NULL;
    }
    if (sr_model_subscriber_catch_up(l->subscriber, l->options.catch_up_timeout_ms, &err) != SR_OK) {
        fail(l, &err);
        return NULL;
    }
    load_latest(l);
    sync_rejections(l);
    pthread_mutex_lock(&l->lock);
    l->status.caught_up = true;
    pthread_mutex_unlock(&l->lock);
    while (!atomic_load(&l->stop)) {
        bool updated;
        if (sr_model_subscriber_poll(l->subscriber, 200, &updated, &err) != SR_OK) {
            fail(l, &err);
            return NULL;
        }
        if (updated) load_latest(l);
        sync_rejections(l);
    }
    return NULL;
}

sr_status model_loader_start(const model_loader_options *options, model_loader **out,
                             sr_error *err) {
    model_loader *l = calloc(1, sizeof *l);
    if (!l) return sr_fail(err, SR_ERR_NOMEM, "model loader: out of memory");
    l->options = *options;
    if (l->options.catch_up_timeout_ms <= 0) l->options.catch_up_timeout_ms = 60000;
    pthread_mutex_init(&l->lock, NULL);
    if (pthread_create(&l->thread, NULL, run, l) != 0) {
        pthread_mutex_destroy(&l->lock);
        free(l);
        return sr_fail(err, SR_ERR_NOMEM, "model loader: cannot start a thread");
    }
    *out = l;
    return SR_OK;
}

sr_model *model_loader_take(model_loader *l) {
    pthread_mutex_lock(&l->lock);
    sr_model *model = l->pending;
    l->pending = NULL;
    pthread_mutex_unlock(&l->lock);
    return model;
}

void model_loader_get_status(model_loader *l, model_loader_status *status) {
    pthread_mutex_lock(&l->lock);
    *status = l->status;
    pthread_mutex_unlock(&l->lock);
}

void model_loader_stop(model_loader *l) {
    if (!l) return;
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    sr_model_subscriber_free(l->subscriber);
    sr_model_free(l->pending);
    pthread_mutex_destroy(&l->lock);
    free(l);
}
