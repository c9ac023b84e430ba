/*
 * negatives.c — the fixed negative items of the sampled protocol (sr_eval.h):
 * drawn with a seed, or read from a file.
 *
 * Drawing: each user gets its own generator, seeded from (seed, user id), and a
 * "taken" mark on every item of its whole sequence; draws are repeated until
 * per_user unmarked items were found, each found item being marked so that it
 * is not drawn twice. Uniform draws pick a row uniformly; popularity draws pick
 * a row with probability count / total over whole-dataset occurrences (binary
 * search in the cumulative counts). When few items are left unmarked (uniform:
 * fewer than twice what is needed) or a popularity draw keeps hitting taken
 * items (more than 64 draws per negative wanted), the rest are picked
 * uniformly among the unmarked items by a partial Fisher-Yates shuffle, so a
 * draw always ends.
 *
 * The marks are one uint32 per item holding the user index + 1, so they never
 * need clearing between users.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/prng.h"
#include "sr_eval.h"

typedef struct sampler_state {
    const sr_dataset *data;
    sr_eval_sampler kind;
    uint32_t *mark;          /* V: user index + 1 of the last user that took the item */
    uint64_t *cumulative;    /* V: popularity, cumulative whole-dataset counts */
    int32_t *spare;          /* V: the unmarked rows, for the fallback */
} sampler_state;

void sr_eval_negatives_free(sr_eval_negatives *negatives) {
    if (!negatives) return;
    free(negatives->offsets);
    free(negatives->rows);
    memset(negatives, 0, sizeof *negatives);
}

/* Marks every item of user u's sequence with tag; returns how many were new. */
static uint32_t mark_sequence(const sr_dataset *data, size_t u, uint32_t *mark, uint32_t tag) {
    uint32_t distinct = 0;
    for (size_t e = data->offsets[u]; e < data->offsets[u + 1]; e++) {
        int32_t row = data->rows[e];
        distinct += mark[row] != tag;
        mark[row] = tag;
    }
    return distinct;
}

/* Draws one row by popularity: the first row whose cumulative count exceeds x. */
static int32_t draw_popular(const sampler_state *st, replay_prng *prng) {
    uint32_t count = st->data->vocab.count;
    uint64_t x = replay_prng_below(prng, st->cumulative[count - 1]);
    uint32_t lo = 0, hi = count - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (st->cumulative[mid] > x) hi = mid;
        else lo = mid + 1;
    }
    return (int32_t)lo;
}

/* Picks `want` rows uniformly among the unmarked ones, writing them to out. */
static void draw_from_spare(sampler_state *st, replay_prng *prng, uint32_t tag, int32_t *out,
                            size_t want) {
    uint32_t n = 0;
    for (uint32_t r = 0; r < st->data->vocab.count; r++)
        if (st->mark[r] != tag) st->spare[n++] = (int32_t)r;
    for (size_t i = 0; i < want; i++) {
        uint32_t j = (uint32_t)(i + replay_prng_below(prng, n - i));
        int32_t row = st->spare[j];
        st->spare[j] = st->spare[i];
        st->spare[i] = row;
        out[i] = row;
        st->mark[row] = tag;
    }
}

/* Draws user u's negatives into out (want of them; want <= unmarked items). */
static void draw_user(sampler_state *st, size_t u, uint64_t seed, uint32_t available,
                      int32_t *out, size_t want) {
    uint32_t tag = (uint32_t)u + 1;
    uint64_t mix = seed;
    replay_prng prng;
    replay_prng_seed(&prng, replay_splitmix64(&mix) ^ (uint64_t)st->data->user_ids[u]);
    size_t got = 0;
    int uniform = st->kind == SR_EVAL_SAMPLER_UNIFORM;
    if (!uniform || available >= 2 * want) {
        uint64_t attempts = 0, max_attempts = 64 * (uint64_t)want + 1024;
        while (got < want && (uniform || attempts++ < max_attempts)) {
            int32_t row = uniform ? (int32_t)replay_prng_below(&prng, st->data->vocab.count)
                                  : draw_popular(st, &prng);
            if (st->mark[row] == tag) continue;
            st->mark[row] = tag;
            out[got++] = row;
        }
    }
    if (got < want) draw_from_spare(st, &prng, tag, out + got, want - got);
}

static sr_status sampler_setup(sampler_state *st, const sr_dataset *data, sr_eval_sampler kind,
                               sr_error *err) {
    uint32_t count = data->vocab.count;
    memset(st, 0, sizeof *st);
    st->data = data;
    st->kind = kind;
    st->mark = calloc(count ? count : 1, sizeof *st->mark);
    st->spare = malloc((count ? count : 1) * sizeof *st->spare);
    if (kind == SR_EVAL_SAMPLER_POPULARITY) {
        st->cumulative = calloc(count ? count : 1, sizeof *st->cumulative);
        if (st->cumulative) {
            for (size_t e = 0; e < data->event_count; e++) st->cumulative[data->rows[e]]++;
            for (uint32_t r = 1; r < count; r++) st->cumulative[r] += st->cumulative[r - 1];
        }
    }
    if (!st->mark || !st->spare || (kind == SR_EVAL_SAMPLER_POPULARITY && !st->cumulative))
        return sr_fail(err, SR_ERR_NOMEM, "negatives: no memory for %u items", count);
    return SR_OK;
}

