/*
 * bench_model_beauty.c — a quality probe run by hand (not in CI): trains the
 * model on a "lines" dataset (e.g. shared/data/amazon-beauty-s3rec/Beauty.txt)
 * with the leave-one-out split of sr_dataset.h and prints, per epoch, the
 * training loss, the epoch time and validation HR@10 / NDCG@10 under full
 * ranking (the target ranked against every item, the user's history items
 * removed, ties counted against the target); test metrics for the epoch with
 * the best validation NDCG@10 at the end. The last stdout line is JSON.
 *
 *   build/bench/bench_model_beauty FILE [--attention none|items|hidden]
 *       [--epochs N] [--lr X] [--dropout X] [--batch B] [--maxlen M] [--dim D]
 *       [--untied] [--elman] [--wd X] [--window T] [--sampled S] [--seed S]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/model_internal.h"
#include "sr_dataset.h"
#include "sr_train.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    double hr10, ndcg10, hr20;
    size_t users;
} metrics;

/* Full-ranking metrics; history of user u = events [0, n - 2 + test), target the next. */
static sr_status evaluate(const sr_model *m, const sr_dataset *d, int test, metrics *out, sr_error *err) {
    enum { B = 256 };
    size_t V = m->config.item_count, E = m->config.embed_dim;
    sr_model_workspace *ws;
    sr_status s = sr_model_workspace_new(&m->config, B, &ws, err);
    if (s != SR_OK) return s;
    float *u = malloc(B * E * sizeof *u), *scores = malloc((size_t)B * V * sizeof *scores);
    uint8_t *masked = calloc(V, 1);
    const int32_t *rows[B];
    const uint8_t *types[B];
    size_t lengths[B], users[B];
    memset(out, 0, sizeof *out);
    size_t n = 0;
    for (size_t user = 0; user <= d->user_count; user++) {
        if (user < d->user_count && sr_dataset_evaluated(d, user)) {
            size_t len = d->offsets[user + 1] - d->offsets[user];
            rows[n] = d->rows + d->offsets[user];
            types[n] = d->types + d->offsets[user];
            lengths[n] = len - 2 + (size_t)test;
            users[n++] = user;
        }
        if (n == B || (user == d->user_count && n > 0)) {
            s = sr_model_sequence_user_vectors(m, n, rows, types, lengths, u, ws, err);
            if (s != SR_OK) break;
            sr_model_score(m, n, u, scores);
            for (size_t b = 0; b < n; b++) {
                int32_t target = rows[b][lengths[b]];
                for (size_t i = 0; i < lengths[b]; i++) masked[rows[b][i]] = 1;
                masked[target] = 0;
                const float *sc = scores + b * V;
                float ts = sc[target];
                size_t rank = 0;
                for (size_t i = 0; i < V; i++) rank += !masked[i] && (int32_t)i != target && sc[i] >= ts;
                for (size_t i = 0; i < lengths[b]; i++) masked[rows[b][i]] = 0;
                if (rank < 10) {
                    out->hr10 += 1;
                    out->ndcg10 += 1.0 / log2((double)rank + 2.0);
                }
                if (rank < 20) out->hr20 += 1;
                out->users++;
            }
            (void)users;
            n = 0;
        }
    }
    if (out->users) {
        out->hr10 /= (double)out->users;
        out->ndcg10 /= (double)out->users;
        out->hr20 /= (double)out->users;
    }
    free(u), free(scores), free(masked);
    sr_model_workspace_free(ws);
    return s;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [options]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    sr_model_config mc = {.embed_dim = 64, .hidden_dim = 64, .window = 8, .cell = SR_CELL_GRU,
                          .attention = SR_ATTENTION_NONE, .tied_embeddings = 1};
    sr_train_config tc;
    sr_train_config_init(&tc);
    int epochs = 20;
    double time_limit = 840.0;
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--attention"))
            mc.attention = !strcmp(v, "items") ? SR_ATTENTION_ITEMS : !strcmp(v, "hidden") ? SR_ATTENTION_HIDDEN : SR_ATTENTION_NONE;
        else if (!strcmp(k, "--epochs")) epochs = atoi(v);
        else if (!strcmp(k, "--lr")) tc.learning_rate = (float)atof(v);
        else if (!strcmp(k, "--dropout")) tc.dropout_input = tc.dropout_output = (float)atof(v);
        else if (!strcmp(k, "--dropout-in")) tc.dropout_input = (float)atof(v);
        else if (!strcmp(k, "--dropout-out")) tc.dropout_output = (float)atof(v);
        else if (!strcmp(k, "--batch")) tc.batch_size = (uint32_t)atoi(v);
        else if (!strcmp(k, "--maxlen")) tc.max_length = tc.bptt_length = (uint32_t)atoi(v);
        else if (!strcmp(k, "--dim")) mc.embed_dim = mc.hidden_dim = (uint32_t)atoi(v);
        else if (!strcmp(k, "--hidden")) mc.hidden_dim = (uint32_t)atoi(v);
        else if (!strcmp(k, "--untied")) mc.tied_embeddings = !atoi(v);
        else if (!strcmp(k, "--elman")) mc.cell = atoi(v) ? SR_CELL_ELMAN : SR_CELL_GRU;
        else if (!strcmp(k, "--wd")) tc.weight_decay = (float)atof(v);
        else if (!strcmp(k, "--window")) mc.window = (uint32_t)atoi(v);
        else if (!strcmp(k, "--sampled")) {
            tc.loss = SR_LOSS_SAMPLED_SOFTMAX;
            tc.negatives = (uint32_t)atoi(v);
        } else if (!strcmp(k, "--seed")) tc.seed = (uint64_t)atoll(v);
        else if (!strcmp(k, "--time-limit")) time_limit = atof(v);
        else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    sr_error err;
    sr_dataset d;
    double t0 = now();
    if (sr_dataset_load(SR_REPLAY_LINES, path, NULL, &d, &err) != SR_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    mc.item_count = d.vocab.count;
    fprintf(stderr, "loaded %zu users, %zu events, %u items in %.1f s\n", d.user_count, d.event_count,
            d.vocab.count, now() - t0);
    sr_model *m;
    sr_trainer *t;
    if (sr_model_new(&mc, &m, &err) != SR_OK || (sr_model_init_random(m, tc.seed), 0) ||
        sr_trainer_new(&tc, m, &d, &t, &err) != SR_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    size_t state_bytes = sr_model_state_floats(&mc) * 4 + mc.window * 5;
    fprintf(stderr, "attention %d, E=%u H=%u T=%u tied=%d lr=%g dropout=%g/%g B=%u M=%u wd=%g; state %zu bytes/user\n",
            (int)mc.attention, mc.embed_dim, mc.hidden_dim, mc.window, mc.tied_embeddings, tc.learning_rate,
            tc.dropout_input, tc.dropout_output, tc.batch_size, tc.max_length, tc.weight_decay, state_bytes);
    float *best = malloc(m->param_count * sizeof *best);
    metrics bv = {0};
    int best_epoch = 0, epochs_run = 0;
    double train_seconds = 0, start = now();
    for (int e = 1; e <= epochs; e++) {
        sr_epoch_stats st;
        if (sr_train_epoch(t, m, &d, &st, NULL, NULL, &err) != SR_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        train_seconds += st.seconds;
        epochs_run = e;
        metrics v;
        double te = now();
        if (evaluate(m, &d, 0, &v, &err) != SR_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        fprintf(stderr, "epoch %2d loss %.4f |g| %.2f train %.1f s eval %.1f s  valid HR@10 %.4f NDCG@10 %.4f HR@20 %.4f\n",
                e, st.loss, st.grad_norm, st.seconds, now() - te, v.hr10, v.ndcg10, v.hr20);
        if (v.ndcg10 > bv.ndcg10) {
            bv = v;
            best_epoch = e;
            memcpy(best, m->data, m->param_count * sizeof *best);
        }
        if (now() - start > time_limit) break;
    }
    memcpy(m->data, best, m->param_count * sizeof *best);
    metrics tm;
    if (evaluate(m, &d, 1, &tm, &err) != SR_OK) return 1;
    fprintf(stderr, "best epoch %d: valid HR@10 %.4f NDCG@10 %.4f; test HR@10 %.4f NDCG@10 %.4f HR@20 %.4f (users %zu)\n",
            best_epoch, bv.hr10, bv.ndcg10, tm.hr10, tm.ndcg10, tm.hr20, tm.users);
    printf("{\"bench\":\"model_beauty\",\"attention\":%d,\"best_epoch\":%d,\"valid_hr10\":%.4f,\"valid_ndcg10\":%.4f,"
           "\"test_hr10\":%.4f,\"test_ndcg10\":%.4f,\"train_seconds_per_epoch\":%.2f,\"state_bytes_per_user\":%zu}\n",
           (int)mc.attention, best_epoch, bv.hr10, bv.ndcg10, tm.hr10, tm.ndcg10, train_seconds / epochs_run, state_bytes);
    free(best);
    sr_trainer_free(t);
    sr_model_free(m);
    sr_dataset_free(&d);
    return 0;
}
