/* esm.h - libesm, the eagerscript C runtime: load a `.esm` file, run it, read the outputs.
 *
 * C99, no dependencies beyond libc and libm (pthreads optional). This header is the manual.
 *
 * ## The five-minute tour
 *
 *     esm_model *model = NULL;
 *     esm_session *session = NULL;
 *     if (esm_model_load_file("digits.esm", NULL, &model) != ESM_OK) { ...; }
 *     if (esm_session_create(model, NULL, &session) != ESM_OK) { ...; }
 *
 *     int64_t shape[2] = {batch, 64};
 *     esm_session_set_input(session, 0, ESM_FLOAT32, shape, 2, pixels, sizeof pixels);
 *     if (esm_session_prepare(session) != ESM_OK)           // shapes -> memory plan (allocates)
 *         fprintf(stderr, "%s\n", esm_session_error(session));
 *     for (...) {                                           // steady state: no allocation
 *         esm_session_set_input(session, 0, ESM_FLOAT32, shape, 2, pixels, sizeof pixels);
 *         esm_session_run(session);
 *         esm_tensor_info info; const void *logits;
 *         esm_session_output(session, 0, &info, &logits);
 *     }
 *     esm_session_free(session);
 *     esm_model_free(model);
 *
 * ## Life cycle and memory
 *
 * - A **model** is the verified, immutable form of one `.esm` file. `esm_model_load` is
 *   zero-copy: the weights are read in place from the caller's buffer, which must stay alive
 *   (and unchanged) until `esm_model_free`. `esm_model_load_file` maps the file (mmap) and
 *   owns the mapping. Every offset, length, alignment, count and index in the file is checked
 *   at load: a malformed, truncated or hostile file gives ESM_ERR_INVALID_MODEL and a message,
 *   never a crash or an out-of-bounds read. A model may be shared by many sessions, also
 *   across threads (it is never written after load).
 * - A **session** holds everything one execution needs: the tensor arena, the kernels' scratch
 *   and the last error. One session is used by one thread at a time.
 * - `esm_session_prepare` runs shape inference for the input shapes last given to
 *   `esm_session_set_input` (any batch size the model's symbolic dims allow) and plans every
 *   intermediate tensor into ONE arena. Prepare allocates (unless the caller supplied the arena);
 *   **`esm_session_run` never allocates**. Call prepare again whenever an input shape changes;
 *   run refuses shapes that differ from the prepared ones (ESM_ERR_STATE).
 *
 * ## Errors
 *
 * Every call returns an `esm_status`. `esm_status_str` names it; `esm_session_error` says
 * what went wrong and where (node index, op, shapes). Load errors go to the buffer in
 * `esm_load_options` when one is given.
 *
 * ## Values a model passes around
 *
 * Tensors have a dtype and up to ESM_MAX_DIMS dims, row-major and contiguous. Model inputs and
 * outputs are tensors; inside a model, IR scalars (int, float, bool) are 0-d tensors of dtype
 * int64, float64 and bool, and int lists are 1-d int64 tensors.
 */
#ifndef ESM_H
#define ESM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ESM_VERSION_MAJOR 0
#define ESM_VERSION_MINOR 1
#define ESM_VERSION_PATCH 0
#define ESM_MAX_DIMS 8

/* ---- status ------------------------------------------------------------------------------ */

/* Every call returns a status; esm_status_str() names it. */
typedef enum esm_status {
    ESM_OK = 0,
    ESM_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, an index out of range, a bad option */
    ESM_ERR_INVALID_MODEL = 2,    /* the file failed verification */
    ESM_ERR_UNSUPPORTED = 3,      /* an op, dtype or attribute this runtime does not implement */
    ESM_ERR_SHAPE = 4,            /* input shapes that the model cannot take */
    ESM_ERR_OUT_OF_MEMORY = 5,    /* the allocator failed, or a limit in esm_options was hit */
    ESM_ERR_IO = 6,               /* a file could not be opened or mapped */
    ESM_ERR_RUNTIME = 7,          /* the model raised (assert / raise in script), or a loop ran
                                   * past esm_options.max_loop_iterations */
    ESM_ERR_STATE = 8             /* a call out of order (run before prepare, ...) */
} esm_status;