static void sampler_free(sampler_state *st) {
    free(st->mark);
    free(st->cumulative);
    free(st->spare);
}

sr_status sr_eval_negatives_sample(const sr_dataset *data, size_t per_user, sr_eval_sampler sampler,
                                   uint64_t seed, sr_eval_negatives *out, sr_error *err) {
    memset(out, 0, sizeof *out);
    if (per_user == 0) return sr_fail(err, SR_ERR_INVALID_ARG, "negatives: 0 per user");
    if (sampler != SR_EVAL_SAMPLER_UNIFORM && sampler != SR_EVAL_SAMPLER_POPULARITY)
        return sr_fail(err, SR_ERR_INVALID_ARG, "negatives: unknown sampler %d", (int)sampler);
    if (data->user_count >= UINT32_MAX)
        return sr_fail(err, SR_ERR_LIMIT, "negatives: %zu users", data->user_count);
    size_t evaluated = 0;
    for (size_t u = 0; u < data->user_count; u++) evaluated += sr_dataset_evaluated(data, u) != 0;
    if (evaluated && per_user > SIZE_MAX / sizeof(int32_t) / evaluated)
        return sr_fail(err, SR_ERR_LIMIT, "negatives: %zu per user is too many", per_user);

    sampler_state st;
    sr_status s = sampler_setup(&st, data, sampler, err);
    out->offsets = malloc((data->user_count + 1) * sizeof *out->offsets);
    size_t total = evaluated * per_user;
    out->rows = malloc((total > 0 ? total : 1) * sizeof *out->rows);
    if (s == SR_OK && (!out->offsets || !out->rows))
        s = sr_fail(err, SR_ERR_NOMEM, "negatives: no memory for %zu x %zu", evaluated, per_user);
    if (s != SR_OK) {
        sampler_free(&st);
        sr_eval_negatives_free(out);
        return s;
    }
    out->user_count = data->user_count;
    size_t at = 0;
    for (size_t u = 0; u < data->user_count; u++) {
        out->offsets[u] = at;
        if (!sr_dataset_evaluated(data, u)) continue;
        uint32_t available = data->vocab.count - mark_sequence(data, u, st.mark, (uint32_t)u + 1);
        size_t want = per_user < available ? per_user : available;
        out->short_users += want < per_user;
        draw_user(&st, u, seed, available, out->rows + at, want);
        at += want;
    }
    out->offsets[data->user_count] = at;
    sampler_free(&st);
    return SR_OK;
}

/* ---- Reading a negatives file ---- */

/* One (user, row) pair as read, before grouping by user. */
typedef struct read_pair {
    size_t user;
    int32_t row;
} read_pair;

typedef struct file_reader {
    const char *path;
    const sr_dataset *data;
    uint64_t line_number;
    uint32_t *mark;          /* V: line number (low 32 bits) that used the item */
    uint8_t *seen_user;      /* user_count */
    read_pair *pairs;
    size_t count, cap;
} file_reader;

static int compare_user_ids(const void *key, const void *element) {
    int64_t a = *(const int64_t *)key, b = *(const int64_t *)element;
    return (a > b) - (a < b);
}

/* The dataset index of a user id (users are in ascending id order), or -1. */
static ptrdiff_t find_user(const sr_dataset *data, int64_t user_id) {
    const int64_t *found = bsearch(&user_id, data->user_ids, data->user_count,
                                   sizeof *data->user_ids, compare_user_ids);
    return found ? found - data->user_ids : -1;
}

/* Fails with "<path>:<line>: <what> <id> <problem>". */
static sr_status line_error(const file_reader *r, sr_error *err, const char *what, long long id,
                            const char *problem) {
    return sr_fail(err, SR_ERR_PARSE, "%s:%llu: %s %lld %s", r->path,
                   (unsigned long long)r->line_number, what, id, problem);
}

/* Reads the next id of a line; 0 at its end, -1 after filling err. */
static int next_id(const file_reader *r, char **cursor, int64_t *out, sr_error *err) {
    char *p = *cursor;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (!*p) return 0;
    char *end;
    errno = 0;
    long long value = strtoll(p, &end, 10);
    if (end == p || errno == ERANGE || (*end && *end != ' ' && *end != '\t' && *end != '\r' &&
                                        *end != '\n')) {
        int len = 0;
        while (p[len] && p[len] != ' ' && p[len] != '\t' && p[len] != '\r' && p[len] != '\n' &&
               len < 40)
            len++;
        sr_fail(err, SR_ERR_PARSE, "%s:%llu: '%.*s' is not an integer id", r->path,
                (unsigned long long)r->line_number, len, p);
        return -1;
    }
    *out = value;
    *cursor = end;
    return 1;
}

