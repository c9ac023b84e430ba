/*
 * schema_map.c — registering writer schemas listed in a map file.
 *
 * The file has one "<id> <path>" per line; blank lines and lines starting with
 * '#' are ignored; a relative path is taken from the map file's folder. Lines
 * are registered in order and the first failure stops the load, naming the map
 * file and line; schemas of earlier lines stay registered.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_codec.h"

/* A schema file larger than this is not a schema. */
#define SCHEMA_FILE_MAX (1 << 20)

static sr_status read_file(const char *path, char **out, sr_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return sr_fail(err, SR_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    char *text = malloc(SCHEMA_FILE_MAX + 1);
    if (!text) {
        fclose(f);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory reading %s", path);
    }
    size_t n = fread(text, 1, SCHEMA_FILE_MAX + 1, f);
    int failed = ferror(f);
    fclose(f);
    sr_status s = SR_OK;
    if (failed) s = sr_fail(err, SR_ERR_IO, "cannot read %s", path);
    else if (n > SCHEMA_FILE_MAX) s = sr_fail(err, SR_ERR_LIMIT, "%s is larger than %d bytes", path, SCHEMA_FILE_MAX);
    if (s != SR_OK) {
        free(text);
        return s;
    }
    text[n] = '\0';
    *out = text;
    return SR_OK;
}

/* Splits "<id> <path>" (surrounding blanks allowed); 0 if the line is not that. */
static int parse_line(char *line, int32_t *id, char **path) {
    char *end;
    errno = 0;
    long v = strtol(line, &end, 10);
    if (end == line || errno || v < 0 || v > INT32_MAX || (*end != ' ' && *end != '\t')) return 0;
    *path = end + strspn(end, " \t");
    size_t len = strcspn(*path, " \t\r\n");
    if (len == 0 || (*path)[len + strspn(*path + len, " \t\r\n")] != '\0') return 0;
    (*path)[len] = '\0';
    *id = (int32_t)v;
    return 1;
}

static sr_status register_file(sr_codec *codec, const char *dir, int32_t id, const char *path,
                               sr_error *err) {
    char full[PATH_MAX];
    int n = path[0] == '/' ? snprintf(full, sizeof full, "%s", path)
                           : snprintf(full, sizeof full, "%s/%s", dir, path);
    if (n < 0 || (size_t)n >= sizeof full) return sr_fail(err, SR_ERR_LIMIT, "path %s is too long", path);
    char *json = NULL;
    sr_status s = read_file(full, &json, err);
    if (s != SR_OK) return s;
    s = sr_codec_register_schema(codec, id, json, err);
    free(json);
    return s;
}

/* The folder part of path ("." when it has none), in dir of size cap. */
static void folder_of(const char *path, char *dir, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, cap, ".");
    else if (slash == path) snprintf(dir, cap, "/");
    else snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

static sr_status load_lines(sr_codec *codec, FILE *f, const char *map_path, sr_error *err) {
    char dir[PATH_MAX], line[PATH_MAX + 64];
    folder_of(map_path, dir, sizeof dir);
    for (int number = 1; fgets(line, sizeof line, f); number++) {
        char *text = line + strspn(line, " \t");
        if (*text == '#' || strspn(text, "\r\n") == strlen(text)) continue;
        int32_t id;
        char *path;
        if (!parse_line(text, &id, &path))
            return sr_fail(err, SR_ERR_PARSE, "%s:%d: expected \"<id> <path>\"", map_path, number);
        sr_status s = register_file(codec, dir, id, path, err);
        if (s != SR_OK) return sr_error_wrap(err, s, "%s:%d", map_path, number);
    }
    return ferror(f) ? sr_fail(err, SR_ERR_IO, "cannot read %s", map_path) : SR_OK;
}

sr_status sr_codec_load_schema_map(sr_codec *codec, const char *map_path, sr_error *err) {
    if (!codec || !map_path) return sr_fail(err, SR_ERR_INVALID_ARG, "no codec or no map path");
    FILE *f = fopen(map_path, "r");
    if (!f) return sr_fail(err, SR_ERR_IO, "cannot open schema map %s: %s", map_path, strerror(errno));
    sr_status s = load_lines(codec, f, map_path, err);
    fclose(f);
    return s;
}
