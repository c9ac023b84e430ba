/*
 * config.c — a command's option table and the effective value of each option;
 * see sr_config.h.
 *
 * Every value is parsed when it is set, from whatever source, and kept both
 * parsed (for the getters) and as canonical text (for print and
 * sr_config_string), with the source that set it. The table is checked once,
 * in sr_config_new, so that the getters can trust it.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"

/* Flags sr_config_parse_args handles itself; no key may take their names. */
static const char *const builtin_flags[] = {"config", "set", "print-config", "help", NULL};

bool config_is_kafka_key(const char *key) {
    return strcmp(key, "kafka") == 0 || strncmp(key, CONFIG_KAFKA_PREFIX, strlen(CONFIG_KAFKA_PREFIX)) == 0;
}

/* ---- suggestions ---------------------------------------------------------- */

#define SUGGEST_MAX_LEN 127

/* Optimal string alignment distance (insert, delete, substitute, swap two
 * neighbours), ignoring case; SIZE_MAX for words too long to bother. */
static size_t edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    if (n > SUGGEST_MAX_LEN || m > SUGGEST_MAX_LEN) return SIZE_MAX;
    size_t rows[3][SUGGEST_MAX_LEN + 1];
    size_t *before = rows[0], *previous = rows[1], *current = rows[2];
    for (size_t j = 0; j <= m; j++) previous[j] = j;
    for (size_t i = 1; i <= n; i++) {
        current[0] = i;
        for (size_t j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t best = previous[j - 1] + (ca != cb);
            if (previous[j] + 1 < best) best = previous[j] + 1;
            if (current[j - 1] + 1 < best) best = current[j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && before[j - 2] + 1 < best)
                best = before[j - 2] + 1;
            current[j] = best;
        }
        size_t *oldest = before;
        before = previous;
        previous = current;
        current = oldest;
    }
    return previous[m];
}

void config_suggestion_init(config_suggestion *s, const char *word) {
    s->word = word;
    s->distance = SIZE_MAX;
    s->best[0] = '\0';
    s->found = false;
}

void config_suggestion_consider(config_suggestion *s, const char *candidate) {
    size_t d = edit_distance(s->word, candidate);
    size_t len = strlen(candidate);
    size_t limit = len / 4 > 2 ? len / 4 : 2; /* a quarter of the word, at least 2 */
    if (d == 0 && strcmp(s->word, candidate) == 0) return; /* the word itself is no help */
    if (d > limit || d >= s->distance || len >= sizeof s->best) return;
    s->distance = d;
    memcpy(s->best, candidate, len + 1);
    s->found = true;
}

void config_suggestion_text(const config_suggestion *s, const char *prefix, char *out,
                            size_t size) {
    if (s->found) snprintf(out, size, "; did you mean '%s%s'?", prefix, s->best);
    else if (size) out[0] = '\0';
}

void config_value_for_message(const char *value, bool secret, char *out, size_t size) {
    const size_t shown = 40;
    if (secret) {
        snprintf(out, size, "%s", SR_CONFIG_MASK);
        return;
    }
    size_t n = 0;
    for (; value[n] && n < shown && n + 1 < size; n++)
        out[n] = iscntrl((unsigned char)value[n]) ? '?' : value[n];
    out[n] = '\0';
    if (value[n] && n + 4 < size) memcpy(out + n, "...", 4);
}

/* ---- values --------------------------------------------------------------- */

static bool parse_int(const char *text, int64_t *out) {
    const char *digits = text + (*text == '+' || *text == '-');
    if (*digits < '0' || *digits > '9') return false;
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (*end || errno == ERANGE) return false;
    *out = value;
    return true;
}

