/*
 * sr_cli.h — parsing one command-line option value, the same way in every
 * subcommand. Each helper returns 1 and sets *out on success; on a bad value
 * it prints "streamrec <command>: <flag> ..., not '<text>'" on stderr and
 * returns 0, so that a parser reads `if (!sr_cli_u64(...)) return SR_EXIT_USAGE;`.
 */
#ifndef SR_CLI_H
#define SR_CLI_H

#include <stdint.h>

/* An unsigned decimal integer in [min, max]. */
int sr_cli_u64(const char *command, const char *flag, const char *text, uint64_t min, uint64_t max,
               uint64_t *out);
int sr_cli_u32(const char *command, const char *flag, const char *text, uint32_t min,
               uint32_t *out);

/* A signed decimal integer (any int64). */
int sr_cli_i64(const char *command, const char *flag, const char *text, int64_t *out);

/* A number in [min, max] (NaN never is). */
int sr_cli_double(const char *command, const char *flag, const char *text, double min, double max,
                  double *out);

/* One of names[0..count): *out is its index. */
int sr_cli_choice(const char *command, const char *flag, const char *text,
                  const char *const *names, int count, int *out);

/* A value already parsed by one of the project's *_parse functions, which
 * return -1 for a name they do not know. */
int sr_cli_named(const char *command, const char *flag, int value, const char *text, int *out);

#endif
