/*
 * fuzz_decode_event.c — libFuzzer target for the UserEvent decoder.
 *
 * Decodes arbitrary bytes in both wire formats with a codec that also knows a
 * v2 writer schema (id 2: reordered fields, optional page/device, an array, a
 * map, a recursive record) so the skipper is exercised. Sanitizers catch any
 * read out of bounds; on a successful decode the event is re-encoded and
 * decoded again, and any difference traps.
 */
#include <stdlib.h>
#include <string.h>

#include "sr_codec.h"

static const char schema_v2[] =
    "{\"type\":\"record\",\"name\":\"UserEvent\",\"fields\":["
    "{\"name\":\"event_time\",\"type\":\"long\"},"
    "{\"name\":\"page\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"event_type\",\"type\":{\"type\":\"enum\",\"name\":\"EventType\","
    "\"symbols\":[\"CLICK\",\"VIEW\",\"SHARE\",\"PURCHASE\",\"ADD_TO_CART\"]}},"
    "{\"name\":\"device\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Device\",\"fields\":["
    "{\"name\":\"os\",\"type\":\"string\"},{\"name\":\"model\",\"type\":\"string\"}]}],\"default\":null},"
    "{\"name\":\"user_id\",\"type\":\"int\"},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"},\"default\":[]},"
    "{\"name\":\"value\",\"type\":[\"null\",\"float\",\"long\"],\"default\":null},"
    "{\"name\":\"item_id\",\"type\":[\"null\",\"long\"]},"
    "{\"name\":\"extras\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"fixed\",\"name\":\"H\",\"size\":2}}},"
    "{\"name\":\"chain\",\"type\":{\"type\":\"record\",\"name\":\"Node\",\"fields\":["
    "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]},{\"name\":\"on\",\"type\":\"boolean\"}]}},"
    "{\"name\":\"session_id\",\"type\":[\"null\",\"bytes\",\"string\"],\"default\":null}]}";

static sr_codec *codec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const sr_user_event *ev) {
    static sr_buffer buf;
    sr_error err;
    sr_user_event back;
    sr_buffer_reset(&buf);
    if (sr_encode_event(ev, SR_WIRE_REGISTRY, &buf, &err) != SR_OK) __builtin_trap();
    if (sr_codec_decode_event(codec, SR_WIRE_REGISTRY, buf.data, buf.len, &back, &err) != SR_OK) __builtin_trap();
    if (back.user_id != ev->user_id || back.item_id != ev->item_id || back.event_type != ev->event_type ||
        back.event_time_ms != ev->event_time_ms || back.has_session_id != ev->has_session_id ||
        back.has_value != ev->has_value)
        __builtin_trap();
    if (ev->has_session_id && (back.session_id_len != ev->session_id_len ||
                               memcmp(back.session_id, ev->session_id, ev->session_id_len) != 0))
        __builtin_trap();
    if (ev->has_value && memcmp(&back.value, &ev->value, sizeof ev->value) != 0) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!codec) {
        sr_error err;
        if (sr_codec_new(&codec, &err) != SR_OK ||
            sr_codec_register_schema(codec, 2, schema_v2, &err) != SR_OK)
            abort();
    }
    /* An exact-size copy, so that a read past the end is a heap overflow. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    const sr_wire_format wires[] = {SR_WIRE_PLAIN, SR_WIRE_REGISTRY};
    for (int i = 0; i < 2; i++) {
        sr_user_event ev;
        sr_error err;
        sr_status s = sr_codec_decode_event(codec, wires[i], copy, size, &ev, &err);
        if (s == SR_OK) check_round_trip(&ev);
        else if (s != err.status || err.message[0] == '\0') __builtin_trap();
    }
    free(copy);
    return 0;
}