static bool parse_double(const char *text, double *out) {
    const char *digits = text + (*text == '+' || *text == '-');
    /* Decimal only: no leading space, no "inf", "nan" or hexadecimal. */
    if (!(isdigit((unsigned char)*digits) || (*digits == '.' && isdigit((unsigned char)digits[1]))))
        return false;
    if (strpbrk(text, "xX")) return false;
    char *end;
    double value = strtod(text, &end);
    if (*end || !isfinite(value)) return false;
    *out = value;
    return true;
}

static bool parse_bool(const char *text, bool *out) {
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) return *out = true, true;
        if (strcasecmp(text, no[i]) == 0) return *out = false, true;
    }
    return false;
}

static int find_choice(const char *const *choices, const char *text) {
    for (int i = 0; choices[i]; i++)
        if (strcasecmp(choices[i], text) == 0) return i;
    return -1;
}

/* "keep, recompute" */
static void list_choices(const char *const *choices, char *out, size_t size) {
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; choices[i] && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "", choices[i]);
}

/* Parses text as def's type into *v (text and source untouched); false with
 * the reason in why otherwise. */
static bool parse_value(const sr_option_def *def, const char *text, config_value *v, char *why,
                        size_t why_size) {
    switch (def->type) {
    case SR_OPT_STRING: return true;
    case SR_OPT_INT:
        if (!parse_int(text, &v->i)) return snprintf(why, why_size, "not an integer"), false;
        if (v->i < def->min || v->i > def->max)
            return snprintf(why, why_size, "out of range %" PRId64 "..%" PRId64, def->min,
                            def->max), false;
        return true;
    case SR_OPT_DOUBLE:
        if (!parse_double(text, &v->d)) return snprintf(why, why_size, "not a number"), false;
        if (!(v->d >= def->dmin && v->d <= def->dmax))
            return snprintf(why, why_size, "out of range %.17g..%.17g", def->dmin, def->dmax),
                   false;
        return true;
    case SR_OPT_BOOL:
        if (parse_bool(text, &v->b)) return true;
        snprintf(why, why_size, "not a boolean (true/false, yes/no, on/off, 1/0)");
        return false;
    case SR_OPT_ENUM:
        v->choice = find_choice(def->choices, text);
        if (v->choice >= 0) return true;
        char choices[160];
        list_choices(def->choices, choices, sizeof choices);
        snprintf(why, why_size, "not one of: %s", choices);
        return false;
    }
    return snprintf(why, why_size, "has an unknown type"), false;
}

/* The text a parsed value prints as: it parses back to the same value. */
static char *canonical_text(const sr_option_def *def, const char *text, const config_value *v) {
    char buffer[64];
    switch (def->type) {
    case SR_OPT_INT: snprintf(buffer, sizeof buffer, "%" PRId64, v->i); break;
    case SR_OPT_DOUBLE:
        /* 15 digits print 0.1 as 0.1 and 10 as 10; 17 always read back the same. */
        for (int precision = 15; precision <= 17; precision++) {
            snprintf(buffer, sizeof buffer, "%.*g", precision, v->d);
            if (strtod(buffer, NULL) == v->d) break;
        }
        break;
    case SR_OPT_BOOL: snprintf(buffer, sizeof buffer, "%s", v->b ? "true" : "false"); break;
    case SR_OPT_ENUM: return strdup(def->choices[v->choice]);
    default: return strdup(text);
    }
    return strdup(buffer);
}

static int find_def(const sr_option_def *defs, size_t count, const char *key) {
    for (size_t i = 0; i < count; i++)
        if (strcmp(defs[i].key, key) == 0) return (int)i;
    return -1;
}

/* Sets option i from text; source NULL means the default. */
static sr_status set_option(sr_config *cfg, size_t i, const char *text, const char *source,
                            sr_error *err) {
    const sr_option_def *def = &cfg->defs[i];
    config_value parsed = {0};
    char why[200];
    if (!parse_value(def, text, &parsed, why, sizeof why)) {
        char shown[64];
        config_value_for_message(text, def->secret, shown, sizeof shown);
        return sr_fail(err, SR_ERR_CONFIG, "configuration key '%s' = '%s' (%s): %s", def->key,
                       shown, source ? source : "default", why);
    }
    parsed.text = canonical_text(def, text, &parsed);
    parsed.source = source ? strdup(source) : NULL;
    if (!parsed.text || (source && !parsed.source)) {
        free(parsed.text);
        free(parsed.source);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    }
    free(cfg->values[i].text);
    free(cfg->values[i].source);
    cfg->values[i] = parsed;
    return SR_OK;
}

