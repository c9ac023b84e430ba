/*
 * produce_records.c — writes hand-made records, good and bad, to a topic, for
 * the integration tests of the worker's dead-letter path.
 *
 *   produce_records --topic T [--partition P] < SPEC     (no P: partitioned by key)
 *
 * SPEC has one record per line (blank lines and '#' comments skipped):
 *
 *   VALUE KEY [NAME[=TEXT]]...
 *
 *   VALUE  null                     no value (a tombstone)
 *          empty                    a value of zero bytes
 *          hex:0001ab...            these bytes
 *          KIND:USER:ITEM           a UserEvent of USER and ITEM in the Schema
 *                                   Registry framing (0x00, schema id 1), made
 *                                   KIND: good, truncated (cut inside the last
 *                                   field), bad-magic (first byte 1),
 *                                   unknown-schema (id 99), bad-union (session
 *                                   branch 2), bad-enum (event type 7),
 *                                   trailing (one byte more), long-session
 *                                   (257-byte session id), nan-value (value
 *                                   NaN), bad-varint (user id as 11 bytes of
 *                                   varint), bad-length (session length -1)
 *   KEY    the key's text, or '-' for no key
 *   NAME=TEXT  a header; NAME alone is a header with no value; names may repeat
 *
 * The Avro bytes are written here by hand (zig-zag varints, little-endian
 * doubles), not with streamrec's encoder: the test must not trust the code it
 * tests. Good events have session "s<USER>", value 1.5, type CLICK and the
 * current time plus the line's index as event time.
 *
 * Produces with an idempotent producer, waits for every delivery and prints
 * "PARTITION OFFSET" per record in SPEC order. Exits 0 when all were
 * delivered, 1 when any failed, 2 on a usage or SPEC error. The bootstrap
 * address comes from STREAMREC_BOOTSTRAP.
 */
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define MAX_RECORDS 1000
#define MAX_BYTES 4096

typedef struct record {
    unsigned char value[MAX_BYTES];
    long value_len;           /* -1: no value */
    char *key;                /* NULL: no key */
    rd_kafka_headers_t *headers;
    int32_t partition;        /* from the delivery report */
    int64_t offset;
    int delivered;            /* 1 delivered, -1 failed */
} record;

static record records[MAX_RECORDS];

/* ---- hand-written Avro ---- */

typedef struct bytes {
    unsigned char *data;
    size_t len;
} bytes;

static void put_byte(bytes *b, unsigned char c) {
    if (b->len < MAX_BYTES) b->data[b->len] = c;
    b->len++;
}

static void put_long(bytes *b, int64_t v) {
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    do {
        unsigned char c = z & 0x7f;
        z >>= 7;
        put_byte(b, z ? c | 0x80 : c);
    } while (z);
}

static void put_string(bytes *b, const char *s, size_t len) {
    put_long(b, (int64_t)len);
    for (size_t i = 0; i < len; i++) put_byte(b, (unsigned char)s[i]);
}

static void put_double(bytes *b, double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    for (int i = 0; i < 8; i++) put_byte(b, (unsigned char)(u >> (8 * i)));
}

static const char *const kinds[] = {"good", "truncated", "bad-magic", "unknown-schema", "bad-union",
                                    "bad-enum", "trailing", "long-session", "nan-value", "bad-varint",
                                    "bad-length", NULL};

static int is(const char *kind, const char *name) { return strcmp(kind, name) == 0; }

/* Writes a UserEvent of kind into b; -1 for an unknown kind. */
static int encode_event(const char *kind, int64_t user, int64_t item, int64_t time_ms, bytes *b) {
    int known = 0;
    for (int i = 0; kinds[i]; i++) known |= is(kind, kinds[i]);
    if (!known) return -1;
    int32_t schema_id = is(kind, "unknown-schema") ? 99 : 1;
    put_byte(b, is(kind, "bad-magic") ? 1 : 0);
    for (int shift = 24; shift >= 0; shift -= 8) put_byte(b, (unsigned char)(schema_id >> shift));
    if (is(kind, "bad-varint"))
        for (int i = 0; i < 11; i++) put_byte(b, 0xff);
    else
        put_long(b, user);
    put_long(b, item);
    put_long(b, is(kind, "bad-enum") ? 7 : 1); /* 1: CLICK */
    put_long(b, time_ms);
    char session[300];
    int session_len = snprintf(session, sizeof session, "s%lld", (long long)user);
    if (is(kind, "long-session")) {
        memset(session, 'x', 257);
        session_len = 257;
    }
    put_long(b, is(kind, "bad-union") ? 2 : 1);        /* ["null", "string"] */
    if (is(kind, "bad-length")) put_long(b, -1);
    else put_string(b, session, (size_t)session_len);
    put_long(b, 1);                                    /* ["null", "double"] */
    put_double(b, is(kind, "nan-value") ? NAN : 1.5);
    if (is(kind, "truncated")) b->len -= 3;           /* inside the double */
    if (is(kind, "trailing")) put_byte(b, 0);
    return b->len <= MAX_BYTES ? 0 : -1;
}

