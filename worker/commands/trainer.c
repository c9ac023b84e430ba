/*
 * trainer.c — `streamrec trainer`: its options, help and entry point. The run
 * is in trainer_run.c (input, the first model, saving and publishing) and
 * trainer_continuous.c (--continuous rounds).
 *
 * It reads the event history (the event topic replayed from the beginning, or
 * a dataset file), trains the model with validation-based early stopping
 * (sr_fit.h), writes the model file and, with --publish, publishes it to the
 * model topic for the workers to hot-swap. Output: a progress bar on a
 * terminal, one JSON log line per epoch, the training curve as CSV (--curve),
 * and one JSON summary line on stdout.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands/trainer_internal.h"
#include "sr_cli.h"
#include "sr_commands.h"
#include "sr_config.h"
#include "sr_log.h"
#include "sr_topics.h"

extern char **environ;

volatile sig_atomic_t trainer_stop_requested;
static void on_stop_signal(int signo) { (void)signo; trainer_stop_requested = 1; }

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
        "  -X key=value            any librdkafka setting (consumer and publisher);\n"
        "                          KEY.file=PATH sets KEY to the file's content, one\n"
        "                          trailing newline removed (-X sasl.password.file=PATH)\n\n"
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
        "  --init PATH             start from this model file (a warm start: its architecture,\n"
        "                          its parameters; items it lacks are added, average-initialised;\n"
        "                          the architecture options above are then ignored)\n"
        "  --publish               publish the model to the model topic\n"
        "  --model-topic NAME      (default %s)\n"
        "  --model-version N       version to publish (default: the time in ms)\n"
        "  --no-progress           no progress bar even on a terminal\n"
        "  --log-level LEVEL       debug, info (default), warn, error\n"
        "  -h, --help              this text\n\n"
        "configuration (as the worker's): every option above is also a key, its name\n"
        "with '.' for '-' (retrain-events: retrain.events; a switch: true/false), in\n"
        "  --config FILE           a properties file (key=value lines; kafka.KEY=VALUE\n"
        "                          for -X KEY=VALUE), e.g. a mounted ConfigMap\n"
        "  STREAMREC_<KEY>         the environment (STREAMREC_RETRAIN_EVENTS=100000,\n"
        "                          STREAMREC_KAFKA_SASL_PASSWORD_FILE=...)\n"
        "flags win over the environment, which wins over the file; an unknown key or a\n"
        "bad value exits 2 naming it; --print-config shows the result, secrets masked.\n\n"
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

static int parse_float(const char *flag, const char *text, double min, double max, float *out) {
    double value;
    if (!sr_cli_double("trainer", flag, text, min, max, &value)) return 0;
    *out = (float)value;
    return 1;
}

enum {
    OPT_INPUT = 256, OPT_FORMAT, OPT_TOPIC, OPT_BOOTSTRAP, OPT_WIRE, OPT_EMBED, OPT_HIDDEN,
    OPT_WINDOW, OPT_CELL, OPT_ATTENTION, OPT_UNTIED, OPT_LOSS, OPT_NEGATIVES, OPT_LR, OPT_BATCH,
    OPT_MAX_LENGTH, OPT_BPTT, OPT_DROPOUT, OPT_WEIGHT_DECAY, OPT_CLIP, OPT_SEED, OPT_EPOCHS,
    OPT_PATIENCE, OPT_BUDGET, OPT_OUT, OPT_CURVE, OPT_INIT, OPT_PUBLISH, OPT_MODEL_TOPIC, OPT_VERSION,
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
    {"init", required_argument, NULL, OPT_INIT},
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
    switch (opt) {
    case OPT_INPUT: o->input = arg; return 1;
    case OPT_FORMAT:
        if (!sr_cli_choice("trainer", "--format", arg, formats, 3, &choice)) return 0;
        o->format = sr_replay_kind_parse(formats[choice]);
        return 1;
    case OPT_TOPIC: o->topic = arg; return 1;
    case OPT_BOOTSTRAP: o->bootstrap = arg; return 1;
    case OPT_WIRE:
        if (!sr_cli_choice("trainer", "--wire", arg, wires, 2, &choice)) return 0;
        o->wire = (sr_wire_format)sr_wire_format_parse(wires[choice]);
        return 1;
    case OPT_EMBED: return sr_cli_u32("trainer", "--embed-dim", arg, 1, &o->model.embed_dim);
    case OPT_HIDDEN: return sr_cli_u32("trainer", "--hidden-dim", arg, 1, &o->model.hidden_dim);
    case OPT_WINDOW: return sr_cli_u32("trainer", "--window", arg, 1, &o->model.window);
    case OPT_CELL:
        if (!sr_cli_choice("trainer", "--cell", arg, cells, 2, &choice)) return 0;
        o->model.cell = choice ? SR_CELL_ELMAN : SR_CELL_GRU;
        return 1;
    case OPT_ATTENTION:
        if (!sr_cli_choice("trainer", "--attention", arg, attentions, 3, &choice)) return 0;
        o->model.attention = (sr_attention_kind)choice;
        return 1;
    case OPT_UNTIED: o->model.tied_embeddings = 0; return 1;
    case OPT_LOSS:
        if (!sr_cli_choice("trainer", "--loss", arg, losses, 2, &choice)) return 0;
        o->train.loss = choice ? SR_LOSS_SAMPLED_SOFTMAX : SR_LOSS_FULL_SOFTMAX;
        return 1;
    case OPT_NEGATIVES: return sr_cli_u32("trainer", "--negatives", arg, 1, &o->train.negatives);
    case OPT_LR: return parse_float("--lr", arg, 1e-7, 10, &o->train.learning_rate);
    case OPT_BATCH: return sr_cli_u32("trainer", "--batch-size", arg, 1, &o->train.batch_size);
    case OPT_MAX_LENGTH: return sr_cli_u32("trainer", "--max-length", arg, 2, &o->train.max_length);
    case OPT_BPTT: return sr_cli_u32("trainer", "--bptt", arg, 1, &o->train.bptt_length);
    case OPT_DROPOUT:
        if (!parse_float("--dropout", arg, 0, 0.95, &value)) return 0;
        o->train.dropout_input = o->train.dropout_output = value;
        return 1;
    case OPT_WEIGHT_DECAY: return parse_float("--weight-decay", arg, 0, 1, &o->train.weight_decay);
    case OPT_CLIP: return parse_float("--clip", arg, 0, 1e6, &o->train.clip_norm);
    case OPT_SEED:
        if (!sr_cli_u32("trainer", "--seed", arg, 0, &number)) return 0;
        o->train.seed = number;
        return 1;
    case OPT_EPOCHS: return sr_cli_u32("trainer", "--epochs", arg, 1, &o->fit.max_epochs);
    case OPT_PATIENCE: return sr_cli_u32("trainer", "--patience", arg, 1, &o->fit.patience);
    case OPT_BUDGET:
        if (!parse_float("--time-budget", arg, 1, 1e7, &value)) return 0;
        o->fit.time_budget_seconds = value;
        return 1;
    case OPT_OUT: o->out = arg; return 1;
    case OPT_CURVE: o->curve = arg; return 1;
    case OPT_INIT: o->init = arg; return 1;
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
        if (!sr_cli_choice("trainer", "--log-level", arg, levels, 4, &choice)) return 0;
        sr_log_set_level((sr_log_level)choice);
        return 1;
    case OPT_CONTINUOUS: o->continuous = 1; return 1;
    case OPT_RETRAIN_INTERVAL:
        if (!parse_float("--retrain-interval", arg, 0.1, 1e7, &value)) return 0;
        o->trigger.interval_seconds = value;
        return 1;
    case OPT_RETRAIN_EVENTS:
        if (!sr_cli_u32("trainer", "--retrain-events", arg, 1, &number)) return 0;
        o->trigger.events = number;
        return 1;
    case OPT_FINETUNE_EPOCHS: return sr_cli_u32("trainer", "--finetune-epochs", arg, 1, &o->finetune_epochs);
    default: return 0;
    }
}

/* The configuration keys are the long options, '-' read as '.', so that a
 * properties file (--config: a mounted ConfigMap) and STREAMREC_<KEY>
 * variables give what the flags give, through the worker's configuration
 * module (sr_config.h: precedence, unknown keys, -X, --print-config). A switch
 * is a boolean key; the other values stay text, checked by parse_one as a
 * flag's would be. */
