/*
 * registry.c — metric families and their Prometheus text rendering; see
 * sr_metrics.h.
 *
 * Design. The worker thread updates counters, gauges and histograms millions
 * of times a second while the HTTP thread renders them every few seconds, so
 * an update is one relaxed atomic read-modify-write on a cache line of its
 * own (counters and gauges), and nothing ever waits for the renderer:
 *
 *   counter    one _Atomic uint64_t, fetch_add.
 *   gauge      the bits of a double in an _Atomic uint64_t: set is a store,
 *              add a compare-and-swap loop.
 *   histogram  one _Atomic uint64_t per bucket (not cumulative: an
 *              observation touches one bucket), and the sum as the bits of a
 *              double updated by a compare-and-swap loop. Uncontended (one
 *              worker thread) the loop runs once; a fixed-point sum would
 *              allow fetch_add but would either lose small latencies or
 *              overflow on _bytes histograms. The renderer derives _count and
 *              the cumulative buckets from one read of the buckets, so
 *              _count always equals the +Inf bucket even mid-update.
 *   gauge_vec  a sorted array of series under a mutex: it changes about once
 *              a second (librdkafka's statistics), and must change as a whole
 *              (sr_gauge_vec_replace) so that a partition that went away
 *              disappears without a scrape seeing a half-built set.
 *
 * A series of a gauge_vec is keyed by its label values, each followed by a
 * NUL: that encoding is unique (values hold no NUL) and memcmp order on it is
 * the lexicographic order of the value tuples, which is the rendering order.
 *
 * Locks: the registry's mutex (registration, rendering) is taken before a
 * gauge_vec's mutex (its updates, rendering); never the other way round.
 */
#include "sr_metrics.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CACHE_LINE 64

typedef enum family_type {
    FAMILY_COUNTER,
    FAMILY_GAUGE,
    FAMILY_HISTOGRAM,
    FAMILY_GAUGE_VEC,
} family_type;

struct sr_counter {
    alignas(CACHE_LINE) _Atomic uint64_t value;
};

struct sr_gauge {
    alignas(CACHE_LINE) _Atomic uint64_t bits; /* a double */
};

struct sr_histogram {
    size_t n;                   /* finite bounds */
    double *bounds;             /* n, strictly ascending */
    _Atomic uint64_t *buckets;  /* n + 1; the last is (bounds[n-1], +Inf) */
    _Atomic uint64_t sum_bits;  /* a double */
};

typedef struct series {
    char *key;      /* each label value followed by a NUL */
    size_t key_len; /* including the NULs */
    double value;
} series;

struct sr_gauge_vec {
    size_t n_labels;
    char *label_names[SR_METRICS_MAX_LABELS];
    pthread_mutex_t *lock; /* allocated, so that readers of a const family can take it */
    series *series;        /* sorted by key */
    size_t count, cap;
};

typedef struct family {
    family_type type;
    char *name;
    char *help;
    void *metric; /* sr_counter, sr_gauge, sr_histogram or sr_gauge_vec */
} family;

struct sr_metrics {
    pthread_mutex_t *lock;
    family *families;
    size_t count, cap;
    double start_time; /* process_start_time_seconds */
};

static const char *const builtin_names[] = {"process_resident_memory_bytes",
                                            "process_start_time_seconds"};

/* ---- Doubles in atomics --------------------------------------------------- */

