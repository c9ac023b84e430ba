/*
 * eval.c — `streamrec eval`: offline evaluation of a model, or of the
 * popularity baseline, on a dataset file, with the leave-one-out protocols of
 * sr_eval.h. Prints exactly one JSON object on stdout; logs go to stderr.
 *
 * The run: parse options (exit 2 naming the flag on a usage error), load the
 * dataset through the replay source (sr_dataset_load), make or read the
 * negatives for the sampled protocol, build the scorer, sr_eval_run, print.
 * Exit 0 on success, 1 on a runtime failure (unreadable or bad input, a model
 * that fails to load), 2 on a usage error. The model is scored through the
 * serving path of sr_model.h (eval/model_scorer.c), the worker's own calls.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_cli.h"
#include "sr_commands.h"
#include "sr_dataset.h"
#include "sr_eval.h"
#include "sr_log.h"
#include "sr_replay.h"
#include "sr_serving.h"


#include "sr_model.h"
#include "sr_model_file.h"

struct eval_config {
    const char *model_path;
    const char *input;
    int have_format;
    sr_replay_kind format;
    sr_eval_options eval;
    uint64_t negatives;            /* per user, sampled protocol */
    sr_eval_sampler sampler;
    const char *negatives_file;
    uint64_t seed;
    int baseline_pop;              /* 1 pop, 2 pop-all */
    int step_precision;            /* -1: training's arithmetic; else as the worker prepares */
    sr_bad_line_policy on_bad_line;
};

static void print_help(FILE *out) {
    fprintf(out,
        "usage: streamrec eval (--model PATH | --baseline pop|pop-all) --input FILE --format FORMAT\n"
        "                      [--protocol full|sampled] [options]\n\n"
        "Evaluates next-item recommendation offline with leave-one-out: for each user\n"
        "with at least 3 events, the last event is the test target and the\n"
        "second-to-last the validation target; the events before the target are the\n"
        "history the model reads. Prints one JSON object on stdout:\n"
        "  {\"users\":N,\"hr@1\":..,\"hr@5\":..,\"hr@10\":..,\"hr@20\":..,\"ndcg@5\":..,\n"
        "   \"ndcg@10\":..,\"ndcg@20\":..,\"mrr\":..,\"protocol\":..,\"split\":..}\n"
        "(and \"model_version\" with --model). Logs are JSON lines on stderr.\n\n"
        "protocols:\n"
        "  full      the target against every item of the file, the user's history\n"
        "            items removed (never the target itself); the honest one\n"
        "  sampled   the target against N negatives per user, items the user never\n"
        "            interacted with: drawn with --seed, or read from --negatives-file\n\n"
        "options:\n"
        "  --model PATH            a model file written by the trainer\n"
        "  --baseline pop          instead of a model: score = occurrences among the events\n"
        "                          known at the split (test: all but the test targets)\n"
        "  --baseline pop-all      the same counting every event of the file, test\n"
        "                          targets too (leaks; what S3-Rec's PopRec matches)\n"
        "  --input FILE            the dataset file (required)\n"
        "  --format FORMAT         lines (S3-Rec *.txt), pairs (BERT4Rec beauty.txt),\n"
        "                          diginetica (required)\n"
        "  --protocol P            full (default) or sampled\n"
        "  --negatives N           negatives per user (default 99: S3-Rec; BERT4Rec\n"
        "                          uses 100)\n"
        "  --sampler S             uniform (default; S3-Rec) or popularity (in proportion\n"
        "                          to the item's occurrences in the whole file; BERT4Rec)\n"
        "  --negatives-file PATH   fixed negatives, 'user_id neg_1 ... neg_k' a line\n"
        "                          (S3-Rec's <name>_sample.txt); implies sampled\n"
        "  --seed S                the negative draw (default 12345)\n"
        "  --split test|valid      which target (default test)\n"
        "  --ties RULE             pessimistic (default: every tie ranks ahead of the\n"
        "                          target) or expected (mean over random tie orders)\n"
        "  --mask-repeated-target  full ranking as S3-Rec's code: a target that repeats\n"
        "                          a history item is masked too (always a miss)\n"
        "  --batch N               users per scoring call (default 256)\n"
        "  --step-precision P      step as a worker does with step.precision=P (fp32 or\n"
        "                          bf16x3: its step table and in-place kernels); default:\n"
        "                          the arithmetic training uses\n"
        "  --on-bad-line POLICY    fail (default) or skip bad lines of the input\n"
        "  --log-level LEVEL       debug, info (default), warn, error\n"
        "  -h, --help              this text\n\n"
        "examples:\n"
        "  streamrec eval --baseline pop --format lines \\\n"
        "      --input ../shared/data/amazon-beauty-s3rec/Beauty.txt --protocol full\n"
        "  streamrec eval --baseline pop --format lines \\\n"
        "      --input ../shared/data/lastfm-s3rec/LastFM.txt \\\n"
        "      --negatives-file ../shared/data/lastfm-s3rec/LastFM_sample.txt\n"
        "  streamrec eval --baseline pop --format pairs \\\n"
        "      --input ../shared/data/amazon-beauty-bert4rec/beauty.txt \\\n"
        "      --protocol sampled --negatives 100 --sampler popularity\n"
        "  streamrec eval --model model.bin --format lines --input Yelp.txt --split valid\n");
}