/* Element types; the numbering is the file format's (export/schema/esm.fbs DType). */
typedef enum esm_dtype {
    ESM_FLOAT32 = 0,
    ESM_FLOAT64 = 1,
    ESM_INT32 = 2,
    ESM_INT64 = 3,
    ESM_BOOL = 4 /* one byte, 0 or 1 */
} esm_dtype;

/* A static string naming `status` ("ESM_ERR_SHAPE: ..."); never NULL. */
const char *esm_status_str(esm_status status);

/* "MAJOR.MINOR.PATCH" of this library (static string). */
const char *esm_version(void);

/* The dtype's name ("float32", ...), or "unknown dtype" outside esm_dtype. Static string. */
const char *esm_dtype_name(esm_dtype dtype);

/* Every op name this runtime executes (kernels and structural `prim::` ops). Writes up to
 * `capacity` pointers to static strings into `names` (which may be NULL when capacity is 0)
 * and returns the total number of ops, so a first call with capacity 0 sizes the array. */
int32_t esm_supported_ops(const char **names, int32_t capacity);

/* ---- memory ------------------------------------------------------------------------------ */

/* Optional allocator callbacks. `alloc` returns `size` bytes aligned to `align` (a power of two
 * <= 4096) or NULL; `free` releases what `alloc` returned (never called with NULL). `user` is
 * passed through untouched. The allocator must outlive every object that was created with it. */
typedef struct esm_allocator {
    void *(*alloc)(void *user, size_t size, size_t align);
    void (*free)(void *user, void *ptr);
    void *user;
} esm_allocator;

/* ---- model ------------------------------------------------------------------------------- */

typedef struct esm_model esm_model; /* opaque: a verified .esm file */

/* Options for loading a model. Zero-initialize (or pass NULL) for the defaults. */
typedef struct esm_load_options {
    const esm_allocator *allocator; /* NULL: malloc/free. Borrowed; must outlive the model. */
    char *error;                    /* optional buffer that receives the reason a load failed */
    size_t error_len;               /* its size in bytes (the message is NUL-terminated) */
} esm_load_options;

/* Verifies `size` bytes at `data` as a .esm file and builds a model that reads them in place.
 * `data` is borrowed: it must stay alive and unchanged until esm_model_free. It must be 8-byte
 * aligned (ESM_ERR_INVALID_ARGUMENT otherwise) and should be 64-byte aligned, as mmap and
 * malloc'ed page buffers are: weights are used in place. On success *out owns the new model;
 * on failure *out is NULL and options->error (if given) says why. */
esm_status esm_model_load(const void *data, size_t size, const esm_load_options *options,
                          esm_model **out);

/* Like esm_model_load, reading the file at `path` through mmap (the model owns the mapping).
 * ESM_ERR_IO when the file cannot be opened or mapped. */
esm_status esm_model_load_file(const char *path, const esm_load_options *options, esm_model **out);

/* Frees the model (and unmaps its file). NULL is a no-op. Free every session first. */
void esm_model_free(esm_model *model);

/* Shape and type of one model input or output, or of a session's tensor.
 * `name` points into the model and lives as long as it. In a model's input/output info a
 * symbolic dim (e.g. the batch "N") is -1 and `dim_names[i]` names it (NULL for fixed dims). */
typedef struct esm_tensor_info {
    const char *name;
    esm_dtype dtype;
    int32_t ndim;
    int64_t shape[ESM_MAX_DIMS];
    const char *dim_names[ESM_MAX_DIMS];
} esm_tensor_info;

int32_t esm_model_num_inputs(const esm_model *model);
int32_t esm_model_num_outputs(const esm_model *model);
/* Fill *info for input/output `index` (0-based). ESM_ERR_INVALID_ARGUMENT when out of range. */
esm_status esm_model_input_info(const esm_model *model, int32_t index, esm_tensor_info *info);
esm_status esm_model_output_info(const esm_model *model, int32_t index, esm_tensor_info *info);
/* The index of the input named `name`, or ESM_ERR_INVALID_ARGUMENT when there is none. */
esm_status esm_model_input_index(const esm_model *model, const char *name, int32_t *index);

/* A metadata entry of the file by key ("producer", "mode", ...), or NULL. Lives as long as the
 * model. */
const char *esm_model_metadata(const esm_model *model, const char *key);

/* ---- session ----------------------------------------------------------------------------- */

