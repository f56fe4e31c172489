/* prim.h - the structural ops the core executes itself (internal).
 *
 * These are the IR's `prim::` ops (jitscript/prims.py) that are not kernels: graph plumbing (parameters, constants,
 * lists, tuples), control flow (if, loop, fused groups), scalar arithmetic on int/float/bool
 * values, and raise. Scalars are 0-d tensors (int64, float64, bool); int lists 1-d int64. */
#ifndef ESM_PRIM_H
#define ESM_PRIM_H

#include <stdint.h>

typedef enum esm_prim_kind {
    ESM_PRIM_PARAM, ESM_PRIM_CONSTANT, ESM_PRIM_IF, ESM_PRIM_LOOP, ESM_PRIM_FUSED, ESM_PRIM_RAISE,
    ESM_PRIM_SIZE, ESM_PRIM_LIST_CONSTRUCT, ESM_PRIM_LIST_UNPACK, ESM_PRIM_LIST_INDEX,
    ESM_PRIM_LEN, ESM_PRIM_TUPLE_CONSTRUCT, ESM_PRIM_TUPLE_INDEX, ESM_PRIM_TUPLE_UNPACK,
    ESM_PRIM_SCALAR_TENSOR, ESM_PRIM_UNWRAP_OPTIONAL, ESM_PRIM_CALL,
    /* scalar arithmetic: int/float/bool operands, Python semantics */
    ESM_PRIM_ADD, ESM_PRIM_SUB, ESM_PRIM_MUL, ESM_PRIM_DIV, ESM_PRIM_FLOORDIV, ESM_PRIM_MOD,
    ESM_PRIM_POW, ESM_PRIM_NEG, ESM_PRIM_EQ, ESM_PRIM_NE, ESM_PRIM_LT, ESM_PRIM_LE, ESM_PRIM_GT,
    ESM_PRIM_GE, ESM_PRIM_AND, ESM_PRIM_OR, ESM_PRIM_NOT, ESM_PRIM_MIN, ESM_PRIM_MAX, ESM_PRIM_ABS,
    ESM_PRIM_INT, ESM_PRIM_FLOAT, ESM_PRIM_BOOL, ESM_PRIM_ITEM, ESM_PRIM_IS_NONE,
    ESM_PRIM_COUNT
} esm_prim_kind;

/* The prim kind named `name` ("prim::add", ...), or -1. */
int32_t esm_prim_find(const char *name);
/* The name of prim kind `kind` (static). */
const char *esm_prim_name(int32_t kind);

#endif