/* Prints "streamrec eval: <message>" and returns 0 (the option was bad). */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "streamrec eval: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 0;
}

enum {
    OPT_MODEL = 256, OPT_INPUT, OPT_FORMAT, OPT_PROTOCOL, OPT_NEGATIVES, OPT_SAMPLER,
    OPT_NEGATIVES_FILE, OPT_SEED, OPT_SPLIT, OPT_BASELINE, OPT_TIES, OPT_MASK_REPEATED, OPT_BATCH,
    OPT_BAD_LINE, OPT_LOG_LEVEL, OPT_STEP_PRECISION,
};

static const struct option long_options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"input", required_argument, NULL, OPT_INPUT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"protocol", required_argument, NULL, OPT_PROTOCOL},
    {"negatives", required_argument, NULL, OPT_NEGATIVES},
    {"sampler", required_argument, NULL, OPT_SAMPLER},
    {"negatives-file", required_argument, NULL, OPT_NEGATIVES_FILE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"split", required_argument, NULL, OPT_SPLIT},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"ties", required_argument, NULL, OPT_TIES},
    {"mask-repeated-target", no_argument, NULL, OPT_MASK_REPEATED},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"on-bad-line", required_argument, NULL, OPT_BAD_LINE},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"step-precision", required_argument, NULL, OPT_STEP_PRECISION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Options naming one of a few words. */