static uint64_t bits_of(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static double double_of(uint64_t b) {
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static void atomic_add_double(_Atomic uint64_t *bits, double delta) {
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old, bits_of(double_of(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

/* ---- Updates -------------------------------------------------------------- */

void sr_counter_add(sr_counter *c, uint64_t n) {
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t sr_counter_value(const sr_counter *c) {
    return atomic_load_explicit(&c->value, memory_order_relaxed);
}

void sr_gauge_set(sr_gauge *g, double value) {
    atomic_store_explicit(&g->bits, bits_of(value), memory_order_relaxed);
}

void sr_gauge_add(sr_gauge *g, double delta) { atomic_add_double(&g->bits, delta); }

double sr_gauge_value(const sr_gauge *g) {
    return double_of(atomic_load_explicit(&g->bits, memory_order_relaxed));
}

void sr_histogram_observe(sr_histogram *h, double value) {
    if (isnan(value)) return;
    /* The first bound >= value; n when there is none (the +Inf bucket). */
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->bounds[mid] < value) lo = mid + 1;
        else hi = mid;
    }
    atomic_fetch_add_explicit(&h->buckets[lo], 1, memory_order_relaxed);
    atomic_add_double(&h->sum_bits, value);
}

/* ---- Labelled gauges ------------------------------------------------------ */

static int key_compare(const char *a, size_t a_len, const char *b, size_t b_len) {
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0) return c;
    return (a_len > b_len) - (a_len < b_len);
}

/* Builds the key of one series from its n label values (malloc'd). */
static sr_status key_new(const char *const *values, size_t n, char **key, size_t *key_len,
                         sr_error *err) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!values[i]) return sr_fail(err, SR_ERR_INVALID_ARG, "label value %zu is NULL", i);
        size_t l = strlen(values[i]);
        if (l > SR_METRICS_LABEL_VALUE_MAX)
            return sr_fail(err, SR_ERR_INVALID_ARG, "label value %zu has %zu bytes, more than %d",
                           i, l, SR_METRICS_LABEL_VALUE_MAX);
        len += l + 1;
    }
    char *k = malloc(len ? len : 1);
    if (!k) return sr_fail(err, SR_ERR_NOMEM, "out of memory for a series key of %zu bytes", len);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(values[i]) + 1;
        memcpy(k + at, values[i], l);
        at += l;
    }
    *key = k;
    *key_len = len;
    return SR_OK;
}

/* The index of key in v's sorted series, or where it would be inserted. */
static size_t series_search(const sr_gauge_vec *v, const char *key, size_t key_len, bool *found) {
    size_t lo = 0, hi = v->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_compare(v->series[mid].key, v->series[mid].key_len, key, key_len);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = false;
    return lo;
}

sr_status sr_gauge_vec_set(sr_gauge_vec *v, const char *const *values, double x, sr_error *err) {
    char *key;
    size_t key_len;
    sr_status s = key_new(values, v->n_labels, &key, &key_len, err);
    if (s != SR_OK) return s;
    pthread_mutex_lock(v->lock);
    bool found;
    size_t at = series_search(v, key, key_len, &found);
    if (found) {
        v->series[at].value = x;
        pthread_mutex_unlock(v->lock);
        free(key);
        return SR_OK;
    }
    if (v->count >= SR_METRICS_MAX_SERIES) {
        pthread_mutex_unlock(v->lock);
        free(key);
        return sr_fail(err, SR_ERR_LIMIT, "a labelled family holds at most %d series",
                       SR_METRICS_MAX_SERIES);
    }
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        series *grown = realloc(v->series, cap * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(v->lock);
            free(key);
            return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu series", cap);
        }
        v->series = grown;
        v->cap = cap;
    }
    memmove(v->series + at + 1, v->series + at, (v->count - at) * sizeof *v->series);
    v->series[at] = (series){.key = key, .key_len = key_len, .value = x};
    v->count++;
    pthread_mutex_unlock(v->lock);
    return SR_OK;
}

typedef struct staged_series {
    series s;
    size_t index; /* position in the caller's list: the later one wins */
} staged_series;

static int staged_compare(const void *a, const void *b) {
    const staged_series *x = a, *y = b;
    int c = key_compare(x->s.key, x->s.key_len, y->s.key, y->s.key_len);
    if (c != 0) return c;
    return (x->index > y->index) - (x->index < y->index);
}

static void series_free_all(series *list, size_t n) {
    for (size_t i = 0; i < n; i++) free(list[i].key);
    free(list);
}