#define TRAINER_KEYS (sizeof long_options / sizeof long_options[0])

typedef struct trainer_keys {
    sr_option_def defs[TRAINER_KEYS];
    char names[TRAINER_KEYS][32];
    int codes[TRAINER_KEYS];
    size_t count;
} trainer_keys;

static void make_keys(trainer_keys *k) {
    k->count = 0;
    for (size_t i = 0; long_options[i].name; i++) {
        if (long_options[i].val == 'h') continue;
        char *name = k->names[k->count];
        snprintf(name, sizeof k->names[0], "%s", long_options[i].name);
        for (char *c = name; *c; c++)
            if (*c == '-') *c = '.';
        bool flag = long_options[i].has_arg == no_argument;
        k->defs[k->count] = (sr_option_def){.key = name, .type = flag ? SR_OPT_BOOL : SR_OPT_STRING,
                                            .default_value = flag ? "false" : NULL,
                                            .help = "see streamrec trainer --help"};
        k->codes[k->count++] = long_options[i].val;
    }
}

/* SR_EXIT_OK to run, -1 after --help or --print-config, SR_EXIT_USAGE on a
 * usage error. *cfg holds the values o points into: free it after the run. */
static int parse_options(int argc, char **argv, struct trainer_options *o, sr_config **cfg) {
    struct trainer_options d;
    defaults(&d);
    static trainer_keys keys;
    make_keys(&keys);
    sr_error err;
    sr_config_action action;
    if (sr_config_new(keys.defs, keys.count, cfg, &err) != SR_OK) {
        fprintf(stderr, "streamrec trainer: %s\n", err.message);
        return SR_EXIT_FAILURE;
    }
    if (sr_config_parse_args(*cfg, argc, argv, environ, &action, &err) != SR_OK) {
        fprintf(stderr, "streamrec trainer: %s\nusage: streamrec trainer --out PATH [options] "
                "(streamrec trainer --help lists them)\n", err.message);
        return SR_EXIT_USAGE;
    }
    if (action == SR_CONFIG_HELP) {
        print_help(stdout, &d);
        return -1;
    }
    if (action == SR_CONFIG_PRINT) {
        sr_config_print(*cfg, stdout);
        return -1;
    }
    for (size_t i = 0; i < keys.count; i++) {
        const sr_option_def *def = &keys.defs[i];
        bool given = def->type == SR_OPT_BOOL ? sr_config_bool(*cfg, def->key)
                                              : sr_config_string(*cfg, def->key) != NULL;
        if (given && !parse_one(keys.codes[i], def->type == SR_OPT_BOOL ? NULL
                                                : sr_config_string(*cfg, def->key), o)) {
            fprintf(stderr, "streamrec trainer: (%s from %s)\n", def->key,
                    sr_config_source(*cfg, def->key));
            return SR_EXIT_USAGE;
        }
    }
    /* One list for both of its clients (the event reader and the publisher). */
    if (sr_config_kafka_settings(*cfg, SR_CLIENT_OTHER, &o->kafka, &err) != SR_OK) {
        fprintf(stderr, "streamrec trainer: %s\n", err.message);
        return SR_EXIT_USAGE;
    }
    const char *problem = NULL;
    if (!o->out) problem = "--out is required";
    else if ((o->input != NULL) != (o->format >= 0)) problem = "--input and --format go together";
    else if (o->continuous && o->input) problem = "--continuous reads the event topic, not --input";
    else if (o->continuous && !o->trigger.events && !(o->trigger.interval_seconds > 0))
        problem = "--continuous needs --retrain-interval and/or --retrain-events";
    else if (!o->continuous && (o->trigger.events || o->trigger.interval_seconds > 0))
        problem = "--retrain-interval and --retrain-events go with --continuous";
    if (problem) {
        fprintf(stderr, "streamrec trainer: %s\n", problem);
        return SR_EXIT_USAGE;
    }
    if (sr_train_config_check(&o->train, &err) != SR_OK) {
        fprintf(stderr, "streamrec trainer: %s\n", err.message);
        return SR_EXIT_USAGE;
    }
    return SR_EXIT_OK;
}

static sr_status run(struct trainer_options *o, sr_error *err) {
    return o->continuous ? trainer_run_continuous(o, err) : trainer_run_once(o, err);
}

int sr_cmd_trainer(int argc, char **argv) {
    struct trainer_options o;
    defaults(&o);
    sr_config *cfg = NULL;
    int rc = parse_options(argc, argv, &o, &cfg);
    if (rc != SR_EXIT_OK) {
        sr_kafka_settings_free(&o.kafka);
        sr_config_free(cfg);
        return rc < 0 ? SR_EXIT_OK : rc;
    }
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    sr_error err;
    sr_status status = run(&o, &err);
    sr_kafka_settings_free(&o.kafka);
    sr_config_free(cfg);
    if (status != SR_OK) {
        sr_log(SR_LOG_ERROR, "trainer", "%s", err.message);
        return status == SR_ERR_CONFIG ? SR_EXIT_USAGE : SR_EXIT_FAILURE;
    }
    return SR_EXIT_OK;
}
