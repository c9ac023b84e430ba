/*
 * model_loader.h — models for the worker, loaded off the processing thread.
 *
 * A thread of its own follows the model topic (sr_model_subscriber: every
 * version verified chunk by chunk and as a whole), parses each new verified
 * version into an sr_model and leaves it for the processing thread, which
 * takes it between two batches and swaps it in. Parsing a large model takes
 * a while; doing it here keeps it out of the swap pause. A version that
 * fails to load is logged, counted and skipped: the current one keeps
 * serving. When versions arrive faster than the processing thread takes
 * them, only the newest waits.
 *
 * Startup. The thread first reads the topic to its end (catch-up), so that
 * the worker starts with the latest published model; model_loader_state tells
 * the processing thread when that is done and whether a model was found.
 */
#ifndef SR_STREAM_MODEL_LOADER_H
#define SR_STREAM_MODEL_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "sr_error.h"
#include "sr_kafka.h"
#include "sr_model.h"

typedef struct model_loader_options {
    const char *bootstrap;
    const char *topic;
    const sr_kafka_settings *settings;  /* the user's consumer settings; may be NULL */
    int catch_up_timeout_ms;
    size_t step_table_max_bytes;        /* built here, off the processing thread */
    sr_step_precision step_precision;
} model_loader_options;

typedef struct model_loader_status {
    bool caught_up;        /* the first read to the topic's end is done */
    bool failed;           /* the thread stopped on an error (message in failure) */
    uint64_t loaded;       /* versions parsed */
    uint64_t rejected;     /* versions refused (by the subscriber or the parser) */
    int64_t latest_version; /* the newest loaded; 0 = none */
    char failure[SR_ERROR_MESSAGE_MAX];
    char last_rejection[SR_ERROR_MESSAGE_MAX];
} model_loader_status;

typedef struct model_loader model_loader;

/* Starts the thread, which opens the topic (waiting while it does not exist)
 * and reads it; its failures show in the status. */
sr_status model_loader_start(const model_loader_options *options, model_loader **out,
                             sr_error *err);

/* The newest loaded model not taken yet (the caller owns it), or NULL. */
sr_model *model_loader_take(model_loader *loader);

void model_loader_get_status(model_loader *loader, model_loader_status *status);

/* Stops and joins the thread; frees a model nobody took. */
void model_loader_stop(model_loader *loader);

#endif