static sr_status push_pair(file_reader *r, size_t user, int32_t row, sr_error *err) {
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        read_pair *pairs = realloc(r->pairs, cap * sizeof *pairs);
        if (!pairs) return sr_fail(err, SR_ERR_NOMEM, "negatives: no memory for %zu items", cap);
        r->pairs = pairs;
        r->cap = cap;
    }
    r->pairs[r->count++] = (read_pair){user, row};
    return SR_OK;
}

/* Parses one non-blank line: "user_id neg ...". */
static sr_status read_line(file_reader *r, char *line, sr_error *err) {
    int64_t id;
    char *cursor = line;
    if (next_id(r, &cursor, &id, err) < 0) return SR_ERR_PARSE;
    ptrdiff_t user = find_user(r->data, id);
    if (user < 0) return line_error(r, err, "user", id, "is not in the dataset");
    if (r->seen_user[user]) return line_error(r, err, "user", id, "has a second line");
    r->seen_user[user] = 1;
    uint32_t tag = (uint32_t)r->line_number;
    tag = tag ? tag : 1;
    for (size_t e = r->data->offsets[user]; e < r->data->offsets[user + 1]; e++)
        r->mark[r->data->rows[e]] = tag;
    size_t negatives = 0;
    int more;
    while ((more = next_id(r, &cursor, &id, err)) > 0) {
        int32_t row = sr_vocab_row(&r->data->vocab, id);
        if (row == SR_VOCAB_UNKNOWN)
            return line_error(r, err, "item", id, "is not in the dataset");
        if (r->mark[row] == tag) {
            int interacted = 0;
            for (size_t e = r->data->offsets[user]; e < r->data->offsets[user + 1]; e++)
                interacted |= r->data->rows[e] == row;
            return line_error(r, err, "item", id,
                              interacted ? "is in the user's sequence" : "is given twice");
        }
        r->mark[row] = tag;
        sr_status s = push_pair(r, (size_t)user, row, err);
        if (s != SR_OK) return s;
        negatives++;
    }
    if (more < 0) return SR_ERR_PARSE;
    if (negatives == 0) return line_error(r, err, "user", r->data->user_ids[user], "has no negatives");
    return SR_OK;
}

static int is_blank(const char *line) {
    for (; *line; line++)
        if (*line != ' ' && *line != '\t' && *line != '\r' && *line != '\n') return 0;
    return 1;
}

static sr_status read_file(file_reader *r, FILE *f, sr_error *err) {
    char *line = NULL;
    size_t size = 0;
    sr_status s = SR_OK;
    errno = 0;
    while (s == SR_OK && getline(&line, &size, f) >= 0) {
        r->line_number++;
        if (!is_blank(line)) s = read_line(r, line, err);
    }
    if (s == SR_OK && ferror(f))
        s = sr_fail(err, SR_ERR_IO, "%s: read failed: %s", r->path, strerror(errno));
    free(line);
    return s;
}

/* Groups the pairs by user into out (counting sort, keeping file order). */
static sr_status group_pairs(const file_reader *r, sr_eval_negatives *out, sr_error *err) {
    size_t users = r->data->user_count;
    out->offsets = calloc(users + 1, sizeof *out->offsets);
    out->rows = malloc((r->count ? r->count : 1) * sizeof *out->rows);
    if (!out->offsets || !out->rows)
        return sr_fail(err, SR_ERR_NOMEM, "negatives: no memory for %zu items", r->count);
    out->user_count = users;
    for (size_t i = 0; i < r->count; i++) out->offsets[r->pairs[i].user + 1]++;
    for (size_t u = 0; u < users; u++) out->offsets[u + 1] += out->offsets[u];
    size_t *fill = malloc((users ? users : 1) * sizeof *fill);
    if (!fill) return sr_fail(err, SR_ERR_NOMEM, "negatives: no memory for %zu users", users);
    memcpy(fill, out->offsets, users * sizeof *fill);
    for (size_t i = 0; i < r->count; i++) out->rows[fill[r->pairs[i].user]++] = r->pairs[i].row;
    free(fill);
    return SR_OK;
}

sr_status sr_eval_negatives_load(const char *path, const sr_dataset *data,
                                 sr_eval_negatives *out, sr_error *err) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) return sr_fail(err, SR_ERR_IO, "%s: %s", path, strerror(errno));
    file_reader r = {.path = path, .data = data};
    r.mark = calloc(data->vocab.count ? data->vocab.count : 1, sizeof *r.mark);
    r.seen_user = calloc(data->user_count ? data->user_count : 1, 1);
    sr_status s = r.mark && r.seen_user
                      ? read_file(&r, f, err)
                      : sr_fail(err, SR_ERR_NOMEM, "negatives: no memory for %s", path);
    fclose(f);
    for (size_t u = 0; s == SR_OK && u < data->user_count; u++)
        if (sr_dataset_evaluated(data, u) && !r.seen_user[u])
            s = sr_fail(err, SR_ERR_NOT_FOUND, "%s: no negatives for user %lld", path,
                        (long long)data->user_ids[u]);
    if (s == SR_OK) s = group_pairs(&r, out, err);
    if (s != SR_OK) sr_eval_negatives_free(out);
    free(r.mark);
    free(r.seen_user);
    free(r.pairs);
    return s;
}