sr_status sr_gauge_vec_replace(sr_gauge_vec *v, size_t n, const char *const *values,
                               const double *x, sr_error *err) {
    staged_series *staged = NULL;
    series *fresh = NULL;
    size_t built = 0, kept = 0;
    sr_status s = SR_OK;
    if (n > 0 && (!values || !x))
        return sr_fail(err, SR_ERR_INVALID_ARG, "%zu series but no label values or no values", n);
    if (n > 0) {
        staged = calloc(n, sizeof *staged);
        fresh = calloc(n, sizeof *fresh);
        if (!staged || !fresh) {
            s = sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu series", n);
            goto done;
        }
    }
    for (; built < n; built++) {
        s = key_new(values + built * v->n_labels, v->n_labels, &staged[built].s.key,
                    &staged[built].s.key_len, err);
        if (s != SR_OK) goto done;
        staged[built].s.value = x[built];
        staged[built].index = built;
    }
    if (n > 0) qsort(staged, n, sizeof *staged, staged_compare);
    /* Keep the last of each run of equal keys. */
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && key_compare(staged[i].s.key, staged[i].s.key_len, staged[i + 1].s.key,
                                     staged[i + 1].s.key_len) == 0) {
            free(staged[i].s.key);
            continue;
        }
        fresh[kept++] = staged[i].s;
    }
    built = 0; /* every key now belongs to fresh */
    if (kept > SR_METRICS_MAX_SERIES) {
        s = sr_fail(err, SR_ERR_LIMIT, "%zu series, but a labelled family holds at most %d",
                    kept, SR_METRICS_MAX_SERIES);
        goto done;
    }
    pthread_mutex_lock(v->lock);
    series *old = v->series;
    size_t old_count = v->count;
    v->series = fresh;
    v->count = kept;
    v->cap = n;
    pthread_mutex_unlock(v->lock);
    fresh = old;
    kept = old_count;
done:
    for (size_t i = 0; i < built; i++) free(staged[i].s.key);
    series_free_all(fresh, kept);
    free(staged);
    return s;
}

void sr_gauge_vec_clear(sr_gauge_vec *v) {
    pthread_mutex_lock(v->lock);
    series *old = v->series;
    size_t old_count = v->count;
    v->series = NULL;
    v->count = v->cap = 0;
    pthread_mutex_unlock(v->lock);
    series_free_all(old, old_count);
}

size_t sr_gauge_vec_count(const sr_gauge_vec *v) {
    pthread_mutex_lock(v->lock);
    size_t n = v->count;
    pthread_mutex_unlock(v->lock);
    return n;
}

const char *sr_gauge_vec_label(const sr_gauge_vec *v, size_t i) {
    return i < v->n_labels ? v->label_names[i] : NULL;
}

/* ---- Registration --------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static bool starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

/* Checks name's syntax and the conventions for its type; SR_ERR_INVALID_ARG. */
static sr_status check_name(const char *name, family_type type, sr_error *err) {
    if (!name) return sr_fail(err, SR_ERR_INVALID_ARG, "a metric name is NULL");
    size_t len = strlen(name);
    if (len == 0 || len > SR_METRICS_NAME_MAX)
        return sr_fail(err, SR_ERR_INVALID_ARG, "metric name \"%.*s\" has %zu bytes, not 1..%d",
                       64, name, len, SR_METRICS_NAME_MAX);
    if (!is_name_start(name[0]))
        return sr_fail(err, SR_ERR_INVALID_ARG, "metric name \"%s\" must start with a letter or _",
                       name);
    for (size_t i = 1; i < len; i++) {
        if (name[i] == ':')
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "metric name \"%s\": colons are for recording rules", name);
        if (!is_name_char(name[i]))
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "metric name \"%s\" has a character outside [a-zA-Z0-9_]", name);
    }
    if (!(starts_with(name, "streamrec_") && len > strlen("streamrec_")) &&
        !(starts_with(name, "process_") && len > strlen("process_")))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "metric name \"%s\" must start with streamrec_ (or process_)", name);
    switch (type) {
    case FAMILY_COUNTER:
        if (!ends_with(name, "_total"))
            return sr_fail(err, SR_ERR_INVALID_ARG, "counter \"%s\" must end in _total", name);
        break;
    case FAMILY_HISTOGRAM:
        if (!ends_with(name, "_seconds") && !ends_with(name, "_bytes"))
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "histogram \"%s\" must end in _seconds or _bytes", name);
        break;
    case FAMILY_GAUGE:
    case FAMILY_GAUGE_VEC:
        if (ends_with(name, "_total") || ends_with(name, "_bucket") || ends_with(name, "_sum") ||
            ends_with(name, "_count"))
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "gauge \"%s\" must not end in _total, _bucket, _sum or _count", name);
        break;
    }
    return SR_OK;
}

