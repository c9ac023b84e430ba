/*
 * demo.c — `streamrec demo`: the whole pipeline on the embedded broker.
 *
 * The broker runs in this process; every other part is this same executable
 * started as a child process with the subcommand it would have in production
 * (replay, trainer, worker), so the demo shows the real processes talking
 * through Kafka, not a shortcut. Their logs go to files in a work folder; the
 * demo prints what a user wants to see: the phases, live throughput, a few
 * users' recent items and latest lists, the online hit rate, a summary.
 *
 * The stream is the synthetic one (or a dataset file): its first --history
 * events are replayed at full speed and trained on; the live part continues
 * the same stream (replay --skip) at --rate events per second while the
 * workers serve it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands/demo_monitor.h"
#include "sr_cli.h"
#include "sr_clock.h"
#include "sr_commands.h"
#include "sr_embedded_broker.h"
#include "sr_log.h"

extern char **environ;

#define MAX_WORKERS 8
#define TOPN 20

typedef struct demo_options {
    uint32_t users, items, workers, epochs, live_seconds;
    uint64_t history, rate, seed;
    const char *input, *format;
    bool keep;
} demo_options;

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: streamrec demo [--users N] [--items N] [--history N] [--rate N]\n"
            "                      [--live-seconds S] [--workers N] [--epochs N] [--seed N]\n"
            "                      [--input FILE --format lines|pairs|diginetica] [--keep]\n"
            "\n"
            "The whole pipeline on the embedded broker, in about a minute: a stream of\n"
            "user events (synthetic, or a dataset file) goes into user-events; the trainer\n"
            "trains on its first --history events and publishes the model; --workers\n"
            "workers consume the live rest of the stream at --rate events/s and publish\n"
            "recommendations. Prints live throughput, a few users' recent items with their\n"
            "latest top-N, the online hit rate (events whose item was in that user's\n"
            "latest list) next to a popularity list's, and a summary.\n"
            "\n"
            "options:\n"
            "  --users N         synthetic users (default 20000)\n"
            "  --items N         synthetic items (default 2000)\n"
            "  --history N       events replayed and trained on first (default 200000)\n"
            "  --rate N          live events per second (default 5000)\n"
            "  --live-seconds S  length of the live part (default 30)\n"
            "  --workers N       worker processes, one consumer group (default 2, at most %d)\n"
            "  --epochs N        training epochs (default 3)\n"
            "  --seed N          the stream's seed (default 1)\n"
            "  --input FILE      replay this dataset instead of the synthetic stream\n"
            "  --format F        its format (lines, pairs, diginetica)\n"
            "  --keep            keep the work folder with every process's log\n"
            "  -h, --help        this text\n",
            MAX_WORKERS);
}

/* ---- child processes ---- */

typedef struct child {
    pid_t pid;
    char log[512];
    char out[512];
} child;

static char self_path[4096];

/* Starts this executable with args (NULL-terminated, args[0] the subcommand);
 * its stdout and stderr go to files in dir named after tag. */