static int parse_word(int opt, const char *arg, struct eval_config *cfg) {
    int v = -1;
    switch (opt) {
    case OPT_FORMAT:
        v = sr_replay_kind_parse(arg);
        if (v == SR_REPLAY_SYNTHETIC) v = -1;
        if (!sr_cli_named("eval", "--format", v, arg, &v)) return 0;
        cfg->format = (sr_replay_kind)v;
        cfg->have_format = 1;
        return 1;
    case OPT_PROTOCOL:
        if (!sr_cli_named("eval", "--protocol", sr_eval_protocol_parse(arg), arg, &v)) return 0;
        cfg->eval.protocol = (sr_eval_protocol)v;
        return 1;
    case OPT_SAMPLER:
        if (!sr_cli_named("eval", "--sampler", sr_eval_sampler_parse(arg), arg, &v)) return 0;
        cfg->sampler = (sr_eval_sampler)v;
        return 1;
    case OPT_TIES:
        if (!sr_cli_named("eval", "--ties", sr_eval_ties_parse(arg), arg, &v)) return 0;
        cfg->eval.ties = (sr_eval_ties)v;
        return 1;
    case OPT_MASK_REPEATED:
        cfg->eval.mask_repeated_target = 1;
        return 1;
    case OPT_SPLIT:
        v = strcmp(arg, "test") == 0 ? SR_SPLIT_TEST : strcmp(arg, "valid") == 0 ? SR_SPLIT_VALID : -1;
        if (!sr_cli_named("eval", "--split", v, arg, &v)) return 0;
        cfg->eval.split = (sr_split_part)v;
        return 1;
    case OPT_BASELINE:
        if (strcmp(arg, "pop") == 0) cfg->baseline_pop = 1;
        else if (strcmp(arg, "pop-all") == 0) cfg->baseline_pop = 2;
        else return usage_error("%s does not know '%s'; pop or pop-all", "--baseline", arg);
        return 1;
    case OPT_BAD_LINE:
        v = strcmp(arg, "skip") == 0 ? SR_BAD_LINE_SKIP : strcmp(arg, "fail") == 0 ? SR_BAD_LINE_FAIL : -1;
        if (!sr_cli_named("eval", "--on-bad-line", v, arg, &v)) return 0;
        cfg->on_bad_line = (sr_bad_line_policy)v;
        return 1;
    case OPT_LOG_LEVEL:
        if (!sr_cli_named("eval", "--log-level", sr_log_level_parse(arg), arg, &v)) return 0;
        sr_log_set_level((sr_log_level)v);
        return 1;
    case OPT_STEP_PRECISION:
        return sr_cli_named("eval", "--step-precision", sr_step_precision_parse(arg), arg,
                            &cfg->step_precision);
    default: return 0;
    }
}

/* One option; 1 when fine, 0 after printing why not, -1 for --help. */
static int parse_one(int opt, const char *arg, struct eval_config *cfg) {
    uint64_t value = 0;
    switch (opt) {
    case OPT_MODEL: cfg->model_path = arg; return 1;
    case OPT_INPUT: cfg->input = arg; return 1;
    case OPT_NEGATIVES_FILE: cfg->negatives_file = arg; return 1;
    case OPT_NEGATIVES:
        if (!sr_cli_u64("eval", "--negatives", arg, 1, UINT64_MAX, &value)) return 0;
        if (value > 1000000) return usage_error("%s is at most 1000000, not '%s'", "--negatives", arg);
        cfg->negatives = value;
        return 1;
    case OPT_SEED: return sr_cli_u64("eval", "--seed", arg, 0, UINT64_MAX, &cfg->seed);
    case OPT_BATCH:
        if (!sr_cli_u64("eval", "--batch", arg, 1, UINT64_MAX, &value)) return 0;
        if (value > 65536) return usage_error("%s is at most 65536, not '%s'", "--batch", arg);
        cfg->eval.batch = (size_t)value;
        return 1;
    case 'h': return -1;
    default: return parse_word(opt, arg, cfg);
    }
}

/* Checks the combination of options; 1 when fine. */
static int check_config(struct eval_config *cfg, int protocol_given, int negatives_given,
                        int sampler_given) {
    if (!cfg->model_path == !cfg->baseline_pop)
        return usage_error("%s", cfg->model_path ? "give either --model or --baseline, not both"
                                                 : "--model or --baseline is required");
    if (!cfg->input) return usage_error("--input is required");
    if (!cfg->have_format) return usage_error("--format is required");
    if (cfg->negatives_file) {
        if (protocol_given && cfg->eval.protocol != SR_EVAL_SAMPLED)
            return usage_error("%s is for the sampled protocol, not '%s'", "--negatives-file",
                               sr_eval_protocol_name(cfg->eval.protocol));
        if (negatives_given || sampler_given)
            return usage_error("%s: the file fixes the negatives; drop %s", "--negatives-file",
                               negatives_given ? "--negatives" : "--sampler");
        cfg->eval.protocol = SR_EVAL_SAMPLED;
    }
    if (cfg->eval.protocol == SR_EVAL_FULL && (negatives_given || sampler_given))
        return usage_error("%s is for the sampled protocol, not '%s'",
                           negatives_given ? "--negatives" : "--sampler", "full");
    return 1;
}

