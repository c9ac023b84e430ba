/* cli.c — option values; see sr_cli.h. */
#include "sr_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sr_cli_u64(const char *command, const char *flag, const char *text, uint64_t min, uint64_t max,
               uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end || errno == ERANGE || value < min || value > max) {
        if (max == UINT64_MAX)
            fprintf(stderr, "streamrec %s: %s needs an integer >= %llu, not '%s'\n", command, flag,
                    (unsigned long long)min, text);
        else
            fprintf(stderr, "streamrec %s: %s needs an integer in %llu..%llu, not '%s'\n", command,
                    flag, (unsigned long long)min, (unsigned long long)max, text);
        return 0;
    }
    *out = value;
    return 1;
}

int sr_cli_u32(const char *command, const char *flag, const char *text, uint32_t min,
               uint32_t *out) {
    uint64_t value;
    if (!sr_cli_u64(command, flag, text, min, UINT32_MAX, &value)) return 0;
    *out = (uint32_t)value;
    return 1;
}

int sr_cli_i64(const char *command, const char *flag, const char *text, int64_t *out) {
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (!*text || *end || errno == ERANGE) {
        fprintf(stderr, "streamrec %s: %s needs an integer, not '%s'\n", command, flag, text);
        return 0;
    }
    *out = value;
    return 1;
}

int sr_cli_double(const char *command, const char *flag, const char *text, double min, double max,
                  double *out) {
    char *end;
    double value = strtod(text, &end);
    if (!*text || *end || !(value >= min && value <= max)) {
        fprintf(stderr, "streamrec %s: %s needs a number in [%g, %g], not '%s'\n", command, flag,
                min, max, text);
        return 0;
    }
    *out = value;
    return 1;
}

int sr_cli_choice(const char *command, const char *flag, const char *text,
                  const char *const *names, int count, int *out) {
    for (int i = 0; i < count; i++)
        if (strcmp(text, names[i]) == 0) return sr_cli_named(command, flag, i, text, out);
    return sr_cli_named(command, flag, -1, text, out);
}

int sr_cli_named(const char *command, const char *flag, int value, const char *text, int *out) {
    if (value < 0) {
        fprintf(stderr, "streamrec %s: %s does not know '%s'; see --help\n", command, flag, text);
        return 0;
    }
    *out = value;
    return 1;
}
