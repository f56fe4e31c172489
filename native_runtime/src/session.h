/* session.h - the execution state of one session (internal; shared by session.c, plan.c,
 * prim.c and fused.c).
 *
 * Every IR value of the model has a slot. A slot holds a tensor view (scalars are 0-d tensors,
 * int lists 1-d int64) or a sequence (a list/tuple whose items are other values), None or a
 * string. Prepare fills the types, marks values whose contents are fixed once the input shapes
 * are known ("known": constants, sizes, shape arithmetic - computed at prepare, skipped at run),
 * and plans the rest into the arena. */
#ifndef ESM_SESSION_H
#define ESM_SESSION_H

#include "alloc.h"
#include "kernel_api.h"
#include "model.h"
#include "threads.h"

enum { SLOT_TENSOR, SLOT_SEQ, SLOT_NONE, SLOT_STR };

typedef struct esm_slot {
    esm_tensor t;
    uint8_t kind;           /* SLOT_* */
    uint8_t known;          /* contents fixed at prepare (t.data in the prepare pool / model) */
    uint8_t scalar;         /* ESM_T_INT/FLOAT/BOOL for IR scalars, ESM_T_TENSOR otherwise */
    uint8_t needs_arena;    /* storage planned in the arena */
    int32_t alias;          /* value whose storage this one shows (list/tuple indexing), -1 */
    int32_t num_items;      /* SLOT_SEQ: its item values */
    const int32_t *items;
    const char *str;        /* SLOT_STR */
    size_t bytes;           /* storage size when needs_arena */
    int64_t offset;         /* arena offset, -1 when not in the arena */
    int32_t def_pos, last_use;
} esm_slot;

/* How a fused group executes: tile by tile in one pass, or (when its shapes do not allow it)
 * as an ordinary inline block. */
typedef struct esm_fused_plan {
    int tiled;
    int32_t num_sources;
    const int32_t *sources;          /* values read by the group from outside its kernels */
    const int64_t *source_strides;   /* per source, ESM_MAX_DIMS broadcast strides (elements) */
    int32_t num_tiles;
    esm_tensor *tiles;               /* per value of the model touched by the group: tile view */
    int32_t *tile_of;                /* value index -> index into tiles, -1 */
    int64_t numel;                   /* elements of the group's output shape */
    int32_t ndim;
    int64_t shape[ESM_MAX_DIMS];
} esm_fused_plan;

typedef struct esm_node_rt {
    esm_node_ctx ctx;
    const esm_tensor **in;
    esm_tensor **out;
    int64_t scratch_offset;         /* -1: no scratch */
    int32_t pos, end_pos;           /* execution order position; end of its blocks */
    uint8_t skip;                   /* every output known at prepare */
    uint8_t staged;                 /* loop: a returned carried value shows a body param's storage,
                                     * so carried values go through the outputs (a parallel copy) */
    uint8_t dynamic_attrs;          /* attrs read from run-time scalars: refreshed before eval */
    esm_attr *attrs;                /* the node's attrs with INPUT attrs resolved (or NULL) */
    int32_t *attr_source;           /* per attr: the value an INPUT attr reads, -1 */
    esm_fused_plan *fused;
} esm_node_rt;

typedef struct esm_bound_input {
    esm_dtype dtype;
    int32_t ndim;
    int64_t shape[ESM_MAX_DIMS];
    const void *data;
    size_t bytes;
    int bound;
    int64_t prepared_shape[ESM_MAX_DIMS];
} esm_bound_input;

struct esm_session {
    const esm_model *model;
    esm_options options;
    esm_heap heap;
    esm_pool pool;                  /* prepare-time arrays, released by the next prepare */
    char error[ESM_ERROR_LEN];
    char kernel_error[ESM_ERROR_LEN];
    esm_bound_input *inputs;
    esm_slot *slots;
    esm_node_rt *nodes;
    int32_t num_aliases;            /* values that show another value's storage */
    int32_t *aliases;
    int prepared, ran;
    esm_thread_pool *threads;       /* NULL: one thread */
    unsigned char *arena;
    size_t arena_bytes;
    int arena_owned;
};

/* Formats the session's error message; returns `status`. */
esm_status esm_session_fail(esm_session *s, esm_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* "node 12 (conv2d, model.py:3:5)" into buf. */
void esm_describe_node(const esm_session *s, int32_t node, char *buf, size_t len);
/* "[2, 3, 32] float32" into buf. */
void esm_describe_tensor(const esm_tensor *t, char *buf, size_t len);

/* session.c: prepare / run a block (recursively). */
esm_status esm_prepare_block(esm_session *s, int32_t block);
esm_status esm_run_block(esm_session *s, int32_t block);
/* session.c: storage for a tensor slot (arena planned, or a prepare-pool buffer if known). */
esm_status esm_slot_set_tensor(esm_session *s, int32_t value, esm_dtype dtype, int32_t ndim,
                               const int64_t *shape);
/* session.c: copy value `from` into the storage of value `to` (same type and shape). */
void esm_copy_value(esm_session *s, int32_t to, int32_t from);
/* session.c: a scalar slot's value as int64 / double. */
int64_t esm_slot_int(const esm_slot *slot);
double esm_slot_float(const esm_slot *slot);

/* prim.c */
esm_status esm_prim_prepare(esm_session *s, int32_t node);
esm_status esm_prim_run(esm_session *s, int32_t node);

/* fused.c */
esm_status esm_fused_prepare(esm_session *s, int32_t node);
esm_status esm_fused_run(esm_session *s, int32_t node);

/* plan.c: liveness over the execution order and the arena layout; returns the arena size. */
esm_status esm_plan_memory(esm_session *s, size_t *arena_bytes);

#endif
