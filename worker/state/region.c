/* region.c — the growable zero-filled blocks of region.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "state/region.h"

#if defined(__SANITIZE_ADDRESS__)
#define REGION_USE_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REGION_USE_MALLOC 1
#endif
#endif

#ifdef REGION_USE_MALLOC

sr_status sr_region_reserve(sr_region *region, size_t bytes, sr_error *err) {
    if (bytes <= region->bytes) return SR_OK;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded);
    if (!p) return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu bytes", bytes);
    if (region->base) memcpy(p, region->base, region->bytes);
    memset((char *)p + region->bytes, 0, rounded - region->bytes);
    free(region->base);
    region->base = p;
    region->bytes = rounded;
    return SR_OK;
}

void sr_region_free(sr_region *region) {
    free(region->base);
    region->base = NULL;
    region->bytes = 0;
}

#else

static size_t page_round(size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (bytes + page - 1) / page * page;
}

sr_status sr_region_reserve(sr_region *region, size_t bytes, sr_error *err) {
    if (bytes <= region->bytes) return SR_OK;
    size_t rounded = page_round(bytes);
    void *p = region->base
                  ? mremap(region->base, region->bytes, rounded, MREMAP_MAYMOVE)
                  : mmap(NULL, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return sr_fail(err, SR_ERR_NOMEM, "out of memory for %zu bytes", bytes);
    region->base = p;
    region->bytes = rounded;
    return SR_OK;
}

void sr_region_free(sr_region *region) {
    if (region->base) munmap(region->base, region->bytes);
    region->base = NULL;
    region->bytes = 0;
}

#endif