static sr_status spawn(const char *dir, const char *tag, const char *const *args, child *c,
                       sr_error *err) {
    snprintf(c->out, sizeof c->out, "%s/%s.out", dir, tag);
    snprintf(c->log, sizeof c->log, "%s/%s.log", dir, tag);
    /* posix_spawn wants char *const argv[]; it does not write to them. */
    char *argv[64] = {self_path};
    for (int i = 0; args[i] && i < 62; i++) argv[i + 1] = (char *)(uintptr_t)args[i];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, c->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, c->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = posix_spawn(&c->pid, self_path, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return sr_fail(err, SR_ERR_IO, "starting %s: %s", tag, strerror(rc));
    return SR_OK;
}

/* Waits for a child; its exit status, or -1 when it died of a signal. */
static int wait_child(child *c) {
    int status;
    while (waitpid(c->pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    c->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The child's exit status when it has exited (reaping it), else -2. */
static int poll_child(child *c) {
    int status;
    if (c->pid <= 0) return -1;
    pid_t r = waitpid(c->pid, &status, WNOHANG);
    if (r != c->pid) return -2;
    c->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The last lines of a child's log, on stderr (when something went wrong). */
static void print_tail(const char *path, int lines) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char ring[32][1024];
    int count = 0;
    if (lines > 32) lines = 32;
    while (fgets(ring[count % lines], sizeof ring[0], f)) count++;
    fclose(f);
    for (int i = count > lines ? count - lines : 0; i < count; i++) fputs(ring[i % lines], stderr);
}

/* Removes the work folder (flat: only the children's files). */
static void remove_work_folder(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* The first line of path that contains needle, into line (empty if none). */
static bool find_line(const char *path, const char *needle, char *line, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) return false;
    bool found = false;
    while (!found && fgets(line, (int)cap, f)) found = strstr(line, needle) != NULL;
    fclose(f);
    if (!found && cap) line[0] = '\0';
    return found;
}

/* The number after "key": in a JSON line, or def. */
static double json_number(const char *line, const char *key, double def) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(line, pattern);
    return at ? strtod(at + strlen(pattern), NULL) : def;
}

/* ---- phases ---- */

static void stream_args(const demo_options *o, const char **args, int *n, char *bufs[]) {
    if (o->input) {
        args[(*n)++] = "--format";
        args[(*n)++] = o->format;
        args[(*n)++] = "--input";
        args[(*n)++] = o->input;
    } else {
        args[(*n)++] = "--format";
        args[(*n)++] = "synthetic";
        args[(*n)++] = "--users";
        args[(*n)++] = bufs[0];
        args[(*n)++] = "--items";
        args[(*n)++] = bufs[1];
        args[(*n)++] = "--events";
        args[(*n)++] = bufs[2];
    }
    args[(*n)++] = "--seed";
    args[(*n)++] = bufs[3];
    args[(*n)++] = "--start-time";
    args[(*n)++] = bufs[4];
    args[(*n)++] = "--time-step";
    args[(*n)++] = "10";
    args[(*n)++] = "--no-progress";
    args[(*n)++] = "--summary-json";
}

static int run_demo(const demo_options *o, const char *dir) {
    sr_error err;
    double t0 = sr_monotonic_seconds();
    sr_embedded_broker *broker;
    if (sr_embedded_broker_start(4, &broker, &err) != SR_OK) {
        fprintf(stderr, "demo: %s\n", err.message);
        return SR_EXIT_FAILURE;
    }
    const char *bootstrap = sr_embedded_broker_bootstrap(broker);
    setenv("STREAMREC_BOOTSTRAP", bootstrap, 1);
    printf("== embedded broker on %s (user-events: 4 partitions)\n", bootstrap);

    /* One stream: history then live, the same events a single replay would make. */
    uint64_t live_events = o->rate * o->live_seconds;
    char users[24], items[24], total[24], seed[24], start[24], limit[24], skip[24], rate[24];
    snprintf(users, sizeof users, "%u", o->users);
    snprintf(items, sizeof items, "%u", o->items);
    snprintf(total, sizeof total, "%" PRIu64, o->history + live_events);
    snprintf(seed, sizeof seed, "%" PRIu64, o->seed);
    snprintf(start, sizeof start, "%" PRId64, sr_wall_clock_ms() - (int64_t)o->history * 10);
    snprintf(limit, sizeof limit, "%" PRIu64, o->history);
    snprintf(skip, sizeof skip, "%" PRIu64, o->history);
    snprintf(rate, sizeof rate, "%" PRIu64, o->rate);
    char *bufs[] = {users, items, total, seed, start};

    int status = SR_EXIT_FAILURE, n = 0;
    child replay = {0}, trainer = {0}, live = {0}, workers[MAX_WORKERS] = {{0}};
    demo_monitor *monitor = NULL;
    char line[4096];

    const char *history_args[40] = {"replay"};
    n = 1;
    stream_args(o, history_args, &n, bufs);
    history_args[n++] = "--limit";
    history_args[n++] = limit;
    printf("== history: %" PRIu64 " events into user-events (%s)\n", o->history,
           o->input ? o->input : "synthetic stream");
    fflush(stdout);
    if (spawn(dir, "replay-history", history_args, &replay, &err) != SR_OK || wait_child(&replay) != 0) {
        fprintf(stderr, "demo: the history replay failed\n");
        print_tail(replay.log, 20);
        goto done;
    }
    find_line(replay.out, "events_per_second", line, sizeof line);
    printf("   %.0f events in %.1f s\n", json_number(line, "delivered", 0), json_number(line, "seconds", 0));

    char epochs[16], model_path[600];
    snprintf(epochs, sizeof epochs, "%u", o->epochs);
    snprintf(model_path, sizeof model_path, "%s/model.srm", dir);
    const char *trainer_args[] = {"trainer", "--topic", "user-events", "--out", model_path, "--publish",
                            "--epochs", epochs, "--no-progress", "--log-level", "warn", NULL};
    printf("== trainer: %u epochs on the topic, then publishes to model-updates\n", o->epochs);
    fflush(stdout);
    double tt = sr_monotonic_seconds();
    if (spawn(dir, "trainer", trainer_args, &trainer, &err) != SR_OK || wait_child(&trainer) != 0) {
        fprintf(stderr, "demo: the trainer failed\n");
        print_tail(trainer.log, 20);
        goto done;
    }
    find_line(trainer.out, "model_version", line, sizeof line);
    printf("   model %.0f: validation HR@10 %.3f, NDCG@10 %.3f (%.0f users, %.0f items), %.1f s\n",
           json_number(line, "model_version", 0), json_number(line, "valid_hr@10", 0),
           json_number(line, "valid_ndcg@10", 0), json_number(line, "users", 0),
           json_number(line, "items", 0), sr_monotonic_seconds() - tt);

    if (demo_monitor_new(bootstrap, o->users, TOPN, &monitor, &err) != SR_OK) {
        fprintf(stderr, "demo: %s\n", err.message);
        goto done;
    }
    printf("== workers: %u in group streamrec-worker\n", o->workers);
    /* One at a time: each joins the group (a rebalance) once the one before
     * holds its partitions, so that no join races another. */
    for (uint32_t i = 0; i < o->workers; i++) {
        char tag[32], id[48];
        snprintf(tag, sizeof tag, "worker-%u", i + 1);
        snprintf(id, sizeof id, "streamrec-demo-worker-%u", i + 1);
        /* The embedded broker's group coordinator lets a join wait for a
         * session timeout (librdkafka 2.0.2's mock cluster): keep it short. */
        const char *worker_args[] = {"worker", "--http-port", "0", "--client-id", id,
                                     "-X", "session.timeout.ms=6000",
                                     "-X", "heartbeat.interval.ms=1000", NULL};
        if (spawn(dir, tag, worker_args, &workers[i], &err) != SR_OK) {
            fprintf(stderr, "demo: %s\n", err.message);
            goto done;
        }
        double deadline = sr_monotonic_seconds() + 60;
        while (!find_line(workers[i].log, "assigned", line, sizeof line)) {
            if (poll_child(&workers[i]) != -2 || sr_monotonic_seconds() > deadline || stop_requested) {
                fprintf(stderr, "demo: worker %u did not join the group\n", i + 1);
                print_tail(workers[i].log, 20);
                goto done;
            }
            sr_sleep_ms(100);
        }
        find_line(workers[i].log, "on port", line, sizeof line);
        const char *port = strstr(line, "on port ");
        printf("   worker %u: pid %d, metrics at http://127.0.0.1:%d/metrics\n", i + 1,
               (int)workers[i].pid, port ? atoi(port + 8) : 0);
    }

    const char *live_args[40] = {"replay"};
    n = 1;
    stream_args(o, live_args, &n, bufs);
    live_args[n++] = "--skip";
    live_args[n++] = skip;
    live_args[n++] = "--rate";
    live_args[n++] = rate;
    printf("== live: %" PRIu64 " events at %" PRIu64 "/s\n", live_events, o->rate);
    fflush(stdout);
    if (spawn(dir, "replay-live", live_args, &live, &err) != SR_OK) goto done;
    double live_start = sr_monotonic_seconds(), last_print = live_start, drain_until = 0;
    demo_figures last = {0};
    for (;;) {
        if (demo_monitor_poll(monitor, 100, &err) != SR_OK) {
            fprintf(stderr, "demo: %s\n", err.message);
            goto done;
        }
        double now = sr_monotonic_seconds();
        if (live.pid && poll_child(&live) != -2) drain_until = now + 3; /* the last lists */
        if (now - last_print >= 5 || (drain_until && now >= drain_until)) {
            demo_figures f = demo_monitor_figures(monitor);
            double dt = now - last_print;
            printf("   %4.0f s  events %8" PRIu64 " (%6.0f/s)  lists %8" PRIu64 " (%6.0f/s)  "
                   "online hit rate %.3f (popularity %.3f)\n",
                   now - live_start, f.events, (double)(f.events - last.events) / dt,
                   f.recommendations, (double)(f.recommendations - last.recommendations) / dt,
                   f.checked ? (double)f.hits / (double)f.checked : 0.0,
                   f.events ? (double)f.popular_hits / (double)f.events : 0.0);
            fflush(stdout);
            last = f;
            last_print = now;
        }
        if ((drain_until && now >= drain_until) || stop_requested) break;
    }
    printf("== a few users: their last items and their latest list\n");
    demo_monitor_print_users(monitor, 5, 8);

    printf("== stopping the workers (SIGTERM)\n");
    int failed = 0;
    for (uint32_t i = 0; i < o->workers; i++) kill(workers[i].pid, SIGTERM);
    for (uint32_t i = 0; i < o->workers; i++) {
        int code = wait_child(&workers[i]);
        find_line(workers[i].log, "stopped after", line, sizeof line);
        const char *msg = strstr(line, "stopped after");
        printf("   worker %u: exit %d; %.*s\n", i + 1, code, msg ? (int)strcspn(msg, "\"") : 0,
               msg ? msg : "");
        if (code != 0) failed++;
    }
    demo_figures f = demo_monitor_figures(monitor);
    printf("== summary: %" PRIu64 " live events, %" PRIu64 " lists for %" PRIu64 " users; online "
           "hit rate %.3f (popularity list: %.3f); %.0f s in all\n",
           f.events, f.recommendations, f.users_with_lists,
           f.checked ? (double)f.hits / (double)f.checked : 0.0,
           f.events ? (double)f.popular_hits / (double)f.events : 0.0, sr_monotonic_seconds() - t0);
    status = failed || f.recommendations == 0 ? SR_EXIT_FAILURE : SR_EXIT_OK;

done:
    demo_monitor_free(monitor);
    child *all[] = {&replay, &trainer, &live};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (all[i]->pid > 0) kill(all[i]->pid, SIGTERM), wait_child(all[i]);
    for (uint32_t i = 0; i < o->workers; i++)
        if (workers[i].pid > 0) kill(workers[i].pid, SIGTERM), wait_child(&workers[i]);
    sr_embedded_broker_stop(broker);
    return status;
}

static int u32_in(const char *flag, const char *text, uint32_t min, uint32_t max, uint32_t *out) {
    uint64_t value;
    if (!sr_cli_u64("demo", flag, text, min, max, &value)) return 0;
    *out = (uint32_t)value;
    return 1;
}

int sr_cmd_demo(int argc, char **argv) {
    demo_options o = {.users = 20000, .items = 2000, .workers = 2, .epochs = 3, .live_seconds = 30,
                      .history = 200000, .rate = 5000, .seed = 1};
    enum { OPT_USERS = 256, OPT_ITEMS, OPT_HISTORY, OPT_RATE, OPT_LIVE, OPT_WORKERS, OPT_EPOCHS,
           OPT_SEED, OPT_INPUT, OPT_FORMAT, OPT_KEEP };
    static const struct option long_options[] = {
        {"users", required_argument, NULL, OPT_USERS}, {"items", required_argument, NULL, OPT_ITEMS},
        {"history", required_argument, NULL, OPT_HISTORY}, {"rate", required_argument, NULL, OPT_RATE},
        {"live-seconds", required_argument, NULL, OPT_LIVE},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"epochs", required_argument, NULL, OPT_EPOCHS}, {"seed", required_argument, NULL, OPT_SEED},
        {"input", required_argument, NULL, OPT_INPUT}, {"format", required_argument, NULL, OPT_FORMAT},
        {"keep", no_argument, NULL, OPT_KEEP}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    optind = 1;
    int opt, ok = 1;
    while (ok && (opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_USERS: ok = u32_in("--users", optarg, 1, 100000000, &o.users); break;
        case OPT_ITEMS: ok = u32_in("--items", optarg, 2, 10000000, &o.items); break;
        case OPT_HISTORY: ok = sr_cli_u64("demo", "--history", optarg, 1000, UINT64_C(1) << 40, &o.history); break;
        case OPT_RATE: ok = sr_cli_u64("demo", "--rate", optarg, 1, 10000000, &o.rate); break;
        case OPT_LIVE: ok = u32_in("--live-seconds", optarg, 1, 86400, &o.live_seconds); break;
        case OPT_WORKERS: ok = u32_in("--workers", optarg, 1, MAX_WORKERS, &o.workers); break;
        case OPT_EPOCHS: ok = u32_in("--epochs", optarg, 1, 1000, &o.epochs); break;
        case OPT_SEED: ok = sr_cli_u64("demo", "--seed", optarg, 0, UINT64_MAX, &o.seed); break;
        case OPT_INPUT: o.input = optarg; break;
        case OPT_FORMAT: o.format = optarg; break;
        case OPT_KEEP: o.keep = true; break;
        case 'h': usage(stdout); return SR_EXIT_OK;
        default: ok = 0;
        }
    }
    if (ok && optind < argc) {
        fprintf(stderr, "streamrec demo: unexpected argument '%s'\n", argv[optind]);
        ok = 0;
    }
    if (ok && (o.input != NULL) != (o.format != NULL)) {
        fprintf(stderr, "streamrec demo: --input and --format go together\n");
        ok = 0;
    }
    if (!ok) {
        usage(stderr);
        return SR_EXIT_USAGE;
    }
    ssize_t len = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (len <= 0) {
        fprintf(stderr, "streamrec demo: cannot find its own executable\n");
        return SR_EXIT_FAILURE;
    }
    self_path[len] = '\0';
    const char *tmp = getenv("TMPDIR");
    char dir_buf[512];
    snprintf(dir_buf, sizeof dir_buf, "%s/streamrec-demo.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir_buf)) {
        fprintf(stderr, "streamrec demo: cannot make a work folder: %s\n", strerror(errno));
        return SR_EXIT_FAILURE;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sr_log_set_level(SR_LOG_WARN);
    int status = run_demo(&o, dir_buf);
    if (o.keep || status != SR_EXIT_OK) {
        printf("== logs of every process: %s\n", dir_buf);
    } else {
        remove_work_folder(dir_buf);
    }
    return status;
}
