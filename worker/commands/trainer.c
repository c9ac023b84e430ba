/*
 * trainer.c — `streamrec trainer`: reads the event history (the event topic
 * replayed from the beginning, or a dataset file), trains the model with
 * validation-based early stopping (sr_fit.h), writes the model file and, with
 * --publish, publishes it to the model topic for the workers to hot-swap.
 *
 * Output: a progress bar on a terminal, one JSON log line per epoch, the
 * training curve as CSV (--curve), and one JSON summary line on stdout.
 *
 * With --continuous (event topic only), the trainer then keeps its topic
 * reader open and goes on appending the events that arrive. When a round is
 * due (--retrain-interval, --retrain-events) it builds a candidate from the
 * serving model and every event read so far, and publishes it only when it
 * does at least as well as the serving model on the round's hold-out; see
 * sr_continuous.h for the round, the hold-out and the decision. Each round
 * writes one JSON log line with the decision and both figures, and one JSON
 * line on stdout. SIGINT/SIGTERM end the loop between rounds (a round running
 * stops after its current epoch and is abandoned); the exit status is 0.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sr_codec.h"
#include "sr_commands.h"
#include "sr_continuous.h"
#include "sr_dataset.h"
#include "sr_event_loader.h"
#include "sr_fit.h"
#include "sr_kafka.h"
#include "sr_log.h"
#include "sr_model_file.h"
#include "sr_model_publish.h"
#include "sr_topics.h"
#include "version.h"

struct trainer_options {
    /* input */
    const char *input;
    int format;                 /* sr_replay_kind, -1 = read Kafka */
    const char *bootstrap;
    const char *topic;
    sr_wire_format wire;
    sr_kafka_settings kafka;
    /* model and training */
    sr_model_config model;
    sr_train_config train;
    sr_fit_options fit;
    /* output */
    const char *out;
    const char *curve;
    int publish;
    const char *model_topic;
    int64_t model_version;      /* 0: now in ms */
    int progress;
    /* continuous training */
    int continuous;
    sr_continuous_trigger trigger;
    uint32_t finetune_epochs;
};

static volatile sig_atomic_t stop_requested;
static void on_stop_signal(int signo) { (void)signo; stop_requested = 1; }

static void print_help(FILE *out, const struct trainer_options *d) {
    fprintf(out,
        "usage: streamrec trainer --out PATH [--input FILE --format FORMAT | --topic NAME]\n"
        "                         [--continuous --retrain-interval SEC|--retrain-events N] [options]\n\n"
        "Trains the recommendation model on an event history and writes the model\n"
        "file. Leave-one-out: each user's last event is the test item (never seen\n"
        "here), the one before it the validation item, which selects the best epoch\n"
        "and stops training early; the rest are training events.\n\n"
        "input (a file, or else the event topic from its beginning, read_committed):\n"
        "  --input FILE --format lines|pairs|diginetica\n"
        "  --topic NAME            event topic (default %s)\n"
        "  --bootstrap ADDR        (default $STREAMREC_BOOTSTRAP or 127.0.0.1:9092)\n"
        "  --wire registry|plain   events' framing on the topic (default registry)\n"
        "  -X key=value            any librdkafka setting (consumer and publisher)\n\n"
        "model:\n"
        "  --embed-dim N           item embedding size E (default %u)\n"
        "  --hidden-dim N          GRU state size H (default %u)\n"
        "  --window N              recent steps attention looks at, T (default %u)\n"
        "  --cell gru|elman        recurrent cell (default gru)\n"
        "  --attention none|items|hidden  what attention looks at (default items)\n"
        "  --untied                separate output item embeddings (default: tied)\n\n"
        "training:\n"
        "  --loss full|sampled     softmax over all items, or sampled with logQ (default full)\n"
        "  --negatives N           sampled softmax negatives per chunk (default %u)\n"
        "  --lr X                  Adam learning rate (default %g)\n"
        "  --batch-size N          sequences per batch (default %u)\n"
        "  --max-length N          a user's last N training events (default %u)\n"
        "  --bptt N                steps per truncated-BPTT chunk (default %u)\n"
        "  --dropout X             input and output dropout (default %g)\n"
        "  --weight-decay X        decoupled weight decay (default %g)\n"
        "  --clip X                gradient-norm clip, 0 = none (default %g)\n"
        "  --seed N                (default %llu)\n"
        "  --epochs N              at most N epochs (default %u)\n"
        "  --patience N            stop after N epochs without validation gain (default %u)\n"
        "  --time-budget SEC       stop before an epoch would end past it (default %.0f)\n\n"
        "output:\n"
        "  --out PATH              the model file (written atomically) — required\n"
        "  --curve PATH            the training curve as CSV (plot: deploy/plot-training-curve.py)\n"
        "  --publish               publish the model to the model topic\n"
        "  --model-topic NAME      (default %s)\n"
        "  --model-version N       version to publish (default: the time in ms)\n"
        "  --no-progress           no progress bar even on a terminal\n"
        "  --log-level LEVEL       debug, info (default), warn, error\n"
        "  -h, --help              this text\n\n"
        "continuous training (--topic only): after the first model, keep reading the\n"
        "topic; at each round fine-tune the serving model on every event read so far\n"
        "(new items get new rows) and replace it only if it is not worse on the\n"
        "round's hold-out: each user's last event, for the users with a new event\n"
        "since the previous round, which neither model has trained on. Rewrites --out\n"
        "and, with --publish, publishes each accepted model with a higher version.\n"
        "One JSON line per round on stdout; SIGINT/SIGTERM stop between rounds.\n"
        "  --continuous            keep training as events arrive\n"
        "  --retrain-interval SEC  a round when SEC seconds passed and events arrived\n"
        "  --retrain-events N      a round when N new events arrived (at least one of\n"
        "                          the two is needed; both: whichever comes first)\n"
        "  --finetune-epochs N     at most N epochs per round, validation early\n"
        "                          stopping as above (default %u)\n\n"
        "examples:\n"
        "  streamrec trainer --input ../shared/data/amazon-beauty-s3rec/Beauty.txt \\\n"
        "                    --format lines --out beauty.srm --curve beauty.csv\n"
        "  streamrec trainer --topic user-events --out model.srm --publish\n"
        "  streamrec trainer --topic user-events --out model.srm --publish --continuous \\\n"
        "                    --retrain-events 100000 --retrain-interval 3600\n",
        SR_TOPIC_EVENTS, d->model.embed_dim, d->model.hidden_dim, d->model.window,
        d->train.negatives, (double)d->train.learning_rate, d->train.batch_size, d->train.max_length,
        d->train.bptt_length, (double)d->train.dropout_input, (double)d->train.weight_decay,
        (double)d->train.clip_norm, (unsigned long long)d->train.seed, d->fit.max_epochs,
        d->fit.patience, d->fit.time_budget_seconds, SR_TOPIC_MODELS, d->finetune_epochs);
}

