/* registry.c - the kernel table, sorted by op name (ESM_KERNELS), and its lookup. */
#include <string.h>

#include "kernels.h"

#define ESM_KERNEL_ENTRY(name) &esm_k_##name,
static const esm_kernel *const TABLE[] = {ESM_KERNELS(ESM_KERNEL_ENTRY)};
#undef ESM_KERNEL_ENTRY

#define COUNT ((int32_t)(sizeof TABLE / sizeof TABLE[0]))

const esm_kernel *esm_find_kernel(const char *name)
{
    int32_t lo = 0, hi = COUNT - 1;
    if (!name) return NULL;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(name, TABLE[mid]->name);
        if (cmp == 0) return TABLE[mid];
        if (cmp < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

int32_t esm_kernel_count(void) { return COUNT; }

const esm_kernel *esm_kernel_at(int32_t index)
{
    return index >= 0 && index < COUNT ? TABLE[index] : NULL;
}
