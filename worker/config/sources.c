/*
 * sources.c — where values come from: the properties file, the environment
 * and the command line; see sr_config.h.
 *
 * sr_config_parse_args reads argv in one pass, collecting the file's path and
 * the flags' assignments without applying any (so that the order of argv does
 * not matter), then applies the file, the environment and the flags, each
 * through sr_config_set, which checks the value and records its source.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"

#define KAFKA_ENV_PREFIX SR_CONFIG_ENV_PREFIX "KAFKA_"

static char *trim(char *text) {
    while (isspace((unsigned char)*text)) text++;
    size_t n = strlen(text);
    while (n > 0 && isspace((unsigned char)text[n - 1])) text[--n] = '\0';
    return text;
}

/* ---- the properties file -------------------------------------------------- */

/* One line of the file, without its line break. */
static sr_status parse_line(sr_config *cfg, const char *path, unsigned long number, char *line,
                            sr_error *err) {
    if (number == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0) line += 3; /* a UTF-8 BOM */
    char *text = trim(line);
    if (!*text || *text == '#' || *text == '!') return SR_OK;
    char shown[64];
    config_value_for_message(text, false, shown, sizeof shown);
    char *separator = strpbrk(text, "=:");
    if (!separator)
        return sr_fail(err, SR_ERR_CONFIG, "%s:%lu: expected 'key=value' or 'key: value', not '%s'",
                       path, number, shown);
    char separator_char = *separator;
    *separator = '\0';
    char *key = trim(text), *value = trim(separator + 1);
    if (!*key)
        return sr_fail(err, SR_ERR_CONFIG, "%s:%lu: no key before '%c'", path, number,
                       separator_char);
    char *source;
    if (asprintf(&source, "file %s:%lu", path, number) < 0)
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    sr_status status = sr_config_set(cfg, key, value, source, err);
    free(source);
    return status;
}

sr_status sr_config_load_file(sr_config *cfg, const char *path, sr_error *err) {
    FILE *file = fopen(path, "r");
    if (!file)
        return sr_fail(err, SR_ERR_IO, "cannot open configuration file '%s': %s", path,
                       strerror(errno));
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    unsigned long number = 0;
    sr_status status = SR_OK;
    while (status == SR_OK && (length = getline(&line, &capacity, file)) >= 0) {
        number++;
        if (strlen(line) != (size_t)length) {
            status = sr_fail(err, SR_ERR_CONFIG, "%s:%lu: a NUL byte in the line", path, number);
            break;
        }
        line[strcspn(line, "\r\n")] = '\0';
        status = parse_line(cfg, path, number, line, err);
    }
    if (status == SR_OK && ferror(file))
        status = sr_fail(err, SR_ERR_IO, "reading configuration file '%s': %s", path,
                         strerror(errno));
    free(line);
    fclose(file);
    return status;
}

/* ---- the environment ------------------------------------------------------ */