static sr_status check_label_names(const char *const *names, size_t n, sr_error *err) {
    if (n < 1 || n > SR_METRICS_MAX_LABELS || !names)
        return sr_fail(err, SR_ERR_INVALID_ARG, "%zu label names, not 1..%d", n,
                       SR_METRICS_MAX_LABELS);
    for (size_t i = 0; i < n; i++) {
        const char *l = names[i];
        if (!l || !is_name_start(l[0]))
            return sr_fail(err, SR_ERR_INVALID_ARG, "label name %zu is empty or bad", i);
        for (const char *c = l; *c; c++)
            if (!is_name_char(*c))
                return sr_fail(err, SR_ERR_INVALID_ARG, "label name \"%.64s\" is not [a-zA-Z0-9_]",
                               l);
        if (starts_with(l, "__"))
            return sr_fail(err, SR_ERR_INVALID_ARG, "label name \"%.64s\": __ is reserved", l);
        if (strlen(l) > SR_METRICS_NAME_MAX)
            return sr_fail(err, SR_ERR_INVALID_ARG, "label name %zu is too long", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], l) == 0)
                return sr_fail(err, SR_ERR_INVALID_ARG, "label name \"%s\" appears twice", l);
    }
    return SR_OK;
}

static void metric_free(family_type type, void *metric) {
    if (!metric) return;
    if (type == FAMILY_HISTOGRAM) {
        sr_histogram *h = metric;
        free(h->bounds);
        free(h->buckets);
    } else if (type == FAMILY_GAUGE_VEC) {
        sr_gauge_vec *v = metric;
        for (size_t i = 0; i < v->n_labels; i++) free(v->label_names[i]);
        series_free_all(v->series, v->count);
        if (v->lock) pthread_mutex_destroy(v->lock);
        free(v->lock);
    }
    free(metric);
}

/* Adds a family holding metric (owned from here on, also on failure) after
 * checking its name and help. */
static sr_status family_add(sr_metrics *m, family_type type, const char *name, const char *help,
                            void *metric, sr_error *err) {
    sr_status s = check_name(name, type, err);
    if (s == SR_OK && !help) s = sr_fail(err, SR_ERR_INVALID_ARG, "metric \"%s\" has no help", name);
    if (s != SR_OK) {
        metric_free(type, metric);
        return s;
    }
    for (size_t i = 0; i < sizeof builtin_names / sizeof *builtin_names; i++)
        if (strcmp(name, builtin_names[i]) == 0) {
            metric_free(type, metric);
            return sr_fail(err, SR_ERR_INVALID_ARG, "metric \"%s\" is built in", name);
        }
    family f = {.type = type, .name = strdup(name), .help = strdup(help), .metric = metric};
    if (!f.name || !f.help) {
        s = sr_fail(err, SR_ERR_NOMEM, "out of memory registering \"%s\"", name);
        goto fail;
    }
    pthread_mutex_lock(m->lock);
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->families[i].name, name) == 0) {
            pthread_mutex_unlock(m->lock);
            s = sr_fail(err, SR_ERR_INVALID_ARG, "metric \"%s\" is already registered", name);
            goto fail;
        }
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        family *grown = realloc(m->families, cap * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(m->lock);
            s = sr_fail(err, SR_ERR_NOMEM, "out of memory registering \"%s\"", name);
            goto fail;
        }
        m->families = grown;
        m->cap = cap;
    }
    m->families[m->count++] = f;
    pthread_mutex_unlock(m->lock);
    return SR_OK;
fail:
    free(f.name);
    free(f.help);
    metric_free(type, metric);
    return s;
}

