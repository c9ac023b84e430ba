/*
 * sr_json.h — writing JSON strings: the one place that escapes text for the
 * JSON lines streamrec prints (tail's records, summaries with file paths).
 *
 *     fputs("{\"model\":", stdout);
 *     sr_json_write_string(stdout, path, strlen(path));
 *     fputs("}\n", stdout);
 */
#ifndef SR_JSON_H
#define SR_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Writes the bytes as a quoted JSON string. Valid UTF-8 passes through;
 * quotes, backslash and control characters are escaped; a byte that is not
 * part of valid UTF-8 becomes \ufffd (one per byte), as decoders do, so the
 * output is always valid JSON. */
void sr_json_write_string(FILE *out, const void *bytes, size_t len);

#endif