static void defaults(struct trainer_options *o) {
    memset(o, 0, sizeof *o);
    o->format = -1;
    o->bootstrap = sr_kafka_default_bootstrap();
    o->topic = SR_TOPIC_EVENTS;
    o->wire = SR_WIRE_REGISTRY;
    o->model = (sr_model_config){
        .embed_dim = 64,
        .hidden_dim = 64,
        .window = 8,
        .cell = SR_CELL_GRU,
        .attention = SR_ATTENTION_ITEMS,
        .tied_embeddings = 1,
    };
    sr_train_config_init(&o->train);
    sr_fit_options_init(&o->fit);
    o->model_topic = SR_TOPIC_MODELS;
    o->progress = isatty(STDERR_FILENO);
    o->finetune_epochs = 2;
}

/* ---- option parsing: each helper prints its complaint and returns 0 ---- */

static int parse_uint(const char *flag, const char *text, uint32_t min, uint32_t *out) {
    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end || value < min || value > UINT32_MAX) {
        fprintf(stderr, "streamrec trainer: %s needs an integer >= %u, not '%s'\n", flag, min, text);
        return 0;
    }
    *out = (uint32_t)value;
    return 1;
}

static int parse_float(const char *flag, const char *text, double min, double max, float *out) {
    char *end;
    double value = strtod(text, &end);
    if (!*text || *end || !(value >= min && value <= max)) {
        fprintf(stderr, "streamrec trainer: %s needs a number in [%g, %g], not '%s'\n", flag, min, max,
                text);
        return 0;
    }
    *out = (float)value;
    return 1;
}

static int parse_choice(const char *flag, const char *text, const char *const *names, int count,
                        int *out) {
    for (int i = 0; i < count; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return 1;
        }
    fprintf(stderr, "streamrec trainer: %s does not know '%s'; see --help\n", flag, text);
    return 0;
}

enum {
    OPT_INPUT = 256, OPT_FORMAT, OPT_TOPIC, OPT_BOOTSTRAP, OPT_WIRE, OPT_EMBED, OPT_HIDDEN,
    OPT_WINDOW, OPT_CELL, OPT_ATTENTION, OPT_UNTIED, OPT_LOSS, OPT_NEGATIVES, OPT_LR, OPT_BATCH,
    OPT_MAX_LENGTH, OPT_BPTT, OPT_DROPOUT, OPT_WEIGHT_DECAY, OPT_CLIP, OPT_SEED, OPT_EPOCHS,
    OPT_PATIENCE, OPT_BUDGET, OPT_OUT, OPT_CURVE, OPT_PUBLISH, OPT_MODEL_TOPIC, OPT_VERSION,
    OPT_NO_PROGRESS, OPT_LOG_LEVEL, OPT_CONTINUOUS, OPT_RETRAIN_INTERVAL, OPT_RETRAIN_EVENTS,
    OPT_FINETUNE_EPOCHS,
};