/* A zeroed allocation on a cache line of its own. */
static void *alloc_line(size_t size) {
    size_t rounded = (size + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
    void *p = aligned_alloc(CACHE_LINE, rounded);
    if (p) memset(p, 0, rounded);
    return p;
}

sr_status sr_metrics_counter(sr_metrics *m, const char *name, const char *help, sr_counter **out,
                             sr_error *err) {
    sr_counter *c = alloc_line(sizeof *c);
    if (!c) return sr_fail(err, SR_ERR_NOMEM, "out of memory for a counter");
    atomic_init(&c->value, 0);
    sr_status s = family_add(m, FAMILY_COUNTER, name, help, c, err);
    if (s == SR_OK) *out = c;
    return s;
}

sr_status sr_metrics_gauge(sr_metrics *m, const char *name, const char *help, sr_gauge **out,
                           sr_error *err) {
    sr_gauge *g = alloc_line(sizeof *g);
    if (!g) return sr_fail(err, SR_ERR_NOMEM, "out of memory for a gauge");
    atomic_init(&g->bits, bits_of(0.0));
    sr_status s = family_add(m, FAMILY_GAUGE, name, help, g, err);
    if (s == SR_OK) *out = g;
    return s;
}

sr_status sr_metrics_histogram(sr_metrics *m, const char *name, const char *help,
                               const double *bounds, size_t n, sr_histogram **out,
                               sr_error *err) {
    if (n < 1 || n > SR_METRICS_MAX_BUCKETS || !bounds)
        return sr_fail(err, SR_ERR_INVALID_ARG, "histogram %s: %zu bounds, not 1..%d",
                       name ? name : "(null)", n, SR_METRICS_MAX_BUCKETS);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(bounds[i]))
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "histogram %s: bound %zu is not finite (+Inf is implicit)",
                           name ? name : "(null)", i);
        if (i > 0 && !(bounds[i] > bounds[i - 1]))
            return sr_fail(err, SR_ERR_INVALID_ARG,
                           "histogram %s: bounds are not strictly ascending at %zu",
                           name ? name : "(null)", i);
    }
    sr_histogram *h = calloc(1, sizeof *h);
    if (h) {
        h->n = n;
        h->bounds = malloc(n * sizeof *h->bounds);
        h->buckets = calloc(n + 1, sizeof *h->buckets);
    }
    if (!h || !h->bounds || !h->buckets) {
        metric_free(FAMILY_HISTOGRAM, h);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for a histogram");
    }
    memcpy(h->bounds, bounds, n * sizeof *bounds);
    for (size_t i = 0; i <= n; i++) atomic_init(&h->buckets[i], 0);
    atomic_init(&h->sum_bits, bits_of(0.0));
    sr_status s = family_add(m, FAMILY_HISTOGRAM, name, help, h, err);
    if (s == SR_OK) *out = h;
    return s;
}

sr_status sr_metrics_gauge_vec(sr_metrics *m, const char *name, const char *help,
                               const char *const *label_names, size_t n_labels,
                               sr_gauge_vec **out, sr_error *err) {
    sr_status s = check_label_names(label_names, n_labels, err);
    if (s != SR_OK) return s;
    sr_gauge_vec *v = calloc(1, sizeof *v);
    if (!v) return sr_fail(err, SR_ERR_NOMEM, "out of memory for a labelled gauge");
    v->lock = malloc(sizeof *v->lock);
    if (v->lock && pthread_mutex_init(v->lock, NULL) != 0) {
        free(v->lock);
        v->lock = NULL;
    }
    bool ok = v->lock != NULL;
    for (size_t i = 0; ok && i < n_labels; i++) {
        v->label_names[i] = strdup(label_names[i]);
        ok = v->label_names[i] != NULL;
        v->n_labels = i + 1;
    }
    if (!ok) {
        metric_free(FAMILY_GAUGE_VEC, v);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for a labelled gauge");
    }
    s = family_add(m, FAMILY_GAUGE_VEC, name, help, v, err);
    if (s == SR_OK) *out = v;
    return s;
}

/* ---- The process metrics -------------------------------------------------- */

/* Reads a small /proc file into buf (NUL-terminated); false when it cannot. */
static bool read_small_file(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            close(fd);
            return false;
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return len > 0;
}

/* The process's start as Unix time: boot time (/proc/stat btime) plus the
 * process's start in clock ticks after boot (/proc/self/stat field 22); the
 * current time when /proc does not say. */
static double process_start_time(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double fallback = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    char stat[4096], self[1024];
    long ticks_per_second = sysconf(_SC_CLK_TCK);
    if (ticks_per_second <= 0 || !read_small_file("/proc/stat", stat, sizeof stat) ||
        !read_small_file("/proc/self/stat", self, sizeof self))
        return fallback;
    const char *b = strstr(stat, "\nbtime ");
    unsigned long long boot;
    if (!b || sscanf(b + 7, "%llu", &boot) != 1) return fallback;
    /* The command name (field 2) may hold spaces and parentheses: fields 3.. start
     * after the last ')'. starttime is the 20th of those. */
    const char *p = strrchr(self, ')');
    if (!p) return fallback;
    p++;
    for (int field = 3; field < 22; field++) {
        while (*p == ' ') p++;
        while (*p && *p != ' ') p++;
    }
    unsigned long long start_ticks;
    if (sscanf(p, " %llu", &start_ticks) != 1) return fallback;
    return (double)boot + (double)start_ticks / (double)ticks_per_second;
}