sr_status sr_config_set(sr_config *cfg, const char *key, const char *value, const char *source,
                        sr_error *err) {
    if (!cfg || !key || !value || !source)
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_config_set needs a key, a value and a source");
    if (config_is_kafka_key(key)) return config_kafka_set(cfg, key, value, source, err);
    int i = find_def(cfg->defs, cfg->count, key);
    if (i >= 0) return set_option(cfg, (size_t)i, value, source, err);

    config_suggestion suggestion;
    config_suggestion_init(&suggestion, key);
    for (size_t d = 0; d < cfg->count; d++) config_suggestion_consider(&suggestion, cfg->defs[d].key);
    char hint[160], shown[64];
    config_suggestion_text(&suggestion, "", hint, sizeof hint);
    config_value_for_message(key, false, shown, sizeof shown);
    return sr_fail(err, SR_ERR_CONFIG, "unknown configuration key '%s' (%s)%s", shown, source,
                   hint);
}

/* ---- the table ------------------------------------------------------------ */

/* Lowercase words of [a-z0-9] joined by single dots. */
static bool key_is_well_formed(const char *key) {
    bool word_started = false;
    for (const char *c = key; *c; c++) {
        if (*c == '.') {
            if (!word_started) return false;
            word_started = false;
        } else if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')) {
            word_started = true;
        } else {
            return false;
        }
    }
    return word_started;
}

static bool is_builtin_flag(const char *key) {
    for (size_t i = 0; builtin_flags[i]; i++) {
        const char *flag = builtin_flags[i];
        size_t n = strlen(flag);
        if (strlen(key) != n) continue;
        size_t j = 0;
        while (j < n && (key[j] == flag[j] || (key[j] == '.' && flag[j] == '-'))) j++;
        if (j == n) return true;
    }
    return false;
}

/* What is wrong with the type-specific part of def, or NULL. */
static const char *def_type_problem(const sr_option_def *def) {
    switch (def->type) {
    case SR_OPT_STRING: return NULL;
    case SR_OPT_INT: return def->min > def->max ? "min > max" : NULL;
    case SR_OPT_DOUBLE:
        return def->dmin <= def->dmax ? NULL : "dmin > dmax (or NaN)";
    case SR_OPT_BOOL: return NULL;
    case SR_OPT_ENUM:
        if (!def->choices || !def->choices[0]) return "an enum needs choices";
        for (size_t i = 0; def->choices[i]; i++) {
            if (!def->choices[i][0]) return "an empty choice";
            for (size_t j = 0; j < i; j++)
                if (strcasecmp(def->choices[i], def->choices[j]) == 0) return "duplicate choices";
        }
        return NULL;
    }
    return "unknown type";
}

/* Checks defs[i] against the contract of sr_option_def and the entries before it. */
static sr_status check_def(const sr_option_def *defs, size_t i, sr_error *err) {
    const sr_option_def *def = &defs[i];
    const char *problem = NULL;
    if (!def->key || !key_is_well_formed(def->key)) problem = "not lowercase words joined by '.'";
    else if (config_is_kafka_key(def->key)) problem = "kafka.* keys go to librdkafka";
    else if (is_builtin_flag(def->key)) problem = "its flag is a built-in flag";
    else if (find_def(defs, i, def->key) >= 0) problem = "defined twice";
    else if (!def->help) problem = "no help text";
    else if (!def->default_value && def->type != SR_OPT_STRING) problem = "no default";
    else problem = def_type_problem(def);
    if (problem)
        return sr_fail(err, SR_ERR_INVALID_ARG, "option table entry %zu ('%s'): %s", i,
                       def->key ? def->key : "(null)", problem);
    return SR_OK;
}

