/* record_key.c — the decimal user-id keys of sr_codec.h. */
#include <stdlib.h>
#include <string.h>

#include "sr_codec.h"

bool sr_key_user_id(const void *key, size_t len, int64_t *user_id) {
    char text[24];
    if (!key || len == 0 || len >= sizeof text) return false;
    memcpy(text, key, len);
    text[len] = '\0';
    int64_t id = strtoll(text, NULL, 10);
    /* strtoll accepts what the key format does not (spaces, "+", zeros):
     * the id must print back as exactly the key. */
    if (!sr_key_is_user_id(key, len, id)) return false;
    *user_id = id;
    return true;
}

/* Digits compared from the end: no formatting per record. */
bool sr_key_is_user_id(const void *key, size_t len, int64_t user_id) {
    const char *k = key;
    if (!k || len == 0 || len > 20) return false;
    uint64_t v = user_id < 0 ? 0 - (uint64_t)user_id : (uint64_t)user_id;
    size_t first = user_id < 0 ? 1 : 0;
    if (first && k[0] != '-') return false;
    size_t i = len;
    do {
        if (i == first || k[i - 1] != (char)('0' + v % 10)) return false;
        i--;
        v /= 10;
    } while (v);
    return i == first;
}
