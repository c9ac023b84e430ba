/*
 * checksum.h — the two checksums of model files and their publication
 * (modelio-internal): CRC-32C (Castagnoli, as in iSCSI, ext4 and Kafka's record
 * batches) against corruption, computed by Intel ISA-L; SHA-256 against a file
 * being taken for another, computed by OpenSSL's libcrypto.
 *
 *     uint32_t crc = modelio_crc32c(0, bytes, n);        // whole buffer
 *     crc = modelio_crc32c(crc, more, m);                // continued
 *     uint8_t digest[32];
 *     if (modelio_sha256(bytes, n, digest, &err) != SR_OK) ...
 */
#ifndef SR_MODELIO_CHECKSUM_H
#define SR_MODELIO_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"

#define MODELIO_SHA256_BYTES 32

/* CRC-32C of bytes, continuing from crc (0 to start): standard values, e.g.
 * CRC-32C("123456789") = 0xe3069283. Any length. Cannot fail. */
uint32_t modelio_crc32c(uint32_t crc, const void *bytes, size_t len);

/* SHA-256 of bytes. Fails (SR_ERR_NOMEM) only if libcrypto cannot allocate. */
sr_status modelio_sha256(const void *bytes, size_t len, uint8_t digest[MODELIO_SHA256_BYTES],
                         sr_error *err);

/* 64 lowercase hex digits and a NUL into text. */
void modelio_hex(const uint8_t digest[MODELIO_SHA256_BYTES], char text[2 * MODELIO_SHA256_BYTES + 1]);

#endif