/* Resident memory in bytes (/proc/self/statm, field 2, in pages); -1 when unknown. */
static double resident_memory_bytes(void) {
    char statm[256];
    unsigned long long size, resident;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || !read_small_file("/proc/self/statm", statm, sizeof statm) ||
        sscanf(statm, "%llu %llu", &size, &resident) != 2)
        return -1;
    return (double)resident * (double)page;
}

/* ---- Lifetime ------------------------------------------------------------- */

sr_status sr_metrics_new(sr_metrics **out, sr_error *err) {
    sr_metrics *m = calloc(1, sizeof *m);
    if (m) m->lock = malloc(sizeof *m->lock);
    if (!m || !m->lock || pthread_mutex_init(m->lock, NULL) != 0) {
        if (m) free(m->lock);
        free(m);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory for a metrics registry");
    }
    m->start_time = process_start_time();
    *out = m;
    return SR_OK;
}

void sr_metrics_free(sr_metrics *m) {
    if (!m) return;
    for (size_t i = 0; i < m->count; i++) {
        metric_free(m->families[i].type, m->families[i].metric);
        free(m->families[i].name);
        free(m->families[i].help);
    }
    free(m->families);
    pthread_mutex_destroy(m->lock);
    free(m->lock);
    free(m);
}

/* ---- Rendering ------------------------------------------------------------ */

static sr_status append(sr_buffer *out, const char *s, sr_error *err) {
    return sr_buffer_append(out, s, strlen(s), err);
}

/* Appends s with backslash and newline escaped, and double quotes too when
 * quotes is set (label values; HELP text leaves them alone). */
static sr_status append_escaped(sr_buffer *out, const char *s, bool quotes, sr_error *err) {
    sr_status st = SR_OK;
    while (*s && st == SR_OK) {
        size_t run = strcspn(s, quotes ? "\\\n\"" : "\\\n");
        st = sr_buffer_append(out, s, run, err);
        s += run;
        if (*s && st == SR_OK) {
            st = append(out, *s == '\n' ? "\\n" : *s == '"' ? "\\\"" : "\\\\", err);
            s++;
        }
    }
    return st;
}

/* A double as Prometheus parses it: NaN, +Inf, -Inf, or the shortest %.*g
 * (15 to 17 digits) that reads back as the same double. */
static void format_double(double x, char *buf, size_t cap) {
    if (isnan(x)) {
        snprintf(buf, cap, "NaN");
        return;
    }
    if (isinf(x)) {
        snprintf(buf, cap, "%s", x > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, cap, "%.*g", digits, x);
        if (strtod(buf, NULL) == x) return;
    }
}

static sr_status append_double(sr_buffer *out, double x, sr_error *err) {
    char buf[40];
    format_double(x, buf, sizeof buf);
    return append(out, buf, err);
}

static sr_status append_u64(sr_buffer *out, uint64_t x, sr_error *err) {
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)x);
    return append(out, buf, err);
}

static sr_status append_header(sr_buffer *out, const char *name, const char *help,
                               const char *type, sr_error *err) {
    sr_status s = append(out, "# HELP ", err);
    if (s == SR_OK) s = append(out, name, err);
    if (s == SR_OK) s = append(out, " ", err);
    if (s == SR_OK) s = append_escaped(out, help, false, err);
    if (s == SR_OK) s = append(out, "\n# TYPE ", err);
    if (s == SR_OK) s = append(out, name, err);
    if (s == SR_OK) s = append(out, " ", err);
    if (s == SR_OK) s = append(out, type, err);
    if (s == SR_OK) s = append(out, "\n", err);
    return s;
}

static sr_status render_histogram(const family *f, sr_buffer *out, sr_error *err) {
    const sr_histogram *h = f->metric;
    uint64_t cumulative = 0;
    sr_status s = SR_OK;
    for (size_t i = 0; i <= h->n && s == SR_OK; i++) {
        cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        s = append(out, f->name, err);
        if (s == SR_OK) s = append(out, "_bucket{le=\"", err);
        if (s == SR_OK) s = i < h->n ? append_double(out, h->bounds[i], err) : append(out, "+Inf", err);
        if (s == SR_OK) s = append(out, "\"} ", err);
        if (s == SR_OK) s = append_u64(out, cumulative, err);
        if (s == SR_OK) s = append(out, "\n", err);
    }
    if (s == SR_OK) s = append(out, f->name, err);
    if (s == SR_OK) s = append(out, "_sum ", err);
    if (s == SR_OK)
        s = append_double(out, double_of(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)),
                          err);
    if (s == SR_OK) s = append(out, "\n", err);
    if (s == SR_OK) s = append(out, f->name, err);
    if (s == SR_OK) s = append(out, "_count ", err);
    if (s == SR_OK) s = append_u64(out, cumulative, err);
    if (s == SR_OK) s = append(out, "\n", err);
    return s;
}

