/*
 * print.c — the effective configuration as a properties file (--print-config)
 * and the flags of an option table (--help); see sr_config.h.
 *
 * The output of sr_config_print is read back by sr_config_load_file, whose
 * format has no trailing comments (a '#' after a value is part of the value):
 * so a value's source goes on a comment line above it, and anything that
 * cannot be written as one `key=value` line is commented out.
 */
#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

/* Writes text with control characters as '?', so that it stays on one line. */
static void put_clean(const char *text, FILE *out) {
    for (const char *c = text; *c; c++) fputc(iscntrl((unsigned char)*c) ? '?' : *c, out);
}

/* One key: the source comment (NULL for a default), then the key=value line. */
static void print_entry(const char *key, const char *value, const char *source, bool secret,
                        FILE *out) {
    if (source) {
        fputs("# ", out);
        put_clean(source, out);
        fputc('\n', out);
    }
    if (!value) {
        fprintf(out, "#%s=\n", key); /* unset: reading it back leaves it unset */
    } else if (secret && source && *value) { /* a default is in the program anyway */
        fprintf(out, "%s=%s\n", key, SR_CONFIG_MASK);
    } else if (strpbrk(value, "\r\n")) {
        fprintf(out, "#%s=(not shown: the value has a line break)\n", key);
    } else if (*value && (isspace((unsigned char)value[0]) ||
                          isspace((unsigned char)value[strlen(value) - 1]))) {
        fprintf(out, "#%s=(not shown: the value starts or ends with white space)\n", key);
    } else {
        fprintf(out, "%s=%s\n", key, value);
    }
}

void sr_config_print(const sr_config *cfg, FILE *out) {
    fputs("# The effective configuration. A comment above a value says where it came from;\n"
          "# none: the default. Secrets are shown as " SR_CONFIG_MASK ".\n", out);
    for (size_t i = 0; i < cfg->count; i++)
        print_entry(cfg->defs[i].key, cfg->values[i].text, cfg->values[i].source,
                    cfg->defs[i].secret, out);
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        const kafka_entry *e = &cfg->kafka[i];
        print_entry(e->key, e->value, e->source, sr_config_kafka_key_is_secret(e->key), out);
    }
}

/* ---- --help --------------------------------------------------------------- */

#define HELP_COLUMN 29

/* "--score-after-events N", "--dry-run[=BOOL]", "--policy keep|recompute". */
static void flag_text(const sr_option_def *def, char *out, size_t size) {
    char metavar[96] = " TEXT";
    if (def->type == SR_OPT_INT) snprintf(metavar, sizeof metavar, " N");
    if (def->type == SR_OPT_DOUBLE) snprintf(metavar, sizeof metavar, " X");
    if (def->type == SR_OPT_BOOL) snprintf(metavar, sizeof metavar, "[=BOOL]");
    if (def->type == SR_OPT_ENUM) { /* " keep|recompute", or " CHOICE" when too long */
        size_t used = 0;
        for (size_t i = 0; def->choices[i] && used < sizeof metavar; i++)
            used += (size_t)snprintf(metavar + used, sizeof metavar - used, "%s%s",
                                     i ? "|" : " ", def->choices[i]);
        if (used >= sizeof metavar) snprintf(metavar, sizeof metavar, " CHOICE");
    }
    snprintf(out, size, "--%s%s", def->key, metavar);
    for (char *c = out + 2; *c && *c != ' ' && *c != '['; c++)
        if (*c == '.') *c = '-';
}

/* "(default 3; 0..1000000)", "(secret)", "" ... */
static void default_text(const sr_option_def *def, char *out, size_t size) {
    char range[96] = "";
    if (def->type == SR_OPT_INT && (def->min != INT64_MIN || def->max != INT64_MAX)) {
        if (def->max == INT64_MAX) snprintf(range, sizeof range, "; >= %" PRId64, def->min);
        else if (def->min == INT64_MIN) snprintf(range, sizeof range, "; <= %" PRId64, def->max);
        else snprintf(range, sizeof range, "; %" PRId64 "..%" PRId64, def->min, def->max);
    } else if (def->type == SR_OPT_DOUBLE) {
        bool low = isfinite(def->dmin) && def->dmin > -DBL_MAX;
        bool high = isfinite(def->dmax) && def->dmax < DBL_MAX;
        if (low && high) snprintf(range, sizeof range, "; %g..%g", def->dmin, def->dmax);
        else if (low) snprintf(range, sizeof range, "; >= %g", def->dmin);
        else if (high) snprintf(range, sizeof range, "; <= %g", def->dmax);
    }
    const char *secret = def->secret ? "; secret" : "";
    if (def->default_value)
        snprintf(out, size, " (default %s%s%s)", def->default_value, range, secret);
    else if (range[0] || secret[0])
        snprintf(out, size, " (%s%s)", range[0] ? range + 2 : secret + 2, range[0] ? secret : "");
    else if (size) out[0] = '\0';
}

