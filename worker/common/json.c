/* json.c — JSON string escaping; see sr_json.h. */
#include "sr_json.h"

/* Length of the valid UTF-8 sequence at s (at most left bytes), 0 if none. */
static size_t utf8_sequence_length(const unsigned char *s, size_t left) {
    size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
             : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    if (n == 0 || n > left) return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    /* Overlong forms, surrogates and code points above U+10FFFF. */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return n;
}

void sr_json_write_string(FILE *out, const void *bytes, size_t len) {
    const unsigned char *s = bytes;
    fputc('"', out);
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence_length(s + i, len - i);
        if (n == 0) fputs("\\ufffd", out);
        else if (s[i] == '"' || s[i] == '\\') fprintf(out, "\\%c", s[i]);
        else if (s[i] < 0x20 || s[i] == 0x7f) fprintf(out, "\\u%04x", s[i]);
        else fwrite(s + i, 1, n, out);
        i += n ? n : 1;
    }
    fputc('"', out);
}