typedef struct esm_session esm_session; /* opaque: arena + execution state for one model */

/* Resource limits for untrusted models (SECURITY.md). esm_options_init sets these defaults;
 * 0 in either field means unlimited.
 * - max_arena_bytes: esm_session_prepare refuses a memory plan (intermediate tensors + kernel
 *   scratch) above it with ESM_ERR_OUT_OF_MEMORY, before allocating anything. 1 GiB.
 * - max_loop_iterations: the iterations one execution of a prim::loop may run. A `for` loop
 *   whose trip count is known at prepare (a constant, or arithmetic on shapes and constants)
 *   above it is refused by esm_session_prepare; any other loop (`while`, a count computed from
 *   input values) stops at run time at the iteration that crosses it. Both: ESM_ERR_RUNTIME.
 *   2^20 = 1,048,576.
 * Nesting is bounded at load instead, not configurable: blocks (if/loop bodies) at most
 * ESM_MAX_BLOCK_DEPTH deep, else ESM_ERR_INVALID_MODEL. */
#define ESM_DEFAULT_MAX_ARENA_BYTES ((size_t)1 << 30)
#define ESM_DEFAULT_MAX_LOOP_ITERATIONS ((int64_t)1 << 20)
#define ESM_MAX_BLOCK_DEPTH 32

/* Session options. Call esm_options_init() first, then set what you need. */
typedef struct esm_options {
    int32_t num_threads;            /* threads kernels may use; 1 (default) runs inline */
    void *arena;                    /* optional caller-owned arena, 64-byte aligned, borrowed */
    size_t arena_bytes;             /* its size; prepare fails (OUT_OF_MEMORY) when too small */
    const esm_allocator *allocator; /* NULL: malloc/free. Borrowed; must outlive the session */
    size_t max_arena_bytes;         /* 0: unlimited; default ESM_DEFAULT_MAX_ARENA_BYTES */
    int64_t max_loop_iterations;    /* per loop execution; 0: unlimited; < 0: INVALID_ARGUMENT;
                                     * default ESM_DEFAULT_MAX_LOOP_ITERATIONS */
} esm_options;

/* Set the defaults (1 thread, no caller arena, malloc, the default limits above). */
void esm_options_init(esm_options *options);

/* Create a session for `model` (borrowed: it must outlive the session). `options` may be NULL
 * (defaults) and is copied. On success *out owns the session. */
esm_status esm_session_create(const esm_model *model, const esm_options *options,
                              esm_session **out);

/* Frees the session and its arena (not a caller-provided arena). NULL is a no-op. */
void esm_session_free(esm_session *session);

/* The message of the last failed call on this session ("" when none). Lives until the next
 * call on the session. */
const char *esm_session_error(const esm_session *session);

/* Bind input `index`: its dtype, shape (`ndim` dims) and data (`bytes` bytes, row-major).
 * `data` is borrowed: it is read during esm_session_run and must stay alive until then
 * (no copy is made). `shape` is copied. The dtype must be the model's for that input. */
esm_status esm_session_set_input(esm_session *session, int32_t index, esm_dtype dtype,
                                 const int64_t *shape, int32_t ndim, const void *data,
                                 size_t bytes);

/* Shape inference and memory planning for the bound input shapes. Allocates the arena
 * (unless one was given in esm_options) and the kernels' scratch. ESM_ERR_SHAPE names the
 * first node whose shape rule fails. */
esm_status esm_session_prepare(esm_session *session);

/* Run the model on the bound inputs. Never allocates. ESM_ERR_STATE before prepare or when an
 * input shape changed since; ESM_ERR_RUNTIME when the model raised (message in
 * esm_session_error). */
esm_status esm_session_run(esm_session *session);

/* Output `index` of the last run: *info gets its shape and dtype, *data points to its elements
 * (read-only; valid until the next run, prepare or esm_session_free). They are in the session's
 * arena, or - when the output is a constant or a reshape of an input - in the model or in that
 * input's buffer. */
esm_status esm_session_output(const esm_session *session, int32_t index, esm_tensor_info *info,
                              const void **data);

/* Bytes of the arena the last prepare planned (intermediates + scratch). */
size_t esm_session_arena_bytes(const esm_session *session);

#ifdef __cplusplus
}
#endif
#endif
