/* status.c - names of statuses, the version string. */
#include "esm.h"

#define ESM_STR2(x) #x
#define ESM_STR(x) ESM_STR2(x)

const char *esm_status_str(esm_status status) {
    switch (status) {
    case ESM_OK: return "ESM_OK";
    case ESM_ERR_INVALID_ARGUMENT: return "ESM_ERR_INVALID_ARGUMENT: a bad argument";
    case ESM_ERR_INVALID_MODEL: return "ESM_ERR_INVALID_MODEL: the model file failed verification";
    case ESM_ERR_UNSUPPORTED: return "ESM_ERR_UNSUPPORTED: not implemented by this runtime";
    case ESM_ERR_SHAPE: return "ESM_ERR_SHAPE: input shapes the model cannot take";
    case ESM_ERR_OUT_OF_MEMORY: return "ESM_ERR_OUT_OF_MEMORY: allocation failed or a limit was hit";
    case ESM_ERR_IO: return "ESM_ERR_IO: a file could not be read";
    case ESM_ERR_RUNTIME: return "ESM_ERR_RUNTIME: the model raised an error";
    case ESM_ERR_STATE: return "ESM_ERR_STATE: call out of order";
    }
    return "ESM_ERR_?: unknown status";
}

const char *esm_version(void) {
    return ESM_STR(ESM_VERSION_MAJOR) "." ESM_STR(ESM_VERSION_MINOR) "." ESM_STR(ESM_VERSION_PATCH);
}

/* esm_dtype_name is defined with the kernels' helpers (src/kernels/util.c). */
