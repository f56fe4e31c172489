/* esm.h - the eagerscript C runtime (libesm). Public API; see the lead-in of each section.
 * (Skeleton of the public types shared by the core and the kernels; the runtime helper
 * completes this header as the manual: load -> session -> prepare -> run.) */
#ifndef ESM_H
#define ESM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every call returns a status; esm_status_str() names it. */
typedef enum esm_status {
    ESM_OK = 0,
    ESM_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, an index out of range, a bad option */
    ESM_ERR_INVALID_MODEL = 2,    /* the file failed verification */
    ESM_ERR_UNSUPPORTED = 3,      /* an op, dtype or attribute this runtime does not implement */
    ESM_ERR_SHAPE = 4,            /* input shapes that the model cannot take */
    ESM_ERR_OUT_OF_MEMORY = 5,    /* the allocator failed, or a limit in esm_options was hit */
    ESM_ERR_IO = 6,               /* a file could not be opened or mapped */
    ESM_ERR_RUNTIME = 7,          /* the model raised (assert / raise in script) */
    ESM_ERR_STATE = 8             /* a call out of order (run before prepare, ...) */
} esm_status;

/* Element types; the numbering is the file format's (export/schema/esm.fbs DType). */
typedef enum esm_dtype {
    ESM_FLOAT32 = 0,
    ESM_FLOAT64 = 1,
    ESM_INT32 = 2,
    ESM_INT64 = 3,
    ESM_BOOL = 4
} esm_dtype;

const char *esm_status_str(esm_status status);

#ifdef __cplusplus
}
#endif
#endif
