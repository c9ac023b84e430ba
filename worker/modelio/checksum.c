/*
 * checksum.c — CRC-32C with ISA-L and SHA-256 with libcrypto; see checksum.h.
 *
 * ISA-L's crc32_iscsi works on the raw register: the standard CRC-32C is its
 * result inverted, started from all ones, which is what inverting on the way in
 * and out gives (and lets a caller continue a CRC). It takes an int length, so
 * long buffers go in slices of 1 GiB.
 */
#include "modelio/checksum.h"

#include <isa-l/crc.h>
#include <openssl/evp.h>

#define CRC_SLICE ((size_t)1 << 30)

uint32_t modelio_crc32c(uint32_t crc, const void *bytes, size_t len) {
    /* crc32_iscsi does not write through its pointer; it is only not declared const. */
    unsigned char *p = (unsigned char *)(uintptr_t)bytes;
    unsigned int state = ~crc;
    while (len > 0) {
        size_t n = len < CRC_SLICE ? len : CRC_SLICE;
        state = crc32_iscsi(p, (int)n, state);
        p += n;
        len -= n;
    }
    return ~state;
}

sr_status modelio_sha256(const void *bytes, size_t len, uint8_t digest[MODELIO_SHA256_BYTES],
                         sr_error *err) {
    unsigned int size = 0;
    if (EVP_Digest(bytes, len, digest, &size, EVP_sha256(), NULL) != 1 || size != MODELIO_SHA256_BYTES)
        return sr_fail(err, SR_ERR_NOMEM, "computing SHA-256 failed (libcrypto)");
    return SR_OK;
}

void modelio_hex(const uint8_t digest[MODELIO_SHA256_BYTES], char text[2 * MODELIO_SHA256_BYTES + 1]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < MODELIO_SHA256_BYTES; i++) {
        text[2 * i] = digits[digest[i] >> 4];
        text[2 * i + 1] = digits[digest[i] & 15];
    }
    text[2 * MODELIO_SHA256_BYTES] = '\0';
}