#define HELP_WIDTH 79

/* Writes n bytes of word at *column, first moving to a new line indented to
 * HELP_COLUMN if it would run past HELP_WIDTH. */
static void put_word(const char *word, size_t n, int *column, FILE *out) {
    if (*column > HELP_COLUMN && *column + 1 + (int)n > HELP_WIDTH) {
        fprintf(out, "\n%*s", HELP_COLUMN, "");
        *column = HELP_COLUMN;
    }
    *column += fprintf(out, "%s%.*s", *column > HELP_COLUMN ? " " : "", (int)n, word);
}

/* "  --flag X   help (default)" with the text from HELP_COLUMN on, wrapped at
 * HELP_WIDTH between the words of help; tail is never split; a long flag gets
 * a line of its own. */
static void print_flag(const char *flag, const char *help, const char *tail, FILE *out) {
    int column = fprintf(out, "  %s", flag);
    if (column > HELP_COLUMN - 1) column = fprintf(out, "\n") - 1;
    fprintf(out, "%*s", HELP_COLUMN - column, "");
    column = HELP_COLUMN;
    for (const char *word = help + strspn(help, " "); *word; word += strspn(word, " ")) {
        size_t n = strcspn(word, " ");
        put_word(word, n, &column, out);
        word += n;
    }
    tail += strspn(tail, " ");
    if (*tail) put_word(tail, strlen(tail), &column, out);
    fputc('\n', out);
}

void sr_config_print_help(const sr_option_def *defs, size_t count, FILE *out) {
    if (count) fputs("options:\n", out);
    for (size_t i = 0; i < count; i++) {
        char flag[160], tail[160];
        flag_text(&defs[i], flag, sizeof flag);
        default_text(&defs[i], tail, sizeof tail);
        print_flag(flag, defs[i].help ? defs[i].help : "", tail, out);
    }
    fputs("\nconfiguration:\n", out);
    print_flag("--config PATH", "read settings from a properties file", "", out);
    print_flag("--set KEY=VALUE", "set any key, kafka.* included", "", out);
    print_flag("-X PROP=VALUE", "the same as --set kafka.PROP=VALUE", "", out);
    print_flag("--print-config", "print the effective configuration and exit", "", out);
    print_flag("-h, --help", "this text", "", out);

    const sr_option_def *example = NULL; /* a dotted key if there is one */
    for (size_t i = count; i-- > 0;)
        if (!example || strchr(defs[i].key, '.')) example = &defs[i];
    const char *key = example ? example->key : "some.key";
    const char *value = example && example->default_value && !example->secret
                            ? example->default_value : "VALUE";
    char env[160], flag[160];
    snprintf(env, sizeof env, "%s%s", SR_CONFIG_ENV_PREFIX, key);
    for (char *c = env + strlen(SR_CONFIG_ENV_PREFIX); *c; c++)
        *c = *c == '.' ? '_' : (char)toupper((unsigned char)*c);
    snprintf(flag, sizeof flag, "--%s", key);
    for (char *c = flag; *c; c++)
        if (*c == '.') *c = '-';
    fprintf(out,
            "\nEvery option is a key, set in increasing precedence\n"
            "  in the --config file  %s=%s\n"
            "  in the environment    %s=%s\n"
            "  with its flag         %s %s\n"
            "Keys kafka.PROP go to librdkafka for every client, kafka.consumer.PROP and\n"
            "kafka.producer.PROP to consumers or producers only; in the environment,\n"
            "STREAMREC_KAFKA_SASL_PASSWORD sets kafka.sasl.password. A key ending in\n"
            ".file reads the value from a file at startup (one trailing newline removed):\n"
            "kafka.sasl.password.file=/var/run/secrets/kafka/password, or\n"
            "STREAMREC_KAFKA_SASL_PASSWORD_FILE; secrets are masked in --print-config. In\n"
            "the file, lines starting with '#' are comments. Unknown keys and bad values\n"
            "stop the command.\n",
            key, value, env, value, flag, value);
}
