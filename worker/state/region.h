/*
 * region.h — a growable block of zero-filled memory for the state store's big
 * arrays: anonymous mmap grown with mremap, so that growing a 256 MB array
 * copies nothing, needs no second copy alive at once, is page aligned (so
 * 32-byte aligned rows stay aligned), and freeing it returns it to the system
 * at once (malloc would keep sub-32 MB blocks in its heap). Memory is resident
 * only once touched.
 *
 * Under AddressSanitizer the block comes from malloc instead, sized exactly,
 * so that ASan sees its bounds.
 */
#ifndef SR_STATE_REGION_H
#define SR_STATE_REGION_H

#include <stddef.h>

#include "sr_error.h"

typedef struct sr_region {
    void *base;    /* NULL when empty */
    size_t bytes;  /* as allocated (mmap: whole pages) */
} sr_region;

/* Makes the region hold at least bytes, keeping its contents; new bytes read
 * as zero. A region already large enough is left alone. On SR_ERR_NOMEM the
 * region is unchanged. */
sr_status sr_region_reserve(sr_region *region, size_t bytes, sr_error *err);

void sr_region_free(sr_region *region);

#endif