/* ---- the SPEC ---- */

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int64_t now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Parses one SPEC line into r; returns 0, or -1 after printing why. */
static int parse_line(char *line, int line_number, int64_t time_ms, record *r) {
    char *save, *value = strtok_r(line, " \t\r\n", &save), *key = strtok_r(NULL, " \t\r\n", &save);
    if (!value || !key) {
        fprintf(stderr, "produce_records: line %d: want VALUE KEY [HEADER]...\n", line_number);
        return -1;
    }
    bytes b = {r->value, 0};
    if (strcmp(value, "null") == 0) {
        r->value_len = -1;
    } else if (strcmp(value, "empty") == 0) {
        r->value_len = 0;
    } else if (strncmp(value, "hex:", 4) == 0) {
        const char *h = value + 4;
        size_t n = strlen(h);
        if (n % 2 || n / 2 > MAX_BYTES) goto bad_value;
        for (size_t i = 0; i < n; i += 2) {
            int hi = hex_digit(h[i]), lo = hex_digit(h[i + 1]);
            if (hi < 0 || lo < 0) goto bad_value;
            put_byte(&b, (unsigned char)(hi << 4 | lo));
        }
        r->value_len = (long)b.len;
    } else {
        char kind[32];
        long long user, item;
        if (sscanf(value, "%31[a-z-]:%lld:%lld", kind, &user, &item) != 3 ||
            encode_event(kind, user, item, time_ms, &b) != 0)
            goto bad_value;
        r->value_len = (long)b.len;
    }
    r->key = strcmp(key, "-") == 0 ? NULL : strdup(key);
    for (char *h; (h = strtok_r(NULL, " \t\r\n", &save));) {
        if (!r->headers) r->headers = rd_kafka_headers_new(4);
        char *eq = strchr(h, '=');
        if (eq) *eq = '\0';
        rd_kafka_header_add(r->headers, h, -1, eq ? eq + 1 : NULL, eq ? -1 : 0);
    }
    return 0;
bad_value:
    fprintf(stderr, "produce_records: line %d: bad VALUE '%s'\n", line_number, value);
    return -1;
}

/* ---- Kafka ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    (void)opaque;
    record *r = msg->_private;
    if (msg->err) {
        fprintf(stderr, "produce_records: delivery failed: %s\n", rd_kafka_err2str(msg->err));
        r->delivered = -1;
        return;
    }
    r->delivered = 1;
    r->partition = msg->partition;
    r->offset = msg->offset;
}

static rd_kafka_t *open_producer(const char *bootstrap) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "message.timeout.ms", "30000", errstr, sizeof errstr)) {
        fprintf(stderr, "produce_records: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) fprintf(stderr, "produce_records: %s\n", errstr);
    return rk;
}

int main(int argc, char **argv) {
    const char *topic = NULL, *bootstrap = getenv("STREAMREC_BOOTSTRAP");
    int32_t partition = RD_KAFKA_PARTITION_UA;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--topic") == 0) topic = argv[i + 1];
        else if (strcmp(argv[i], "--partition") == 0) partition = (int32_t)atoi(argv[i + 1]);
    }
    if (!topic || !bootstrap || argc % 2 == 0) {
        fprintf(stderr, "usage: STREAMREC_BOOTSTRAP=... produce_records --topic T [--partition P] < SPEC\n");
        return 2;
    }
    int count = 0, line_number = 0;
    int64_t time_ms = now_ms();
    char line[MAX_BYTES * 2 + 512];
    while (fgets(line, sizeof line, stdin)) {
        line_number++;
        char *start = line + strspn(line, " \t\r\n");
        if (*start == '\0' || *start == '#') continue;
        if (count == MAX_RECORDS) {
            fprintf(stderr, "produce_records: more than %d records\n", MAX_RECORDS);
            return 2;
        }
        if (parse_line(start, line_number, time_ms + count, &records[count]) != 0) return 2;
        count++;
    }

    rd_kafka_t *rk = open_producer(bootstrap);
    if (!rk) return 2;
    for (int i = 0; i < count; i++) {
        record *r = &records[i];
        void *value = r->value_len < 0 ? NULL : r->value;
        size_t value_len = r->value_len < 0 ? 0 : (size_t)r->value_len;
        rd_kafka_resp_err_t rc = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_KEY(r->key, r->key ? strlen(r->key) : 0),
            RD_KAFKA_V_VALUE(value, value_len),
            RD_KAFKA_V_HEADERS(r->headers), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE(r), RD_KAFKA_V_END);
        if (rc) {
            fprintf(stderr, "produce_records: record %d: %s\n", i + 1, rd_kafka_err2str(rc));
            r->delivered = -1;
            if (r->headers) rd_kafka_headers_destroy(r->headers);
        }
        r->headers = NULL; /* librdkafka owns them now */
    }
    rd_kafka_flush(rk, 60000);
    int failed = 0;
    for (int i = 0; i < count; i++) {
        if (records[i].delivered == 1) printf("%d %lld\n", (int)records[i].partition, (long long)records[i].offset);
        else failed++;
        free(records[i].key);
    }
    rd_kafka_destroy(rk);
    if (failed) fprintf(stderr, "produce_records: %d of %d records not delivered\n", failed, count);
    return failed ? 1 : 0;
}