/* SR_EXIT_OK to run, -1 after --help, SR_EXIT_USAGE on a usage error. */
static int parse_options(int argc, char **argv, struct eval_config *cfg) {
    int opt, protocol_given = 0, negatives_given = 0, sampler_given = 0;
    while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        if (opt == '?') {  /* getopt has said why */
            print_help(stderr);
            return SR_EXIT_USAGE;
        }
        int ok = parse_one(opt, optarg, cfg);
        if (ok < 0) {
            print_help(stdout);
            return -1;
        }
        if (!ok) return SR_EXIT_USAGE;
        protocol_given |= opt == OPT_PROTOCOL;
        negatives_given |= opt == OPT_NEGATIVES;
        sampler_given |= opt == OPT_SAMPLER;
    }
    if (optind < argc) {
        fprintf(stderr, "streamrec eval: unexpected argument '%s'\n", argv[optind]);
        return SR_EXIT_USAGE;
    }
    return check_config(cfg, protocol_given, negatives_given, sampler_given) ? SR_EXIT_OK
                                                                             : SR_EXIT_USAGE;
}

/* The negatives of the sampled protocol: from the file, or drawn. */
static sr_status make_negatives(const struct eval_config *cfg, const sr_dataset *data,
                                sr_eval_negatives *out, sr_error *err) {
    sr_status s;
    if (cfg->negatives_file) {
        s = sr_eval_negatives_load(cfg->negatives_file, data, out, err);
        if (s == SR_OK)
            sr_log(SR_LOG_INFO, "eval", "negatives from %s: %zu items", cfg->negatives_file,
                   out->offsets[out->user_count]);
        return s;
    }
    s = sr_eval_negatives_sample(data, (size_t)cfg->negatives, cfg->sampler, cfg->seed, out, err);
    if (s != SR_OK) return s;
    sr_log(SR_LOG_INFO, "eval", "negatives: %" PRIu64 " per user, %s, seed %" PRIu64,
           cfg->negatives, sr_eval_sampler_name(cfg->sampler), cfg->seed);
    if (out->short_users)
        sr_log(SR_LOG_WARN, "eval", "%zu users have fewer than %" PRIu64
               " items they never interacted with; they got all of them",
               out->short_users, cfg->negatives);
    return SR_OK;
}

static void print_result(const struct eval_config *cfg, const sr_eval_metrics *m,
                         int64_t model_version) {
    printf("{\"users\":%zu,\"hr@1\":%.6f,\"hr@5\":%.6f,\"hr@10\":%.6f,\"hr@20\":%.6f,"
           "\"ndcg@5\":%.6f,\"ndcg@10\":%.6f,\"ndcg@20\":%.6f,\"mrr\":%.6f,"
           "\"protocol\":\"%s\",\"split\":\"%s\"",
           m->users, m->hr1, m->hr5, m->hr10, m->hr20, m->ndcg5, m->ndcg10, m->ndcg20, m->mrr,
           sr_eval_protocol_name(cfg->eval.protocol),
           cfg->eval.split == SR_SPLIT_VALID ? "valid" : "test");
    if (cfg->model_path) printf(",\"model_version\":%" PRId64, model_version);
    printf("}\n");
    fflush(stdout);
}