static sr_status render_series(const char *name, const sr_gauge_vec *v, const series *se,
                               sr_buffer *out, sr_error *err) {
    sr_status s = append(out, name, err);
    const char *value = se->key;
    for (size_t l = 0; l < v->n_labels && s == SR_OK; l++) {
        s = append(out, l == 0 ? "{" : ",", err);
        if (s == SR_OK) s = append(out, v->label_names[l], err);
        if (s == SR_OK) s = append(out, "=\"", err);
        if (s == SR_OK) s = append_escaped(out, value, true, err);
        if (s == SR_OK) s = append(out, "\"", err);
        value += strlen(value) + 1;
    }
    if (s == SR_OK) s = append(out, "} ", err);
    if (s == SR_OK) s = append_double(out, se->value, err);
    if (s == SR_OK) s = append(out, "\n", err);
    return s;
}

static sr_status render_gauge_vec(const family *f, sr_buffer *out, sr_error *err) {
    const sr_gauge_vec *v = f->metric;
    sr_status s = SR_OK;
    pthread_mutex_lock(v->lock);
    for (size_t i = 0; i < v->count && s == SR_OK; i++)
        s = render_series(f->name, v, &v->series[i], out, err);
    pthread_mutex_unlock(v->lock);
    return s;
}

static sr_status render_family(const family *f, sr_buffer *out, sr_error *err) {
    static const char *const type_names[] = {
        [FAMILY_COUNTER] = "counter", [FAMILY_GAUGE] = "gauge",
        [FAMILY_HISTOGRAM] = "histogram", [FAMILY_GAUGE_VEC] = "gauge"};
    sr_status s = append_header(out, f->name, f->help, type_names[f->type], err);
    if (s != SR_OK) return s;
    switch (f->type) {
    case FAMILY_COUNTER:
        s = append(out, f->name, err);
        if (s == SR_OK) s = append(out, " ", err);
        if (s == SR_OK) s = append_u64(out, sr_counter_value(f->metric), err);
        return s == SR_OK ? append(out, "\n", err) : s;
    case FAMILY_GAUGE:
        s = append(out, f->name, err);
        if (s == SR_OK) s = append(out, " ", err);
        if (s == SR_OK) s = append_double(out, sr_gauge_value(f->metric), err);
        return s == SR_OK ? append(out, "\n", err) : s;
    case FAMILY_HISTOGRAM:
        return render_histogram(f, out, err);
    case FAMILY_GAUGE_VEC:
        return render_gauge_vec(f, out, err);
    }
    return SR_OK;
}

static sr_status render_process_gauge(const char *name, const char *help, double x,
                                      sr_buffer *out, sr_error *err) {
    sr_status s = append_header(out, name, help, "gauge", err);
    if (s == SR_OK) s = append(out, name, err);
    if (s == SR_OK) s = append(out, " ", err);
    if (s == SR_OK) s = append_double(out, x, err);
    if (s == SR_OK) s = append(out, "\n", err);
    return s;
}

sr_status sr_metrics_render(const sr_metrics *m, sr_buffer *out, sr_error *err) {
    sr_status s = SR_OK;
    pthread_mutex_lock(m->lock);
    for (size_t i = 0; i < m->count && s == SR_OK; i++) s = render_family(&m->families[i], out, err);
    pthread_mutex_unlock(m->lock);
    double rss = resident_memory_bytes();
    if (s == SR_OK && rss >= 0)
        s = render_process_gauge(builtin_names[0], "Resident memory size in bytes.", rss, out, err);
    if (s == SR_OK)
        s = render_process_gauge(builtin_names[1],
                                 "Start time of the process since unix epoch in seconds.",
                                 m->start_time, out, err);
    return s;
}