static const struct option long_options[] = {
    {"input", required_argument, NULL, OPT_INPUT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"topic", required_argument, NULL, OPT_TOPIC},
    {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
    {"wire", required_argument, NULL, OPT_WIRE},
    {"embed-dim", required_argument, NULL, OPT_EMBED},
    {"hidden-dim", required_argument, NULL, OPT_HIDDEN},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"cell", required_argument, NULL, OPT_CELL},
    {"attention", required_argument, NULL, OPT_ATTENTION},
    {"untied", no_argument, NULL, OPT_UNTIED},
    {"loss", required_argument, NULL, OPT_LOSS},
    {"negatives", required_argument, NULL, OPT_NEGATIVES},
    {"lr", required_argument, NULL, OPT_LR},
    {"batch-size", required_argument, NULL, OPT_BATCH},
    {"max-length", required_argument, NULL, OPT_MAX_LENGTH},
    {"bptt", required_argument, NULL, OPT_BPTT},
    {"dropout", required_argument, NULL, OPT_DROPOUT},
    {"weight-decay", required_argument, NULL, OPT_WEIGHT_DECAY},
    {"clip", required_argument, NULL, OPT_CLIP},
    {"seed", required_argument, NULL, OPT_SEED},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"patience", required_argument, NULL, OPT_PATIENCE},
    {"time-budget", required_argument, NULL, OPT_BUDGET},
    {"out", required_argument, NULL, OPT_OUT},
    {"curve", required_argument, NULL, OPT_CURVE},
    {"publish", no_argument, NULL, OPT_PUBLISH},
    {"model-topic", required_argument, NULL, OPT_MODEL_TOPIC},
    {"model-version", required_argument, NULL, OPT_VERSION},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"continuous", no_argument, NULL, OPT_CONTINUOUS},
    {"retrain-interval", required_argument, NULL, OPT_RETRAIN_INTERVAL},
    {"retrain-events", required_argument, NULL, OPT_RETRAIN_EVENTS},
    {"finetune-epochs", required_argument, NULL, OPT_FINETUNE_EPOCHS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option; 1 when fine, 0 after printing why not. */
static int parse_one(int opt, const char *arg, struct trainer_options *o) {
    static const char *const formats[] = {"lines", "pairs", "diginetica"};
    static const char *const cells[] = {"gru", "elman"};
    static const char *const attentions[] = {"none", "items", "hidden"};
    static const char *const losses[] = {"full", "sampled"};
    static const char *const wires[] = {"plain", "registry"};
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    int choice;
    uint32_t number;
    float value;
    sr_error err;
    switch (opt) {
    case OPT_INPUT: o->input = arg; return 1;
    case OPT_FORMAT:
        if (!parse_choice("--format", arg, formats, 3, &choice)) return 0;
        o->format = sr_replay_kind_parse(formats[choice]);
        return 1;
    case OPT_TOPIC: o->topic = arg; return 1;
    case OPT_BOOTSTRAP: o->bootstrap = arg; return 1;
    case OPT_WIRE:
        if (!parse_choice("--wire", arg, wires, 2, &choice)) return 0;
        o->wire = (sr_wire_format)sr_wire_format_parse(wires[choice]);
        return 1;
    case OPT_EMBED: return parse_uint("--embed-dim", arg, 1, &o->model.embed_dim);
    case OPT_HIDDEN: return parse_uint("--hidden-dim", arg, 1, &o->model.hidden_dim);
    case OPT_WINDOW: return parse_uint("--window", arg, 1, &o->model.window);
    case OPT_CELL:
        if (!parse_choice("--cell", arg, cells, 2, &choice)) return 0;
        o->model.cell = choice ? SR_CELL_ELMAN : SR_CELL_GRU;
        return 1;
    case OPT_ATTENTION:
        if (!parse_choice("--attention", arg, attentions, 3, &choice)) return 0;
        o->model.attention = (sr_attention_kind)choice;
        return 1;
    case OPT_UNTIED: o->model.tied_embeddings = 0; return 1;
    case OPT_LOSS:
        if (!parse_choice("--loss", arg, losses, 2, &choice)) return 0;
        o->train.loss = choice ? SR_LOSS_SAMPLED_SOFTMAX : SR_LOSS_FULL_SOFTMAX;
        return 1;
    case OPT_NEGATIVES: return parse_uint("--negatives", arg, 1, &o->train.negatives);
    case OPT_LR: return parse_float("--lr", arg, 1e-7, 10, &o->train.learning_rate);
    case OPT_BATCH: return parse_uint("--batch-size", arg, 1, &o->train.batch_size);
    case OPT_MAX_LENGTH: return parse_uint("--max-length", arg, 2, &o->train.max_length);
    case OPT_BPTT: return parse_uint("--bptt", arg, 1, &o->train.bptt_length);
    case OPT_DROPOUT:
        if (!parse_float("--dropout", arg, 0, 0.95, &value)) return 0;
        o->train.dropout_input = o->train.dropout_output = value;
        return 1;
    case OPT_WEIGHT_DECAY: return parse_float("--weight-decay", arg, 0, 1, &o->train.weight_decay);
    case OPT_CLIP: return parse_float("--clip", arg, 0, 1e6, &o->train.clip_norm);
    case OPT_SEED:
        if (!parse_uint("--seed", arg, 0, &number)) return 0;
        o->train.seed = number;
        return 1;
    case OPT_EPOCHS: return parse_uint("--epochs", arg, 1, &o->fit.max_epochs);
    case OPT_PATIENCE: return parse_uint("--patience", arg, 1, &o->fit.patience);
    case OPT_BUDGET:
        if (!parse_float("--time-budget", arg, 1, 1e7, &value)) return 0;
        o->fit.time_budget_seconds = value;
        return 1;
    case OPT_OUT: o->out = arg; return 1;
    case OPT_CURVE: o->curve = arg; return 1;
    case OPT_PUBLISH: o->publish = 1; return 1;
    case OPT_MODEL_TOPIC: o->model_topic = arg; return 1;
    case OPT_VERSION: {
        char *end;
        long long version = strtoll(arg, &end, 10);
        if (!*arg || *end || version < 1) {
            fprintf(stderr, "streamrec trainer: --model-version needs a positive integer, not '%s'\n", arg);
            return 0;
        }
        o->model_version = version;
        return 1;
    }
    case OPT_NO_PROGRESS: o->progress = 0; return 1;
    case OPT_LOG_LEVEL:
        if (!parse_choice("--log-level", arg, levels, 4, &choice)) return 0;
        sr_log_set_level((sr_log_level)choice);
        return 1;
    case OPT_CONTINUOUS: o->continuous = 1; return 1;
    case OPT_RETRAIN_INTERVAL:
        if (!parse_float("--retrain-interval", arg, 0.1, 1e7, &value)) return 0;
        o->trigger.interval_seconds = value;
        return 1;
    case OPT_RETRAIN_EVENTS:
        if (!parse_uint("--retrain-events", arg, 1, &number)) return 0;
        o->trigger.events = number;
        return 1;
    case OPT_FINETUNE_EPOCHS: return parse_uint("--finetune-epochs", arg, 1, &o->finetune_epochs);
    case 'X':
        if (sr_kafka_settings_add(&o->kafka, arg, &err) == SR_OK) return 1;
        fprintf(stderr, "streamrec trainer: %s\n", err.message);
        return 0;
    default: return 0;
    }
}

/* SR_EXIT_OK to run, -1 after --help, SR_EXIT_USAGE on a usage error. */
static int parse_options(int argc, char **argv, struct trainer_options *o) {
    struct trainer_options d;
    defaults(&d);
    int opt;
    while ((opt = getopt_long(argc, argv, "hX:", long_options, NULL)) != -1) {
        if (opt == 'h') {
            print_help(stdout, &d);
            return -1;
        }
        if (opt == '?' || !parse_one(opt, optarg, o)) {
            if (opt == '?') print_help(stderr, &d);
            return SR_EXIT_USAGE;
        }
    }
    const char *problem = NULL;
    if (optind < argc) problem = "unexpected argument";
    else if (!o->out) problem = "--out is required";
    else if ((o->input != NULL) != (o->format >= 0)) problem = "--input and --format go together";
    else if (o->continuous && o->input) problem = "--continuous reads the event topic, not --input";
    else if (o->continuous && !o->trigger.events && !(o->trigger.interval_seconds > 0))
        problem = "--continuous needs --retrain-interval and/or --retrain-events";
    else if (!o->continuous && (o->trigger.events || o->trigger.interval_seconds > 0))
        problem = "--retrain-interval and --retrain-events go with --continuous";
    if (problem) {
        fprintf(stderr, "streamrec trainer: %s%s%s\n", problem, optind < argc ? " " : "",
                optind < argc ? argv[optind] : "");
        return SR_EXIT_USAGE;
    }
    sr_error err;
    if (sr_train_config_check(&o->train, &err) != SR_OK) {
        fprintf(stderr, "streamrec trainer: %s\n", err.message);
        return SR_EXIT_USAGE;
    }
    return SR_EXIT_OK;
}

static int64_t wall_clock_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- input ---- */

static sr_status load_from_kafka(const struct trainer_options *o, sr_dataset *data, sr_error *err) {
    sr_codec *codec;
    sr_status status = sr_codec_new(&codec, err);
    if (status != SR_OK) return status;
    sr_topic_reader_options reader = {.bootstrap = o->bootstrap, .settings = &o->kafka,
                                      .topic = o->topic, .from_beginning = true};
    sr_user_event *events;
    size_t count;
    sr_event_load_stats stats;
    status = sr_load_topic_events(&reader, codec, o->wire, &stop_requested, &events, &count, &stats, err);
    sr_codec_free(codec);
    if (status != SR_OK) return status;
    sr_log(SR_LOG_INFO, "trainer", "read %llu events from '%s' in %.1f s (%llu records did not decode)",
           (unsigned long long)stats.events, o->topic, stats.seconds,
           (unsigned long long)stats.bad_records);
    status = sr_dataset_from_events(events, count, data, err);
    free(events);
    return status;
}

static sr_status load_dataset(const struct trainer_options *o, sr_dataset *data, sr_error *err) {
    if (o->input) {
        sr_replay_options replay;
        sr_replay_options_init(&replay);
        return sr_dataset_load((sr_replay_kind)o->format, o->input, &replay, data, err);
    }
    return load_from_kafka(o, data, err);
}

/* ---- progress, log lines and the curve ---- */

struct run_output {
    const struct trainer_options *options;
    FILE *curve;
    uint32_t epoch;             /* the epoch running */
    double epoch_started;
};

static double monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The bar, redrawn after each batch: "epoch 3  [######----]  61%  loss 7.1234  ETA 0:12". */
static void on_batch(void *context, uint64_t done, uint64_t total, double mean_loss) {
    struct run_output *run = context;
    if (!run->options->progress || total == 0) return;
    if (done == 1) run->epoch_started = monotonic_seconds();
    double elapsed = monotonic_seconds() - run->epoch_started;
    double eta = done ? elapsed * (double)(total - done) / (double)done : 0;
    char bar[21];
    int filled = (int)(20 * done / total);
    for (int i = 0; i < 20; i++) bar[i] = i < filled ? '#' : '-';
    bar[20] = '\0';
    fprintf(stderr, "\repoch %u  [%s] %3d%%  loss %.4f  ETA %d:%02d ", run->epoch + 1, bar,
            (int)(100 * done / total), mean_loss, (int)eta / 60, (int)eta % 60);
    if (done == total) fprintf(stderr, "\r%*s\r", 70, "");
}

static void on_epoch(void *context, const sr_fit_epoch *e) {
    struct run_output *run = context;
    run->epoch = e->epoch;
    sr_log(SR_LOG_INFO, "trainer",
           "epoch %u: loss %.4f, %.0f events/s, %.1f s training + %.1f s validation; "
           "valid HR@10 %.4f NDCG@10 %.4f%s",
           e->epoch, e->train_loss, e->train_events_per_s, e->train_seconds, e->valid_seconds,
           e->valid.hr10, e->valid.ndcg10, e->improved ? " (best)" : "");
    if (run->curve) {
        fprintf(run->curve, "%u,%.3f,%.6f,%.1f,%.6f,%.6f,%.6f,%d\n", e->epoch, e->elapsed_seconds,
                e->train_loss, e->train_events_per_s, e->valid.hr10, e->valid.ndcg10, e->valid.mrr,
                e->improved);
        fflush(run->curve);
    }
}

/* ---- saving and publishing ---- */

/* What the run has written: the publisher (opened at the first publication
 * and kept, so that continuous rounds reuse it) and the last version. */
struct releases {
    sr_model_publisher *publisher;
    int64_t last_version;       /* 0: none yet */
};

/* The first version is --model-version or the time in ms; each later one is
 * strictly above the last (the time in ms when that is higher, without
 * --model-version), as the publisher demands. */
static int64_t next_version(const struct trainer_options *o, int64_t last) {
    if (last == 0) return o->model_version ? o->model_version : wall_clock_ms();
    int64_t now = o->model_version ? 0 : wall_clock_ms();
    return now > last ? now : last + 1;
}

/* Gives model the next version, writes it to --out (atomically) with note and
 * metrics, and with --publish publishes that file. holdout may be NULL. */
static sr_status save_and_publish(const struct trainer_options *o, struct releases *releases,
                                  sr_model *model, const char *note, const sr_eval_metrics *valid,
                                  const sr_eval_metrics *holdout, sr_error *err) {
    sr_model_meta meta = {.created_at_ms = wall_clock_ms()};
    sr_status status = sr_model_meta_set_note(&meta, note, err);
    if (status == SR_OK) status = sr_model_meta_add_metric(&meta, "valid_hr@10", valid->hr10, err);
    if (status == SR_OK) status = sr_model_meta_add_metric(&meta, "valid_ndcg@10", valid->ndcg10, err);
    if (status == SR_OK) status = sr_model_meta_add_metric(&meta, "valid_mrr", valid->mrr, err);
    if (status == SR_OK && holdout)
        status = sr_model_meta_add_metric(&meta, "holdout_hr@10", holdout->hr10, err);
    if (status == SR_OK && holdout)
        status = sr_model_meta_add_metric(&meta, "holdout_ndcg@10", holdout->ndcg10, err);
    model->version = next_version(o, releases->last_version);
    if (status == SR_OK) status = sr_model_save(model, &meta, o->out, err);
    if (status != SR_OK) return status;
    releases->last_version = model->version;
    if (!o->publish) return SR_OK;

    sr_buffer file = {0};
    status = sr_model_file_read(o->out, SIZE_MAX, &file, err);
    sr_model_publisher_options publisher_options = {
        .bootstrap = o->bootstrap, .settings = &o->kafka, .topic = o->model_topic};
    if (status == SR_OK && !releases->publisher)
        status = sr_model_publisher_new(&publisher_options, &releases->publisher, err);
    sr_model_publication done;
    if (status == SR_OK) status = sr_model_publish(releases->publisher, file.data, file.len, &done, err);
    if (status == SR_OK)
        sr_log(SR_LOG_INFO, "trainer", "published model version %lld to '%s': %d chunks, %zu bytes",
               (long long)done.model_version, o->model_topic, done.chunk_count, done.total_bytes);
    sr_buffer_free(&file);
    return status;
}

static void releases_close(struct releases *releases) {
    if (releases->publisher) sr_model_publisher_free(releases->publisher);
    releases->publisher = NULL;
}

/* ---- the first model ---- */

/* A model over data's catalogue, initialised with the seed and trained by
 * sr_fit; the curve (--curve) records its epochs. */
static sr_status train_initial(struct trainer_options *o, const sr_dataset *data, sr_model **out,
                               sr_fit_result *fit, sr_error *err) {
    *out = NULL;
    o->model.item_count = data->vocab.count;
    sr_model *model = NULL;
    sr_status status = sr_model_new(&o->model, &model, err);
    if (status == SR_OK) {
        sr_model_init_random(model, o->train.seed);
        status = sr_vocab_build(&model->vocab, data->vocab.ids, data->vocab.count, err);
    }
    struct run_output output = {.options = o};
    if (status == SR_OK && o->curve && !(output.curve = fopen(o->curve, "w")))
        status = sr_fail(err, SR_ERR_IO, "cannot write %s", o->curve);
    if (output.curve)
        fprintf(output.curve, "epoch,elapsed_seconds,train_loss,train_events_per_s,valid_hr10,valid_ndcg10,valid_mrr,best\n");

    *fit = (sr_fit_result){0};
    if (status == SR_OK) {
        sr_fit_options options = o->fit;
        options.stop = &stop_requested;
        options.on_epoch = on_epoch;
        options.on_batch = on_batch;
        options.context = &output;
        status = sr_fit(model, data, &o->train, &options, fit, err);
    }
    if (output.curve) fclose(output.curve);
    if (status == SR_OK && fit->best_epoch == 0)
        status = sr_fail(err, SR_ERR_INVALID_ARG, "no epoch was trained");
    if (status != SR_OK) {
        sr_model_free(model);
        return status;
    }
    *out = model;
    return SR_OK;
}

/* Trains, saves and publishes the first model and prints the summary line. */
static sr_status first_model(struct trainer_options *o, const sr_dataset *data,
                             struct releases *releases, sr_model **out, sr_error *err) {
    sr_log(SR_LOG_INFO, "trainer", "%zu users, %zu events, %u items", data->user_count,
           data->event_count, data->vocab.count);
    sr_fit_result fit;
    sr_status status = train_initial(o, data, out, &fit, err);
    char note[256];
    snprintf(note, sizeof note, "streamrec trainer %s (%s); best epoch %u of %u", STREAMREC_VERSION,
             STREAMREC_GIT_COMMIT, fit.best_epoch, fit.epochs);
    if (status == SR_OK) status = save_and_publish(o, releases, *out, note, &fit.best_valid, NULL, err);
    if (status != SR_OK) {
        sr_model_free(*out);
        *out = NULL;
        return status;
    }
    printf("{\"model\":\"%s\",\"model_version\":%lld,\"users\":%zu,\"events\":%zu,\"items\":%u,"
           "\"epochs\":%u,\"best_epoch\":%u,\"stopped\":\"%s\",\"seconds\":%.1f,"
           "\"valid_hr@10\":%.6f,\"valid_ndcg@10\":%.6f,\"valid_mrr\":%.6f}\n",
           o->out, (long long)(*out)->version, data->user_count, data->event_count,
           data->vocab.count, fit.epochs, fit.best_epoch, fit.stopped_because, fit.seconds,
           fit.best_valid.hr10, fit.best_valid.ndcg10, fit.best_valid.mrr);
    fflush(stdout);
    return SR_OK;
}

static sr_status run_once(struct trainer_options *o, sr_error *err) {
    sr_dataset data;
    sr_status status = load_dataset(o, &data, err);
    if (status != SR_OK) return status;
    struct releases releases = {0};
    sr_model *model = NULL;
    status = first_model(o, &data, &releases, &model, err);
    releases_close(&releases);
    sr_model_free(model);
    sr_dataset_free(&data);
    return status;
}

/* ---- continuous training: the event topic, followed ---- */

/* Every event of the topic read so far, in arrival order (each partition's
 * order, so each user's order), with the reader kept open for more. Records
 * that do not decode are counted and the first ten logged, as
 * sr_load_topic_events does. */
struct event_stream {
    sr_topic_reader *reader;
    sr_codec *codec;
    sr_wire_format wire;
    sr_user_event *events;
    size_t count, cap;
    sr_event_load_stats stats;
};

static sr_status stream_open(const struct trainer_options *o, struct event_stream *stream,
                             sr_error *err) {
    memset(stream, 0, sizeof *stream);
    stream->wire = o->wire;
    sr_topic_reader_options options = {.bootstrap = o->bootstrap, .settings = &o->kafka,
                                       .topic = o->topic, .from_beginning = true};
    sr_status status = sr_codec_new(&stream->codec, err);
    if (status == SR_OK) status = sr_topic_reader_new(&options, &stream->reader, err);
    return status;
}

static void stream_close(struct event_stream *stream) {
    if (stream->reader) sr_topic_reader_free(stream->reader);
    if (stream->codec) sr_codec_free(stream->codec);
    free(stream->events);
    memset(stream, 0, sizeof *stream);
}

static sr_status stream_push(struct event_stream *stream, const sr_user_event *event, sr_error *err) {
    if (stream->count == stream->cap) {
        size_t grown = stream->cap ? stream->cap * 2 : 65536;
        sr_user_event *more = realloc(stream->events, grown * sizeof *more);
        if (!more) return sr_fail(err, SR_ERR_NOMEM, "out of memory after %zu events", stream->count);
        stream->events = more;
        stream->cap = grown;
    }
    sr_user_event *slot = &stream->events[stream->count++];
    *slot = *event;
    slot->has_session_id = false;  /* it pointed into the record */
    slot->session_id = NULL;
    slot->session_id_len = 0;
    stream->stats.events++;
    return SR_OK;
}

/* Waits up to timeout_ms for one record and appends its event. */
static sr_status stream_poll(struct event_stream *stream, int timeout_ms, sr_error *err) {
    rd_kafka_message_t *msg;
    sr_status status = sr_topic_reader_poll(stream->reader, timeout_ms, &msg, err);
    if (status != SR_OK || !msg) return status;
    stream->stats.records++;
    sr_user_event event;
    sr_error decode_err;
    const char *problem = NULL;
    if (!msg->payload) problem = "no value";
    else if (sr_codec_decode_event(stream->codec, stream->wire, msg->payload, msg->len, &event,
                                   &decode_err) != SR_OK)
        problem = decode_err.message;
    else status = stream_push(stream, &event, err);
    if (problem && stream->stats.bad_records++ < 10)
        sr_log(SR_LOG_WARN, "events", "skipping record at partition %d offset %lld: %s",
               (int)msg->partition, (long long)msg->offset, problem);
    rd_kafka_message_destroy(msg);
    return status;
}

/* Reads until every partition is at its end, a stop is requested, or (when
 * max_seconds > 0) that long has passed. */
static sr_status stream_read_to_end(struct event_stream *stream, double max_seconds, sr_error *err) {
    double started = monotonic_seconds();
    sr_status status = SR_OK;
    while (status == SR_OK && !sr_topic_reader_at_end(stream->reader) && !stop_requested &&
           !(max_seconds > 0 && monotonic_seconds() - started > max_seconds))
        status = stream_poll(stream, 200, err);
    return status;
}

/* ---- continuous training: a round ---- */

struct continuous_state {
    sr_model *serving;          /* the last model written (and published) */
    size_t previous;            /* events the last round (or the first model) read */
    uint32_t round;
};

static void report_round(const struct trainer_options *o, const struct continuous_state *c,
                         const sr_dataset *data, size_t new_events, const sr_continuous_round *r,
                         const char *decision) {
    sr_log(SR_LOG_INFO, "trainer",
           "round %u: %s (%s): hold-out NDCG@10 candidate %.6f vs serving %.6f, HR@10 candidate "
           "%.6f vs serving %.6f, over %zu hold-out users; %zu new events, %u new items; "
           "serving version %lld",
           c->round, decision, r->decision.reason, r->candidate.ndcg10, r->serving.ndcg10,
           r->candidate.hr10, r->serving.hr10, r->holdout_users, new_events, r->growth.added,
           (long long)c->serving->version);
    printf("{\"round\":%u,\"decision\":\"%s\",\"reason\":\"%s\",\"model\":\"%s\",\"model_version\":%lld,"
           "\"users\":%zu,\"events\":%zu,\"new_events\":%zu,\"items\":%u,\"new_items\":%u,"
           "\"holdout_users\":%zu,\"candidate_ndcg@10\":%.6f,\"serving_ndcg@10\":%.6f,"
           "\"candidate_hr@10\":%.6f,\"serving_hr@10\":%.6f,\"epochs\":%u,\"best_epoch\":%u,"
           "\"valid_ndcg@10\":%.6f,\"seconds\":%.1f}\n",
           c->round, decision, r->decision.reason, o->out, (long long)c->serving->version,
           data->user_count, data->event_count, new_events, data->vocab.count, r->growth.added,
           r->holdout_users, r->candidate.ndcg10, r->serving.ndcg10, r->candidate.hr10,
           r->serving.hr10, r->fit.epochs, r->fit.best_epoch, r->fit.best_valid.ndcg10, r->seconds);
    fflush(stdout);
}

/* One round on the events read so far (sr_continuous.h); on acceptance the
 * candidate is saved, published and becomes the serving model. A round that a
 * stop interrupted is abandoned: nothing is written. */
static sr_status continuous_round(struct trainer_options *o, struct releases *releases,
                                  const struct event_stream *stream, struct continuous_state *c,
                                  sr_error *err) {
    size_t snapshot = stream->count, new_events = snapshot - c->previous;
    c->round++;
    sr_log(SR_LOG_INFO, "trainer", "round %u: %zu events, %zu new since the last round", c->round,
           snapshot, new_events);
    sr_dataset data;
    sr_status status = sr_dataset_from_events(stream->events, snapshot, &data, err);
    if (status != SR_OK) return status;
    int64_t *users = NULL;
    size_t user_count = 0;
    status = sr_continuous_new_users(stream->events + c->previous, new_events, &users, &user_count, err);

    sr_train_config train = o->train;
    train.seed = o->train.seed + c->round;  /* another shuffle each round */
    struct run_output output = {.options = o};
    sr_fit_options fit = o->fit;
    fit.max_epochs = o->finetune_epochs;
    fit.stop = &stop_requested;
    fit.on_epoch = on_epoch;
    fit.on_batch = on_batch;
    fit.context = &output;
    sr_model *candidate = NULL;
    sr_continuous_round round;
    if (status == SR_OK)
        status = sr_continuous_run_round(c->serving, &data, users, user_count, &train, &fit,
                                         &candidate, &round, err);
    free(users);
    if (status == SR_OK && stop_requested) {
        sr_log(SR_LOG_INFO, "trainer", "round %u abandoned: stopping", c->round);
    } else if (status == SR_OK) {
        const char *decision = !round.trained ? "skipped" : round.decision.publish ? "published" : "rejected";
        if (round.decision.publish) {
            char note[256];
            snprintf(note, sizeof note,
                     "streamrec trainer %s (%s); continuous round %u, fine-tuned, best epoch %u of %u",
                     STREAMREC_VERSION, STREAMREC_GIT_COMMIT, c->round, round.fit.best_epoch,
                     round.fit.epochs);
            status = save_and_publish(o, releases, candidate, note, &round.fit.best_valid,
                                      &round.candidate, err);
            if (status == SR_OK) {
                sr_model_free(c->serving);
                c->serving = candidate;
                candidate = NULL;
            }
        }
        if (status == SR_OK) report_round(o, c, &data, new_events, &round, decision);
        c->previous = snapshot;
    }
    sr_model_free(candidate);
    sr_dataset_free(&data);
    return status;
}

/* The first model on the topic as it is, then rounds as events arrive, until
 * SIGINT/SIGTERM. The loop waits for records 200 ms at a time, so a stop
 * between rounds takes effect within that. */
static sr_status run_continuous(struct trainer_options *o, sr_error *err) {
    struct event_stream stream;
    sr_status status = stream_open(o, &stream, err);
    if (status == SR_OK) status = stream_read_to_end(&stream, 0, err);
    if (status == SR_OK)
        sr_log(SR_LOG_INFO, "trainer", "read %llu events from '%s' (%llu records did not decode); "
               "following it", (unsigned long long)stream.stats.events, o->topic,
               (unsigned long long)stream.stats.bad_records);
    struct releases releases = {0};
    struct continuous_state c = {.previous = stream.count};
    sr_dataset data = {0};
    if (status == SR_OK && stop_requested)
        sr_log(SR_LOG_INFO, "trainer", "stopped before the first model");
    else if (status == SR_OK)
        status = sr_dataset_from_events(stream.events, stream.count, &data, err);
    if (status == SR_OK && !stop_requested) status = first_model(o, &data, &releases, &c.serving, err);
    sr_dataset_free(&data);

    double round_started = monotonic_seconds();
    while (status == SR_OK && !stop_requested) {
        status = stream_poll(&stream, 200, err);
        if (status != SR_OK ||
            !sr_continuous_round_due(&o->trigger, stream.count - c.previous,
                                     monotonic_seconds() - round_started))
            continue;
        /* Take in what is already on the topic, within reason, before the snapshot. */
        status = stream_read_to_end(&stream, 2.0, err);
        if (status == SR_OK && !stop_requested) status = continuous_round(o, &releases, &stream, &c, err);
        round_started = monotonic_seconds();
    }
    if (status == SR_OK)
        sr_log(SR_LOG_INFO, "trainer", "stopped after %u rounds; serving version %lld", c.round,
               c.serving ? (long long)c.serving->version : 0LL);
    releases_close(&releases);
    sr_model_free(c.serving);
    stream_close(&stream);
    return status;
}

static sr_status run(struct trainer_options *o, sr_error *err) {
    return o->continuous ? run_continuous(o, err) : run_once(o, err);
}

int sr_cmd_trainer(int argc, char **argv) {
    struct trainer_options o;
    defaults(&o);
    int rc = parse_options(argc, argv, &o);
    if (rc != SR_EXIT_OK) {
        sr_kafka_settings_free(&o.kafka);
        return rc < 0 ? SR_EXIT_OK : rc;
    }
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    sr_error err;
    sr_status status = run(&o, &err);
    sr_kafka_settings_free(&o.kafka);
    if (status != SR_OK) {
        sr_log(SR_LOG_ERROR, "trainer", "%s", err.message);
        return status == SR_ERR_CONFIG ? SR_EXIT_USAGE : SR_EXIT_FAILURE;
    }
    return SR_EXIT_OK;
}