/* The value of variable name in envp, or NULL. */
static const char *env_lookup(char **envp, const char *name) {
    size_t n = strlen(name);
    for (char **e = envp; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

/* "STREAMREC_SCORE_AFTER_EVENTS" for "score.after.events"; NULL when out of memory. */
static char *env_name_of(const char *key) {
    size_t prefix = strlen(SR_CONFIG_ENV_PREFIX), n = strlen(key);
    char *name = malloc(prefix + n + 1);
    if (!name) return NULL;
    memcpy(name, SR_CONFIG_ENV_PREFIX, prefix);
    for (size_t i = 0; i <= n; i++)
        name[prefix + i] = key[i] == '.' ? '_' : (char)toupper((unsigned char)key[i]);
    return name;
}

static bool word_is(const char *word, const char *const *choices) {
    for (size_t i = 0; choices[i]; i++)
        if (strcmp(word, choices[i]) == 0) return true;
    return false;
}

/* True for the variables Kubernetes injects for a service named
 * streamrec-kafka or streamrec-kafka-*: given the name after
 * STREAMREC_KAFKA_, [X_]SERVICE_HOST, [X_]SERVICE_PORT[_NAME], [X_]PORT and
 * [X_]PORT_<number>_<TCP|UDP|SCTP>[_PROTO|_PORT|_ADDR]. No librdkafka
 * property has these shapes. */
static bool is_service_link(const char *rest) {
    static const char *const protocols[] = {"TCP", "UDP", "SCTP", NULL};
    static const char *const parts[] = {"PROTO", "PORT", "ADDR", NULL};
    char copy[256], *words[64], *save = NULL;
    size_t k = 0, n = strcspn(rest, "=");
    if (n >= sizeof copy) return false;
    memcpy(copy, rest, n);
    copy[n] = '\0';
    for (char *w = strtok_r(copy, "_", &save); w && k < 64; w = strtok_r(NULL, "_", &save))
        words[k++] = w;
    if (k == 0) return false;
    if (strcmp(words[k - 1], "PORT") == 0) return true;
    if (k >= 2 && strcmp(words[k - 2], "SERVICE") == 0 && strcmp(words[k - 1], "HOST") == 0)
        return true;
    for (size_t i = 0; i + 1 < k; i++) {
        if (strcmp(words[i], "SERVICE") == 0 && strcmp(words[i + 1], "PORT") == 0) return true;
        if (strcmp(words[i], "PORT") != 0 || i + 2 >= k) continue;
        if (strspn(words[i + 1], "0123456789") != strlen(words[i + 1])) continue;
        if (!word_is(words[i + 2], protocols)) continue;
        if (i + 3 == k || (i + 4 == k && word_is(words[i + 3], parts))) return true;
    }
    return false;
}

/* kafka.* variables before kafka.consumer.* and kafka.producer.* ones, then by name. */
static int kafka_env_rank(const char *variable) {
    const char *rest = variable + strlen(KAFKA_ENV_PREFIX);
    return strncasecmp(rest, "CONSUMER_", 9) == 0 || strncasecmp(rest, "PRODUCER_", 9) == 0;
}

static int compare_kafka_env(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rank = kafka_env_rank(x) - kafka_env_rank(y);
    if (rank) return rank;
    size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
    int c = strncmp(x, y, nx < ny ? nx : ny);
    return c ? c : (nx > ny) - (nx < ny);
}

/* Sets kafka.<rest> from one STREAMREC_KAFKA_<REST>=value variable. */
static sr_status set_kafka_from_env(sr_config *cfg, const char *variable, sr_error *err) {
    size_t name_length = strcspn(variable, "="), prefix = strlen(KAFKA_ENV_PREFIX);
    size_t rest = name_length - prefix;
    size_t kafka_prefix = strlen(CONFIG_KAFKA_PREFIX);
    char *key = malloc(kafka_prefix + rest + 1);
    char *source = malloc(strlen("env ") + name_length + 1);
    sr_status status = SR_OK;
    if (!key || !source) {
        status = sr_fail(err, SR_ERR_NOMEM, "out of memory");
    } else {
        memcpy(key, CONFIG_KAFKA_PREFIX, kafka_prefix);
        for (size_t i = 0; i < rest; i++) {
            char c = variable[prefix + i];
            key[kafka_prefix + i] = c == '_' ? '.' : (char)tolower((unsigned char)c);
        }
        key[kafka_prefix + rest] = '\0';
        sprintf(source, "env %.*s", (int)name_length, variable);
        status = sr_config_set(cfg, key, variable + name_length + 1, source, err);
    }
    free(key);
    free(source);
    return status;
}

static sr_status load_kafka_env(sr_config *cfg, char **envp, sr_error *err) {
    size_t count = 0;
    for (char **e = envp; e && *e; e++) count++;
    const char **found = malloc((count ? count : 1) * sizeof *found);
    if (!found) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    size_t n = 0, prefix = strlen(KAFKA_ENV_PREFIX);
    for (char **e = envp; e && *e; e++)
        if (strncmp(*e, KAFKA_ENV_PREFIX, prefix) == 0 && strchr(*e, '=') &&
            !is_service_link(*e + prefix))
            found[n++] = *e;
    qsort(found, n, sizeof *found, compare_kafka_env);
    sr_status status = SR_OK;
    for (size_t i = 0; i < n && status == SR_OK; i++) status = set_kafka_from_env(cfg, found[i], err);
    free(found);
    return status;
}

sr_status sr_config_load_env(sr_config *cfg, char **envp, sr_error *err) {
    for (size_t i = 0; i < cfg->count; i++) {
        char *name = env_name_of(cfg->defs[i].key);
        if (!name) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
        const char *value = env_lookup(envp, name);
        sr_status status = SR_OK;
        if (value) {
            char *source;
            if (asprintf(&source, "env %s", name) < 0) {
                status = sr_fail(err, SR_ERR_NOMEM, "out of memory");
            } else {
                status = sr_config_set(cfg, cfg->defs[i].key, value, source, err);
                free(source);
            }
        }
        free(name);
        if (status != SR_OK) return status;
    }
    return load_kafka_env(cfg, envp, err);
}

/* ---- the command line ----------------------------------------------------- */

/* One assignment from a flag, applied after the file and the environment. */
typedef struct flag_setting {
    char *key;
    const char *value; /* into argv */
    char *source;
} flag_setting;

typedef struct command_line {
    const char *config_path;
    bool print, help;
    flag_setting *settings; /* room for one per argument */
    size_t count;
} command_line;

static const char *const builtin_options[] = {"--config", "--set", "--print-config", "--help", NULL};

/* Adds key = value from source; takes key and source over (both freed on failure). */
static sr_status add_setting(command_line *line, char *key, const char *value, char *source,
                             sr_error *err) {
    if (!key || !source) {
        free(key);
        free(source);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    }
    line->settings[line->count++] = (flag_setting){key, value, source};
    return SR_OK;
}

/* "KEY=VALUE" of --set or -X (with prefix "kafka."). */
static sr_status add_assignment(command_line *line, const char *option, const char *prefix,
                                const char *assignment, sr_error *err) {
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return sr_fail(err, SR_ERR_CONFIG, "%s needs KEY=VALUE, not '%s'", option, assignment);
    char *key, *source;
    if (asprintf(&key, "%s%.*s", prefix, (int)(eq - assignment), assignment) < 0) key = NULL;
    if (asprintf(&source, "flag %s", option) < 0) source = NULL;
    return add_setting(line, key, eq + 1, source, err);
}

static sr_status unknown_option(const sr_config *cfg, const char *option, sr_error *err) {
    config_suggestion suggestion;
    config_suggestion_init(&suggestion, option);
    for (size_t i = 0; builtin_options[i]; i++)
        config_suggestion_consider(&suggestion, builtin_options[i]);
    for (size_t i = 0; i < cfg->count; i++) {
        char flag[128];
        if (snprintf(flag, sizeof flag, "--%s", cfg->defs[i].key) >= (int)sizeof flag) continue;
        for (char *c = flag + 2; *c; c++)
            if (*c == '.') *c = '-';
        config_suggestion_consider(&suggestion, flag);
    }
    char hint[160], shown[64];
    config_suggestion_text(&suggestion, "", hint, sizeof hint);
    config_value_for_message(option, false, shown, sizeof shown);
    return sr_fail(err, SR_ERR_CONFIG, "unknown option '%s'%s", shown,
                   suggestion.found ? hint : "; see --help");
}

/* The defined option --name names, or -1. */
static int option_of_flag(const sr_config *cfg, const char *name, size_t length) {
    for (size_t i = 0; i < cfg->count; i++) {
        const char *key = cfg->defs[i].key;
        if (strlen(key) != length) continue;
        size_t j = 0;
        while (j < length && (key[j] == '.' ? name[j] == '-' : name[j] == key[j])) j++;
        if (j == length) return (int)i;
    }
    return -1;
}

static bool name_is(const char *name, size_t length, const char *builtin) {
    return strlen(builtin) == length && strncmp(name, builtin, length) == 0;
}

/* One "--name[=value]" argument at argv[*i]; may take argv[*i + 1] as its value. */
static sr_status parse_long_option(const sr_config *cfg, command_line *line, int argc, char **argv,
                                   int *i, sr_error *err) {
    const char *arg = argv[*i], *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t length = eq ? (size_t)(eq - name) : strlen(name);
    bool help = name_is(name, length, "help"), print = name_is(name, length, "print-config");
    bool config = name_is(name, length, "config"), set = name_is(name, length, "set");
    int option = option_of_flag(cfg, name, length);
    if (option < 0 && !help && !print && !config && !set) {
        char *flag = strndup(arg, (size_t)(name + length - arg));
        if (!flag) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
        sr_status status = unknown_option(cfg, flag, err);
        free(flag);
        return status;
    }
    if (help || print) {
        if (eq) return sr_fail(err, SR_ERR_CONFIG, "option '--%.*s' takes no value", (int)length, name);
        line->help |= help;
        line->print |= print;
        return SR_OK;
    }
    const char *value = eq ? eq + 1 : NULL, *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!value && option >= 0 && cfg->defs[option].type == SR_OPT_BOOL) {
        value = "true"; /* "--flag" alone, or followed by another option */
        if (next && next[0] != '-') value = argv[++*i];
    } else if (!value) {
        if (!next) return sr_fail(err, SR_ERR_CONFIG, "option '%s' needs a value", arg);
        value = argv[++*i];
    }
    if (set) return add_assignment(line, "--set", "", value, err);
    if (config) {
        if (line->config_path)
            return sr_fail(err, SR_ERR_CONFIG, "--config given twice ('%s', '%s')",
                           line->config_path, value);
        line->config_path = value;
        return SR_OK;
    }
    char *source;
    if (asprintf(&source, "flag --%.*s", (int)length, name) < 0) source = NULL;
    return add_setting(line, strdup(cfg->defs[option].key), value, source, err);
}

/* Collects argv into line without applying anything. */
static sr_status read_command_line(const sr_config *cfg, int argc, char **argv,
                                   command_line *line, sr_error *err) {
    for (int i = 1; i < argc && !line->help; i++) {
        const char *arg = argv[i];
        sr_status status = SR_OK;
        if (strcmp(arg, "-h") == 0) {
            line->help = true;
        } else if (strcmp(arg, "--") == 0) {
            if (i + 1 < argc)
                return sr_fail(err, SR_ERR_CONFIG, "unexpected argument '%s'", argv[i + 1]);
        } else if (strncmp(arg, "-X", 2) == 0) {
            const char *assignment = arg[2] ? arg + 2 : i + 1 < argc ? argv[++i] : NULL;
            if (!assignment) return sr_fail(err, SR_ERR_CONFIG, "option '-X' needs PROP=VALUE");
            status = add_assignment(line, "-X", CONFIG_KAFKA_PREFIX, assignment, err);
        } else if (strncmp(arg, "--", 2) == 0) {
            status = parse_long_option(cfg, line, argc, argv, &i, err);
        } else if (arg[0] == '-' && arg[1]) {
            status = unknown_option(cfg, arg, err);
        } else {
            status = sr_fail(err, SR_ERR_CONFIG, "unexpected argument '%s'", arg);
        }
        if (status != SR_OK) return status;
    }
    return SR_OK;
}

static void free_command_line(command_line *line) {
    for (size_t i = 0; i < line->count; i++) {
        free(line->settings[i].key);
        free(line->settings[i].source);
    }
    free(line->settings);
}

sr_status sr_config_parse_args(sr_config *cfg, int argc, char **argv, char **envp,
                               sr_config_action *action, sr_error *err) {
    if (!cfg || !action || argc < 0 || (argc > 0 && !argv))
        return sr_fail(err, SR_ERR_INVALID_ARG, "sr_config_parse_args needs cfg, argv and action");
    command_line line = {0};
    line.settings = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *line.settings);
    if (!line.settings) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    sr_status status = read_command_line(cfg, argc, argv, &line, err);
    if (status == SR_OK && line.help) {
        *action = SR_CONFIG_HELP;
        free_command_line(&line);
        return SR_OK;
    }
    if (status == SR_OK && line.config_path) status = sr_config_load_file(cfg, line.config_path, err);
    if (status == SR_OK) status = sr_config_load_env(cfg, envp, err);
    for (size_t i = 0; i < line.count && status == SR_OK; i++)
        status = sr_config_set(cfg, line.settings[i].key, line.settings[i].value,
                               line.settings[i].source, err);
    if (status == SR_OK) *action = line.print ? SR_CONFIG_PRINT : SR_CONFIG_RUN;
    free_command_line(&line);
    return status;
}
