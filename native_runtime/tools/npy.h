/* npy.h - read and write NumPy .npy files (format 1.0-3.0, little-endian, C order) for
 * esm-run and the tests. Not part of libesm. */
#ifndef ESM_NPY_H
#define ESM_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "esm.h"

typedef struct npy_array {
    esm_dtype dtype;
    int32_t ndim;
    int64_t shape[ESM_MAX_DIMS];
    void *data;    /* malloc'ed, 64-byte aligned; free with npy_free */
    size_t bytes;
} npy_array;

/* Reads `path`; on failure returns non-zero and writes a reason into `error`. */
int npy_read(const char *path, npy_array *out, char *error, size_t error_len);
/* Writes `ndim` dims of `dtype` data to `path` (via a temp file + rename). 0 on success. */
int npy_write(const char *path, esm_dtype dtype, int32_t ndim, const int64_t *shape, const void *data);
void npy_free(npy_array *a);

#endif
