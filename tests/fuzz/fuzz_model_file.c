/*
 * fuzz_model_file.c — libFuzzer target for the model file reader.
 *
 * Loads arbitrary bytes twice: as they are, and with the trailing CRC-32C
 * recomputed, so that the checks behind the checksum (ids in order, finite
 * values, and the model built from a file) are reached too. Sanitizers catch
 * any read out of bounds or oversized allocation; a file that loads is written
 * again and must give the same bytes, or the target traps.
 */
#include <stdlib.h>
#include <string.h>

#include "modelio/checksum.h"
#include "sr_model_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load_and_rewrite(const uint8_t *bytes, size_t len) {
    sr_model *model = NULL;
    sr_model_meta meta;
    sr_error err;
    if (sr_model_load_buffer(bytes, len, &model, &meta, &err) != SR_OK) {
        if (model || err.message[0] == '\0') abort();  /* a failure leaves no model and says why */
        return;
    }
    sr_model_file_info info;
    if (sr_model_file_inspect(bytes, len, &info, &err) != SR_OK) abort();
    sr_buffer again = {0};
    if (sr_model_file_encode(model, &meta, &again, &err) != SR_OK) abort();
    if (again.len != len || memcmp(again.data, bytes, len) != 0) abort();
    sr_buffer_free(&again);
    sr_model_free(model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load_and_rewrite(data, size);
    if (size < 4) return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed) return 0;
    memcpy(fixed, data, size);
    uint32_t crc = modelio_crc32c(0, fixed, size - 4);
    for (int i = 0; i < 4; i++) fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    load_and_rewrite(fixed, size);
    free(fixed);
    return 0;
}