/* Runs the evaluation with the scorer the options ask for. */
static sr_status evaluate(const struct eval_config *cfg, const sr_dataset *data,
                          sr_eval_metrics *m, int64_t *model_version, sr_error *err) {
    if (cfg->baseline_pop) {
        *model_version = 0;
        sr_eval_popularity pop;
        sr_status status = sr_eval_popularity_init(&pop, data, cfg->eval.split,
                                                   cfg->baseline_pop == 2, err);
        if (status == SR_OK)
            status = sr_eval_run(data, &cfg->eval, sr_eval_popularity_scorer, &pop, m, err);
        sr_eval_popularity_free(&pop);
        return status;
    }
    sr_model *model = NULL;
    sr_status s = sr_model_load_file(cfg->model_path, &model, NULL, err);
    if (s != SR_OK) return s;
    *model_version = model->version;
    if (cfg->step_precision >= 0) {
        sr_serving_config worker_defaults; /* the step table's bound, as a worker's */
        sr_serving_config_init(&worker_defaults);
        s = sr_model_prepare_step_table(model, worker_defaults.step_table_max_bytes,
                                        (sr_step_precision)cfg->step_precision, err);
        if (s != SR_OK) {
            sr_model_free(model);
            return s;
        }
        sr_log(SR_LOG_INFO, "eval", "stepping as a worker with step.precision=%s",
               sr_step_precision_name(sr_model_step_precision(model)));
    }
    sr_eval_model_scorer *scorer;
    s = sr_eval_model_scorer_new(model, &data->vocab, cfg->eval.batch, &scorer, err);
    if (s == SR_OK) {
        s = sr_eval_run(data, &cfg->eval, sr_eval_model_score, scorer, m, err);
        if (sr_eval_model_scorer_unknown_items(scorer) > 0)
            sr_log(SR_LOG_WARN, "eval", "%u of %u items are unknown to the model (score -inf); "
                   "%" PRIu64 " history events skipped", sr_eval_model_scorer_unknown_items(scorer),
                   data->vocab.count, sr_eval_model_scorer_unknown_events(scorer));
        sr_eval_model_scorer_free(scorer);
    }
    sr_model_free(model);
    return s;
}

int sr_cmd_eval(int argc, char **argv) {
    struct eval_config cfg = {.negatives = 99, .seed = 12345, .on_bad_line = SR_BAD_LINE_FAIL,
                              .step_precision = -1};
    sr_eval_options_init(&cfg.eval);
    sr_log_set_level(SR_LOG_INFO);
    int rc = parse_options(argc, argv, &cfg);
    if (rc != SR_EXIT_OK) return rc < 0 ? SR_EXIT_OK : rc;

    sr_replay_options replay;
    sr_replay_options_init(&replay);
    replay.on_bad_line = cfg.on_bad_line;
    sr_error err;
    sr_dataset data;
    if (sr_dataset_load(cfg.format, cfg.input, &replay, &data, &err) != SR_OK) {
        sr_log(SR_LOG_ERROR, "eval", "%s", err.message);
        return SR_EXIT_FAILURE;
    }
    sr_log(SR_LOG_INFO, "eval", "%s: %zu users, %zu events, %u items", cfg.input,
           data.user_count, data.event_count, data.vocab.count);
    sr_eval_negatives negatives = {0};
    sr_status s = SR_OK;
    if (cfg.eval.protocol == SR_EVAL_SAMPLED) {
        s = make_negatives(&cfg, &data, &negatives, &err);
        cfg.eval.negatives = &negatives;
    }
    sr_eval_metrics m;
    int64_t model_version = 0;
    if (s == SR_OK) s = evaluate(&cfg, &data, &m, &model_version, &err);
    if (s == SR_OK) {
        sr_log(SR_LOG_INFO, "eval", "%s ranking, %s split, %s ties: %zu users, %.1f candidates each",
               sr_eval_protocol_name(cfg.eval.protocol),
               cfg.eval.split == SR_SPLIT_VALID ? "valid" : "test",
               sr_eval_ties_name(cfg.eval.ties), m.users, m.candidates);
        print_result(&cfg, &m, model_version);
    } else {
        sr_log(SR_LOG_ERROR, "eval", "%s", err.message);
    }
    sr_eval_negatives_free(&negatives);
    sr_dataset_free(&data);
    return s == SR_OK ? SR_EXIT_OK : SR_EXIT_FAILURE;
}
