/* model.h - the verified, in-memory form of a .esm file (internal).
 *
 * esm_model_load checks the whole FlatBuffer once and builds these flat arrays; nothing after
 * load reads the FlatBuffer again except constant tensor data, used in place. */
#ifndef ESM_MODEL_H
#define ESM_MODEL_H

#include "alloc.h"
#include "esm.h"
#include "kernel_api.h"

/* TypeKind of the schema. */
typedef enum esm_type_kind {
    ESM_T_TENSOR = 0, ESM_T_INT, ESM_T_FLOAT, ESM_T_BOOL, ESM_T_STR, ESM_T_NONE, ESM_T_LIST,
    ESM_T_TUPLE, ESM_T_OPTIONAL
} esm_type_kind;

typedef struct esm_value_def {
    const char *name;
    esm_type_kind kind;
    esm_type_kind elem_kind;  /* LIST / OPTIONAL: the element's kind */
    esm_dtype dtype;          /* TENSOR (or LIST/OPTIONAL of tensor): element dtype */
    int32_t rank;             /* -1: unknown */
    int64_t shape[ESM_MAX_DIMS];           /* -1: symbolic */
    const char *dim_names[ESM_MAX_DIMS];   /* symbol of each -1 dim, NULL otherwise */
    int32_t producer;         /* node index that defines it, -1 for block params */
} esm_value_def;

typedef struct esm_block_def {
    int32_t num_params;
    const int32_t *params;
    int32_t num_nodes;
    const int32_t *nodes;     /* node indices, in execution order */
    int32_t num_returns;
    const int32_t *returns;
} esm_block_def;

struct esm_prim;

typedef struct esm_node_def {
    int32_t op;               /* index into esm_model.op_names */
    int32_t num_inputs;
    const int32_t *inputs;    /* value indices, -1 = omitted */
    int32_t num_outputs;
    const int32_t *outputs;
    int32_t num_attrs;
    const esm_attr *attrs;
    int32_t num_blocks;
    const int32_t *blocks;    /* block indices */
    const char *loc;          /* "file.py:LINE:COL" or "" */
    int32_t constant;         /* prim::param: the constant it reads; -1 otherwise */
} esm_node_def;

typedef struct esm_const_def {
    const char *name;
    esm_dtype dtype;
    int32_t ndim;
    int64_t shape[ESM_MAX_DIMS];
    const void *data;         /* in the model's buffer, aligned */
} esm_const_def;

typedef struct esm_io_def {
    const char *name;
    int32_t value;
    esm_tensor_info info;     /* dtype, shape (-1 symbolic), dim names */
} esm_io_def;

/* What executes an op: a kernel from the table, or a structural prim:: op of the core. */
typedef struct esm_op_def {
    const char *name;
    const esm_kernel *kernel;
    int32_t prim;             /* esm_prim_kind, or -1 for kernels */
} esm_op_def;

struct esm_model {
    esm_heap heap;
    esm_pool pool;            /* every array below lives in this pool */
    const uint8_t *data;
    size_t size;
    void *mapping;            /* esm_model_load_file: the mmap'ed file */
    size_t mapping_size;

    int32_t num_ops;
    esm_op_def *ops;
    int32_t num_values;
    esm_value_def *values;
    int32_t num_nodes;
    esm_node_def *nodes;
    int32_t num_blocks;
    esm_block_def *blocks;
    int32_t main_block;
    int32_t num_consts;
    esm_const_def *consts;
    int32_t num_inputs, num_outputs;
    esm_io_def *inputs, *outputs;
    int32_t num_meta;
    const char **meta_keys, **meta_values;
};



/* file.c: map a whole file read-only (NULL on failure) and unmap it (NULL is a no-op). */
void *esm_map_file(const char *path, size_t *size);
void esm_unmap_file(void *mapping, size_t size);
#endif
