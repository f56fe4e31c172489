/* ops.c - esm_supported_ops: the kernel table plus the structural prim:: ops. */
#include "esm.h"
#include "kernel_api.h"
#include "prim.h"

int32_t esm_supported_ops(const char **names, int32_t capacity) {
    int32_t kernels = esm_kernel_count(), total = kernels + ESM_PRIM_COUNT;
    for (int32_t i = 0; names && i < capacity && i < total; i++)
        names[i] = i < kernels ? esm_kernel_at(i)->name : esm_prim_name(i - kernels);
    return total;
}