static void free_values(sr_config *cfg) {
    for (size_t i = 0; cfg->values && i < cfg->count; i++) {
        free(cfg->values[i].text);
        free(cfg->values[i].source);
    }
    free(cfg->values);
}

sr_status sr_config_new(const sr_option_def *defs, size_t count, sr_config **out, sr_error *err) {
    if (!out || (count && !defs))
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_config_new needs a table and an out pointer");
    for (size_t i = 0; i < count; i++) {
        sr_status status = check_def(defs, i, err);
        if (status != SR_OK) return status;
    }
    sr_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    cfg->defs = defs;
    cfg->count = count;
    cfg->values = calloc(count ? count : 1, sizeof *cfg->values);
    if (!cfg->values) {
        free(cfg);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        if (!defs[i].default_value) continue; /* an unset string */
        sr_status status = set_option(cfg, i, defs[i].default_value, NULL, err);
        if (status != SR_OK) {
            sr_config_free(cfg);
            if (status == SR_ERR_NOMEM) return status;
            return sr_error_wrap(err, SR_ERR_INVALID_ARG, "option table entry %zu: bad default", i);
        }
    }
    *out = cfg;
    return SR_OK;
}

void sr_config_free(sr_config *cfg) {
    if (!cfg) return;
    free_values(cfg);
    config_kafka_free(cfg);
    free(cfg);
}

/* ---- getters -------------------------------------------------------------- */

/* The value of a defined key of the given type (any type when type < 0);
 * aborts on a key the table does not define: the caller has a bug. */
static const config_value *value_of(const sr_config *cfg, const char *key, int type,
                                    const char *getter) {
    int i = find_def(cfg->defs, cfg->count, key);
    if (i < 0) {
        fprintf(stderr, "%s: configuration key '%s' is not in the option table\n", getter, key);
        abort();
    }
    if (type >= 0 && cfg->defs[i].type != (sr_option_type)type) {
        fprintf(stderr, "%s: configuration key '%s' has another type\n", getter, key);
        abort();
    }
    return &cfg->values[i];
}

static const kafka_entry *kafka_entry_of(const sr_config *cfg, const char *key) {
    for (size_t i = 0; i < cfg->kafka_count; i++)
        if (strcmp(cfg->kafka[i].key, key) == 0) return &cfg->kafka[i];
    return NULL;
}

const char *sr_config_string(const sr_config *cfg, const char *key) {
    if (config_is_kafka_key(key)) {
        const kafka_entry *e = kafka_entry_of(cfg, key);
        return e ? e->value : NULL;
    }
    return value_of(cfg, key, -1, "sr_config_string")->text;
}

int64_t sr_config_int(const sr_config *cfg, const char *key) {
    return value_of(cfg, key, SR_OPT_INT, "sr_config_int")->i;
}

double sr_config_double(const sr_config *cfg, const char *key) {
    return value_of(cfg, key, SR_OPT_DOUBLE, "sr_config_double")->d;
}

bool sr_config_bool(const sr_config *cfg, const char *key) {
    return value_of(cfg, key, SR_OPT_BOOL, "sr_config_bool")->b;
}

int sr_config_enum(const sr_config *cfg, const char *key) {
    return value_of(cfg, key, SR_OPT_ENUM, "sr_config_enum")->choice;
}

const char *sr_config_source(const sr_config *cfg, const char *key) {
    if (config_is_kafka_key(key)) {
        const kafka_entry *e = kafka_entry_of(cfg, key);
        return e ? e->source : NULL;
    }
    const config_value *v = value_of(cfg, key, -1, "sr_config_source");
    return v->source ? v->source : "default";
}
