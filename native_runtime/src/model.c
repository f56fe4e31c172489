/* model.c - esm_model_load: verify a .esm FlatBuffer and build the in-memory model.
 *
 * Verification happens while reading: every FlatBuffers access goes through fb.c, which
 * checks bounds and alignment; this file checks the meaning (op and value indices, SSA and
 * scoping, block arities of control flow, dtypes, ranks, constant sizes). Field numbers are
 * the slot order of export/schema/esm.fbs. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fb.h"
#include "model.h"
#include "prim.h"

#define FORMAT_MAJOR 1

/* Field slots of the schema's tables. */
enum { M_MAJOR, M_MINOR, M_PRODUCER, M_MODE, M_SOURCE, M_HASH, M_CREATED, M_METADATA, M_OPS,
       M_GRAPH, M_CONSTANTS, M_WEIGHTS, M_PLAN, M_INPUTS, M_OUTPUTS };
enum { VT_KIND, VT_DTYPE, VT_RANK, VT_SHAPE, VT_DIM_NAMES, VT_ELEMENTS };
enum { V_NAME, V_TYPE };
enum { A_NAME, A_KIND, A_I, A_F, A_S, A_INTS, A_FLOATS, A_DTYPE, A_IS_LIST, A_IS_BOOLS, A_ITEMS };
enum { N_OP, N_INPUTS, N_OUTPUTS, N_ATTRS, N_BLOCKS, N_LOC };
enum { B_PARAMS, B_NODES, B_RETURNS };
enum { G_VALUES, G_BLOCK };
enum { C_NAME, C_DTYPE, C_SHAPE, C_OFFSET, C_NBYTES };
enum { IO_NAME, IO_VALUE, IO_TYPE };
enum { KV_KEY, KV_VALUE };

/* ---- the loader ------------------------------------------------------------------------ */

typedef struct loader {
    fb_buf b;
    esm_model *m;
    esm_status status;      /* INVALID_MODEL unless something more specific applies */
    char error[512];
    size_t budget;          /* node/block tables left to visit: bounds work on shared subtrees */
    int32_t next_node, next_block;
} loader;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(loader *L, esm_status status, const char *fmt, ...) {
    if (L->status == ESM_OK) {
        va_list ap;
        va_start(ap, fmt);
        L->status = status;
        vsnprintf(L->error, sizeof L->error, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* Turn a reader failure into the loader's error. */
static int fb_ok(loader *L) {
    if (L->b.failed) return fail(L, ESM_ERR_INVALID_MODEL, "%s", L->b.error);
    return 1;
}

static int valid_dtype(int v) { return v >= ESM_FLOAT32 && v <= ESM_BOOL; }

static int read_i32_vector(loader *L, const fb_table *t, int field, int32_t **out, int32_t *n) {
    fb_vec v;
    *out = NULL;
    *n = 0;
    fb_vector(&L->b, t, field, 4, &v);
    if (!fb_ok(L)) return 0;
    if (!v.present || v.len == 0) return 1;
    if (v.len > (uint32_t)INT32_MAX / 2) return fail(L, ESM_ERR_INVALID_MODEL, "an index vector is too long (%lld)", (long long)(v.len));
    *out = esm_pool_alloc(&L->m->pool, v.len, sizeof(int32_t));
    if (!*out) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory reading the model");
    for (uint32_t i = 0; i < v.len; i++) (*out)[i] = fb_vec_i32(&L->b, &v, i);
    *n = (int32_t)v.len;
    return 1;
}

static const char *pool_str(loader *L, const fb_table *t, int field) {
    const char *s;
    fb_string(&L->b, t, field, &s, NULL);
    return s ? s : "";
}

/* A ValueType table into the fields of a value def (tensor part and element kind). */
static int read_type(loader *L, const fb_table *t, esm_value_def *v) {
    v->kind = (esm_type_kind)fb_u8(&L->b, t, VT_KIND, 0);
    v->dtype = (esm_dtype)fb_u8(&L->b, t, VT_DTYPE, 0);
    v->rank = fb_i32(&L->b, t, VT_RANK, -1);
    if (!fb_ok(L)) return 0;
    if (v->kind > ESM_T_OPTIONAL) return fail(L, ESM_ERR_INVALID_MODEL, "value %s has an unknown type kind %lld", v->name, (long long)(v->kind));
    if (!valid_dtype(v->dtype)) return fail(L, ESM_ERR_INVALID_MODEL, "value %s has an unknown dtype %lld", v->name, (long long)(v->dtype));
    fb_vec elements;
    fb_vector(&L->b, t, VT_ELEMENTS, 4, &elements);
    if (elements.len > 0) {
        fb_table et;
        if (!fb_vec_table(&L->b, &elements, 0, &et)) return fb_ok(L);
        v->elem_kind = (esm_type_kind)fb_u8(&L->b, &et, VT_KIND, 0);
        esm_dtype ed = (esm_dtype)fb_u8(&L->b, &et, VT_DTYPE, 0);
        if (v->kind != ESM_T_TENSOR && valid_dtype(ed)) v->dtype = ed;
    }
    if (v->kind != ESM_T_TENSOR) v->rank = v->rank < 0 ? -1 : v->rank;
    if (v->rank > ESM_MAX_DIMS || v->rank < -1)
        return fail(L, ESM_ERR_UNSUPPORTED, "value %s has rank %lld; this runtime supports up to 8 dims", v->name, (long long)(v->rank));
    fb_vec shape, names;
    fb_vector(&L->b, t, VT_SHAPE, 8, &shape);
    fb_vector(&L->b, t, VT_DIM_NAMES, 4, &names);
    if (!fb_ok(L)) return 0;
    if (v->kind == ESM_T_TENSOR && v->rank >= 0) {
        if (shape.len != (uint32_t)v->rank)
            return fail(L, ESM_ERR_INVALID_MODEL, "value %s: shape length differs from its rank %lld", v->name, (long long)(v->rank));
        for (int32_t d = 0; d < v->rank; d++) {
            v->shape[d] = fb_vec_i64(&L->b, &shape, (uint32_t)d);
            if (v->shape[d] < -1) return fail(L, ESM_ERR_INVALID_MODEL, "value %s has a negative dim %lld", v->name, (long long)(v->shape[d]));
            if (v->shape[d] == -1 && (uint32_t)d < names.len) {
                fb_vec_string(&L->b, &names, (uint32_t)d, &v->dim_names[d], NULL);
                if (!fb_ok(L)) return 0;
            }
        }
    }
    return 1;
}

static int load_values(loader *L, const fb_table *graph) {
    fb_vec vals;
    fb_vector(&L->b, graph, G_VALUES, 4, &vals);
    if (!fb_ok(L)) return 0;
    if (vals.len > (uint32_t)INT32_MAX / 4) return fail(L, ESM_ERR_INVALID_MODEL, "too many values (%lld)", (long long)(vals.len));
    L->m->num_values = (int32_t)vals.len;
    L->m->values = esm_pool_alloc(&L->m->pool, vals.len, sizeof(esm_value_def));
    if (!L->m->values) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory reading the model");
    for (uint32_t i = 0; i < vals.len; i++) {
        fb_table vt, tt;
        esm_value_def *v = &L->m->values[i];
        v->producer = -1;
        v->rank = -1;
        if (!fb_vec_table(&L->b, &vals, i, &vt)) return fb_ok(L);
        v->name = pool_str(L, &vt, V_NAME);
        if (fb_table_field(&L->b, &vt, V_TYPE, &tt)) {
            if (!read_type(L, &tt, v)) return 0;
        } else {
            return fail(L, ESM_ERR_INVALID_MODEL, "value %s has no type", v->name);
        }
        if (!fb_ok(L)) return 0;
    }
    return 1;
}

#define MAX_ITEM_INTS 1024

/* getitem's index terms by name (kernels/index.c numbers them the same way). */
static int term_code(const char *s) {
    static const char *const TERMS[] = {"select", "slice", "newaxis", "tensor"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, TERMS[i]) == 0) return i;
    return -1;
}

/* Whether the first item of ITEMS attr `t` is a string (then the tuple is an index term). */
static int starts_with_string(loader *L, const fb_table *t) {
    fb_vec items;
    fb_table first;
    fb_vector(&L->b, t, A_ITEMS, 4, &items);
    return items.len > 0 && fb_vec_table(&L->b, &items, 0, &first) && fb_u8(&L->b, &first, A_KIND, 0) == ESM_ATTR_STRING;
}

/* Append the flattened items of ITEMS attr `t` to out[*n] (see ESM_ATTR_ITEMS). */
static int flatten_items(loader *L, const fb_table *t, int depth, int64_t *out, int32_t *n) {
    fb_vec items;
    fb_vector(&L->b, t, A_ITEMS, 4, &items);
    if (!fb_ok(L)) return 0;
    if (depth > 3) return fail(L, ESM_ERR_UNSUPPORTED, "a tuple attribute is nested too deeply");
    for (uint32_t k = 0; k < items.len; k++) {
        fb_table it;
        if (!fb_vec_table(&L->b, &items, k, &it)) return fb_ok(L);
        int kind = fb_u8(&L->b, &it, A_KIND, 0), start = *n;
        const char *s = NULL;
        fb_vec ints;
        fb_vector(&L->b, &it, A_INTS, 8, &ints);
        if (!fb_ok(L)) return 0;
        if (*n + (int32_t)(kind == ESM_ATTR_INTS ? ints.len : 1) > MAX_ITEM_INTS) return fail(L, ESM_ERR_UNSUPPORTED, "a tuple attribute is too long");
        switch (kind) {
        case ESM_ATTR_INT: case ESM_ATTR_BOOL: out[(*n)++] = fb_i64(&L->b, &it, A_I, 0); break;
        case ESM_ATTR_NONE: out[(*n)++] = INT64_MIN; break;
        case ESM_ATTR_INTS:
            for (uint32_t i = 0; i < ints.len; i++) out[(*n)++] = fb_vec_i64(&L->b, &ints, i);
            break;
        case ESM_ATTR_STRING:
            fb_string(&L->b, &it, A_S, &s, NULL);
            if (!s || term_code(s) < 0) return fail(L, ESM_ERR_UNSUPPORTED, "a tuple attribute holds the string '%s'", s ? s : "");
            out[(*n)++] = term_code(s);
            break;
        case ESM_ATTR_ITEMS:
            if (!flatten_items(L, &it, depth + 1, out, n)) return 0;
            if (starts_with_string(L, &it)) { /* an index term ("select", 0): padded to 4 ints */
                if (*n - start > 4) return fail(L, ESM_ERR_INVALID_MODEL, "an index term has more than 4 entries");
                while (*n - start < 4) out[(*n)++] = INT64_MIN;
            }
            break;
        default: return fail(L, ESM_ERR_UNSUPPORTED, "a tuple attribute holds an item of kind %d", kind);
        }
        if (!fb_ok(L)) return 0;
    }
    return 1;
}

static int read_attr(loader *L, const fb_table *t, esm_attr *a) {
    uint32_t len = 0;
    fb_string(&L->b, t, A_NAME, &a->name, NULL);
    a->kind = (esm_attr_kind)fb_u8(&L->b, t, A_KIND, 0);
    if (!fb_ok(L)) return 0;
    if (!a->name) return fail(L, ESM_ERR_INVALID_MODEL, "an attribute has no name");
    switch (a->kind) {
    case ESM_ATTR_NONE: return 1;
    case ESM_ATTR_INT: case ESM_ATTR_INPUT: a->i = fb_i64(&L->b, t, A_I, 0); break;
    case ESM_ATTR_BOOL: a->i = fb_i64(&L->b, t, A_I, 0) != 0; break;
    case ESM_ATTR_FLOAT: a->f = fb_f64(&L->b, t, A_F, 0.0); break;
    case ESM_ATTR_DTYPE:
        a->i = fb_u8(&L->b, t, A_DTYPE, 0);
        if (!valid_dtype((int)a->i)) return fail(L, ESM_ERR_INVALID_MODEL, "attribute %s has an unknown dtype %lld", a->name, (long long)(a->i));
        break;
    case ESM_ATTR_STRING:
        fb_string(&L->b, t, A_S, &a->s, &len);
        if (!a->s) a->s = "";
        a->count = (int32_t)(len > INT32_MAX ? INT32_MAX : len);
        break;
    case ESM_ATTR_INTS:
    case ESM_ATTR_FLOATS: {
        fb_vec v;
        fb_vector(&L->b, t, a->kind == ESM_ATTR_INTS ? A_INTS : A_FLOATS, 8, &v);
        if (!fb_ok(L)) return 0;
        if (v.len > (uint32_t)INT32_MAX / 8) return fail(L, ESM_ERR_INVALID_MODEL, "attribute %s is too long (%lld)", a->name, (long long)(v.len));
        /* copied: host-endian and 8-byte aligned whatever the buffer's alignment */
        void *copy = esm_pool_alloc(&L->m->pool, v.len ? v.len : 1, 8);
        if (!copy) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory reading attribute %s", a->name);
        for (uint32_t i = 0; i < v.len; i++) {
            if (a->kind == ESM_ATTR_INTS) ((int64_t *)copy)[i] = fb_vec_i64(&L->b, &v, i);
            else ((double *)copy)[i] = fb_vec_f64(&L->b, &v, i);
        }
        if (a->kind == ESM_ATTR_INTS) a->ints = copy;
        else a->floats = copy;
        a->count = (int32_t)v.len;
        break;
    }
    case ESM_ATTR_ITEMS: {
        int64_t *flat = esm_pool_alloc(&L->m->pool, MAX_ITEM_INTS, sizeof(int64_t));
        int32_t n = 0;
        if (!flat) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory reading attribute %s", a->name);
        if (!flatten_items(L, t, 0, flat, &n)) return 0;
        a->kind = ESM_ATTR_INTS;
        a->ints = flat;
        a->count = n;
        break;
    }
    default:
        return fail(L, ESM_ERR_INVALID_MODEL, "attribute %s has an unknown kind %lld", a->name, (long long)(a->kind));
    }
    return fb_ok(L);
}

/* Pass 1: count the nodes and blocks under `block` (depth- and budget-limited). */
static int count_block(loader *L, const fb_table *block, int depth) {
    if (depth > ESM_MAX_BLOCK_DEPTH) return fail(L, ESM_ERR_INVALID_MODEL, "blocks are nested deeper than %lld", (long long)(ESM_MAX_BLOCK_DEPTH));
    if (L->budget == 0) return fail(L, ESM_ERR_INVALID_MODEL, "the graph has more nodes than the file could hold");
    L->budget--;
    L->next_block++;
    fb_vec nodes;
    fb_vector(&L->b, block, B_NODES, 4, &nodes);
    if (!fb_ok(L)) return 0;
    for (uint32_t i = 0; i < nodes.len; i++) {
        fb_table nt;
        if (!fb_vec_table(&L->b, &nodes, i, &nt)) return fb_ok(L);
        if (L->budget == 0) return fail(L, ESM_ERR_INVALID_MODEL, "the graph has more nodes than the file could hold");
        L->budget--;
        L->next_node++;
        fb_vec blocks;
        fb_vector(&L->b, &nt, N_BLOCKS, 4, &blocks);
        if (!fb_ok(L)) return 0;
        for (uint32_t j = 0; j < blocks.len; j++) {
            fb_table bt;
            if (!fb_vec_table(&L->b, &blocks, j, &bt)) return fb_ok(L);
            if (!count_block(L, &bt, depth + 1)) return 0;
        }
    }
    return 1;
}

/* Kernel attributes are sizes, axes, strides, paddings: the format bounds their ints to
 * +-2^32 (INT64_MIN stands for None), so kernels' size arithmetic cannot overflow on them. */
static int kernel_ints_in_range(const esm_attr *a) {
    const int64_t limit = (int64_t)1 << 32;
    if (a->kind == ESM_ATTR_INT) return a->i >= -limit && a->i <= limit;
    for (int32_t i = 0; a->kind == ESM_ATTR_INTS && i < a->count; i++)
        if (a->ints[i] != INT64_MIN && (a->ints[i] < -limit || a->ints[i] > limit)) return 0;
    return 1;
}

static int check_index_range(loader *L, const int32_t *idx, int32_t n, int allow_missing, const char *what, int32_t node) {
    for (int32_t i = 0; i < n; i++) {
        if (idx[i] == -1 && allow_missing) continue;
        if (idx[i] < 0 || idx[i] >= L->m->num_values)
            return fail(L, ESM_ERR_INVALID_MODEL, "%s of node %lld refers to a value out of range", what, (long long)(node));
    }
    return 1;
}

static int fill_block(loader *L, const fb_table *block, int32_t index);

static int fill_node(loader *L, const fb_table *nt, int32_t index) {
    esm_model *m = L->m;
    esm_node_def *n = &m->nodes[index];
    n->constant = -1;
    uint32_t op = fb_u32(&L->b, nt, N_OP, 0);
    if (!fb_ok(L)) return 0;
    if (op >= (uint32_t)m->num_ops) return fail(L, ESM_ERR_INVALID_MODEL, "node %lld has op index out of range", (long long)(index));
    n->op = (int32_t)op;
    int32_t *inputs, *outputs, *blocks_idx;
    if (!read_i32_vector(L, nt, N_INPUTS, &inputs, &n->num_inputs)) return 0;
    if (!read_i32_vector(L, nt, N_OUTPUTS, &outputs, &n->num_outputs)) return 0;
    n->inputs = inputs;
    n->outputs = outputs;
    if (!check_index_range(L, inputs, n->num_inputs, 1, "an input", index)) return 0;
    if (!check_index_range(L, outputs, n->num_outputs, 0, "an output", index)) return 0;
    const char *loc;
    fb_string(&L->b, nt, N_LOC, &loc, NULL);
    n->loc = loc ? loc : "";
    fb_vec attrs;
    fb_vector(&L->b, nt, N_ATTRS, 4, &attrs);
    if (!fb_ok(L)) return 0;
    if (attrs.len > 4096) return fail(L, ESM_ERR_INVALID_MODEL, "node %lld has too many attributes", (long long)(index));
    esm_attr *a = esm_pool_alloc(&m->pool, attrs.len ? attrs.len : 1, sizeof(esm_attr));
    if (!a) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory reading the model");
    for (uint32_t i = 0; i < attrs.len; i++) {
        fb_table at;
        if (!fb_vec_table(&L->b, &attrs, i, &at)) return fb_ok(L);
        if (!read_attr(L, &at, &a[i])) return 0;
        if (a[i].kind == ESM_ATTR_INPUT && (a[i].i < 0 || a[i].i >= n->num_inputs))
            return fail(L, ESM_ERR_INVALID_MODEL, "node %lld: attribute %s names input %lld, out of range", (long long)index, a[i].name, (long long)a[i].i);
        if (m->ops[n->op].kernel && !kernel_ints_in_range(&a[i]))
            return fail(L, ESM_ERR_INVALID_MODEL, "node %lld (%s): attribute %s holds an int beyond +-2^32", (long long)index,
                        m->ops[n->op].name, a[i].name);
    }
    n->attrs = a;
    n->num_attrs = (int32_t)attrs.len;
    fb_vec blocks;
    fb_vector(&L->b, nt, N_BLOCKS, 4, &blocks);
    if (!fb_ok(L)) return 0;
    blocks_idx = esm_pool_alloc(&m->pool, blocks.len ? blocks.len : 1, sizeof(int32_t));
    if (!blocks_idx) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory reading the model");
    n->blocks = blocks_idx;
    n->num_blocks = (int32_t)blocks.len;
    for (uint32_t j = 0; j < blocks.len; j++) {
        fb_table bt;
        if (!fb_vec_table(&L->b, &blocks, j, &bt)) return fb_ok(L);
        blocks_idx[j] = L->next_block++;
        if (!fill_block(L, &bt, blocks_idx[j])) return 0;
    }
    return 1;
}

static int fill_block(loader *L, const fb_table *block, int32_t index) {
    esm_model *m = L->m;
    esm_block_def *b = &m->blocks[index];
    int32_t *params, *returns, *nodes_idx;
    if (!read_i32_vector(L, block, B_PARAMS, &params, &b->num_params)) return 0;
    if (!read_i32_vector(L, block, B_RETURNS, &returns, &b->num_returns)) return 0;
    b->params = params;
    b->returns = returns;
    if (!check_index_range(L, params, b->num_params, 0, "a block param", -1)) return 0;
    if (!check_index_range(L, returns, b->num_returns, 0, "a block return", -1)) return 0;
    fb_vec nodes;
    fb_vector(&L->b, block, B_NODES, 4, &nodes);
    if (!fb_ok(L)) return 0;
    nodes_idx = esm_pool_alloc(&m->pool, nodes.len ? nodes.len : 1, sizeof(int32_t));
    if (!nodes_idx) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory reading the model");
    b->nodes = nodes_idx;
    b->num_nodes = (int32_t)nodes.len;
    for (uint32_t i = 0; i < nodes.len; i++) {
        fb_table nt;
        if (!fb_vec_table(&L->b, &nodes, i, &nt)) return fb_ok(L);
        if (L->next_node >= m->num_nodes) return fail(L, ESM_ERR_INVALID_MODEL, "the graph changed between passes");
        nodes_idx[i] = L->next_node++;
        if (!fill_node(L, &nt, nodes_idx[i])) return 0;
    }
    return 1;
}

static int load_graph(loader *L, const fb_table *root) {
    fb_table graph, block;
    if (!fb_table_field(&L->b, root, M_GRAPH, &graph)) {
        fb_ok(L);
        return fail(L, ESM_ERR_INVALID_MODEL, "the file has no graph");
    }
    if (!load_values(L, &graph)) return 0;
    if (!fb_table_field(&L->b, &graph, G_BLOCK, &block)) {
        fb_ok(L);
        return fail(L, ESM_ERR_INVALID_MODEL, "the graph has no block");
    }
    L->budget = L->b.size / 4;
    L->next_node = L->next_block = 0;
    if (!count_block(L, &block, 0)) return 0;
    esm_model *m = L->m;
    m->num_nodes = L->next_node;
    m->num_blocks = L->next_block;
    m->nodes = esm_pool_alloc(&m->pool, (size_t)m->num_nodes + 1, sizeof(esm_node_def));
    m->blocks = esm_pool_alloc(&m->pool, (size_t)m->num_blocks, sizeof(esm_block_def));
    if (!m->nodes || !m->blocks) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory reading the model");
    L->next_node = 0;
    L->next_block = 1;
    m->main_block = 0;
    return fill_block(L, &block, 0);
}

static int load_ops(loader *L, const fb_table *root) {
    fb_vec ops;
    fb_vector(&L->b, root, M_OPS, 4, &ops);
    if (!fb_ok(L)) return 0;
    if (ops.len > 65536) return fail(L, ESM_ERR_INVALID_MODEL, "the operator table has %lld names", (long long)(ops.len));
    esm_model *m = L->m;
    m->num_ops = (int32_t)ops.len;
    m->ops = esm_pool_alloc(&m->pool, ops.len ? ops.len : 1, sizeof(esm_op_def));
    if (!m->ops) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory reading the model");
    for (uint32_t i = 0; i < ops.len; i++) {
        esm_op_def *op = &m->ops[i];
        if (!fb_vec_string(&L->b, &ops, i, &op->name, NULL)) return fb_ok(L);
        op->prim = esm_prim_find(op->name);
        op->kernel = op->prim < 0 ? esm_find_kernel(op->name) : NULL;
        if (op->prim < 0 && !op->kernel)
            return fail(L, ESM_ERR_UNSUPPORTED, "op '%s' is not supported by this runtime (libesm %lld.x)", op->name, (long long)(ESM_VERSION_MINOR));
    }
    return 1;
}

static int load_constants(loader *L, const fb_table *root) {
    esm_model *m = L->m;
    fb_vec consts, weights;
    fb_vector(&L->b, root, M_CONSTANTS, 4, &consts);
    fb_vector(&L->b, root, M_WEIGHTS, 1, &weights);
    if (!fb_ok(L)) return 0;
    if (weights.present && weights.pos % 64) return fail(L, ESM_ERR_INVALID_MODEL, "the weights are not 64-byte aligned (byte %lld)", ((long long)weights.pos));
    if (consts.len > (uint32_t)INT32_MAX / 4) return fail(L, ESM_ERR_INVALID_MODEL, "too many constants (%lld)", (long long)(consts.len));
    m->num_consts = (int32_t)consts.len;
    m->consts = esm_pool_alloc(&m->pool, consts.len ? consts.len : 1, sizeof(esm_const_def));
    if (!m->consts) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory reading the model");
    for (uint32_t i = 0; i < consts.len; i++) {
        fb_table ct;
        esm_const_def *c = &m->consts[i];
        if (!fb_vec_table(&L->b, &consts, i, &ct)) return fb_ok(L);
        fb_string(&L->b, &ct, C_NAME, &c->name, NULL);
        int dtype = fb_u8(&L->b, &ct, C_DTYPE, 0);
        uint64_t offset = fb_u64(&L->b, &ct, C_OFFSET, 0), nbytes = fb_u64(&L->b, &ct, C_NBYTES, 0);
        fb_vec shape;
        fb_vector(&L->b, &ct, C_SHAPE, 8, &shape);
        if (!fb_ok(L)) return 0;
        if (!c->name) return fail(L, ESM_ERR_INVALID_MODEL, "constant %lld has no name", (long long)(i));
        if (!valid_dtype(dtype)) return fail(L, ESM_ERR_INVALID_MODEL, "constant %s has an unknown dtype %lld", c->name, (long long)(dtype));
        if (shape.len > ESM_MAX_DIMS) return fail(L, ESM_ERR_UNSUPPORTED, "constant %s has %lld dims", c->name, (long long)(shape.len));
        c->dtype = (esm_dtype)dtype;
        c->ndim = (int32_t)shape.len;
        uint64_t numel = 1;
        for (uint32_t d = 0; d < shape.len; d++) {
            int64_t dim = fb_vec_i64(&L->b, &shape, d);
            if (dim < 0 || (dim > 0 && numel > (UINT64_MAX >> 4) / (uint64_t)dim))
                return fail(L, ESM_ERR_INVALID_MODEL, "constant %s has a bad dim %lld", c->name, (long long)(dim));
            c->shape[d] = dim;
            numel *= (uint64_t)dim;
        }
        if (numel * esm_dtype_size(c->dtype) != nbytes)
            return fail(L, ESM_ERR_INVALID_MODEL, "constant %s: nbytes %lld does not match its shape and dtype", c->name, ((long long)nbytes));
        if (offset % 64 || offset > weights.len || nbytes > weights.len - offset)
            return fail(L, ESM_ERR_INVALID_MODEL, "constant %s: its bytes (offset %lld) lie outside the weights", c->name, ((long long)offset));
        c->data = L->b.data + weights.pos + offset;
    }
    return 1;
}

static int find_constant(const esm_model *m, const char *name) {
    for (int32_t i = 0; i < m->num_consts; i++)
        if (strcmp(m->consts[i].name, name) == 0) return i;
    return -1;
}

static int load_io(loader *L, const fb_table *root, int field, esm_io_def **out, int32_t *count) {
    fb_vec v;
    fb_vector(&L->b, root, field, 4, &v);
    if (!fb_ok(L)) return 0;
    if (v.len > 65536) return fail(L, ESM_ERR_INVALID_MODEL, "too many model inputs or outputs (%lld)", (long long)(v.len));
    *count = (int32_t)v.len;
    *out = esm_pool_alloc(&L->m->pool, v.len ? v.len : 1, sizeof(esm_io_def));
    if (!*out) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory reading the model");
    for (uint32_t i = 0; i < v.len; i++) {
        fb_table t, tt;
        esm_io_def *io = &(*out)[i];
        if (!fb_vec_table(&L->b, &v, i, &t)) return fb_ok(L);
        fb_string(&L->b, &t, IO_NAME, &io->name, NULL);
        io->value = fb_i32(&L->b, &t, IO_VALUE, 0);
        if (!fb_ok(L)) return 0;
        if (!io->name) return fail(L, ESM_ERR_INVALID_MODEL, "model input/output %lld has no name", (long long)(i));
        if (io->value < 0 || io->value >= L->m->num_values)
            return fail(L, ESM_ERR_INVALID_MODEL, "model input/output %s refers to value %lld, out of range", io->name, (long long)(io->value));
        esm_value_def vd = L->m->values[io->value];
        if (fb_table_field(&L->b, &t, IO_TYPE, &tt)) {
            vd.name = io->name;
            if (!read_type(L, &tt, &vd)) return 0;
        }
        if (!fb_ok(L)) return 0;
        /* IR scalars cross the API as 0-d tensors (int64, float64, bool) */
        if (vd.kind == ESM_T_INT || vd.kind == ESM_T_FLOAT || vd.kind == ESM_T_BOOL) {
            vd.dtype = vd.kind == ESM_T_INT ? ESM_INT64 : vd.kind == ESM_T_FLOAT ? ESM_FLOAT64 : ESM_BOOL;
            vd.rank = 0;
        } else if (vd.kind != ESM_T_TENSOR) {
            return fail(L, ESM_ERR_UNSUPPORTED, "model input/output %s is not a tensor or a scalar", io->name);
        }
        io->info.name = io->name;
        io->info.dtype = vd.dtype;
        io->info.ndim = vd.rank;
        memcpy(io->info.shape, vd.shape, sizeof vd.shape);
        memcpy(io->info.dim_names, vd.dim_names, sizeof vd.dim_names);
    }
    return 1;
}

static int load_metadata(loader *L, const fb_table *root) {
    static const struct { int field; const char *key; } fixed[] = {
        {M_PRODUCER, "producer"}, {M_SOURCE, "source_file"}, {M_HASH, "source_hash"}, {M_CREATED, "created"}};
    esm_model *m = L->m;
    fb_vec kv;
    fb_vector(&L->b, root, M_METADATA, 4, &kv);
    if (!fb_ok(L)) return 0;
    if (kv.len > 65536) return fail(L, ESM_ERR_INVALID_MODEL, "too many metadata entries (%lld)", (long long)(kv.len));
    size_t n = kv.len + 5;
    m->meta_keys = esm_pool_alloc(&m->pool, n, sizeof(char *));
    m->meta_values = esm_pool_alloc(&m->pool, n, sizeof(char *));
    if (!m->meta_keys || !m->meta_values) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory reading the model");
    int32_t k = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        m->meta_keys[k] = fixed[i].key;
        m->meta_values[k++] = pool_str(L, root, fixed[i].field);
    }
    m->meta_keys[k] = "mode";
    m->meta_values[k++] = fb_u8(&L->b, root, M_MODE, 0) ? "script" : "trace";
    for (uint32_t i = 0; i < kv.len; i++) {
        fb_table t;
        if (!fb_vec_table(&L->b, &kv, i, &t)) return fb_ok(L);
        fb_string(&L->b, &t, KV_KEY, &m->meta_keys[k], NULL);
        m->meta_values[k] = pool_str(L, &t, KV_VALUE);
        if (!m->meta_keys[k]) return fail(L, ESM_ERR_INVALID_MODEL, "a metadata entry has no key");
        k++;
    }
    m->num_meta = k;
    return fb_ok(L);
}

/* ---- semantic checks: SSA, scoping, control-flow arities ------------------------------- */

typedef struct ssa_state {
    loader *L;
    uint8_t *visible;  /* defined and in scope here */
    uint8_t *defined;  /* defined anywhere (SSA: at most once) */
} ssa_state;

static int define(ssa_state *S, int32_t v, int32_t producer) {
    if (S->defined[v]) return fail(S->L, ESM_ERR_INVALID_MODEL, "value %s is defined twice (node %lld)", S->L->m->values[v].name, (long long)producer);
    S->defined[v] = S->visible[v] = 1;
    S->L->m->values[v].producer = producer;
    return 1;
}

static int check_arity(loader *L, const esm_node_def *n, int32_t index) {
    const esm_model *m = L->m;
    int32_t prim = m->ops[n->op].prim;
    const char *op = m->ops[n->op].name;
    int want_blocks = prim == ESM_PRIM_IF ? 2 : (prim == ESM_PRIM_LOOP || prim == ESM_PRIM_FUSED || prim == ESM_PRIM_CALL) ? 1 : 0;
    if (n->num_blocks != want_blocks) return fail(L, ESM_ERR_INVALID_MODEL, "node %lld (%s) has the wrong number of blocks", (long long)(index), op);
    for (int32_t i = 0; i < n->num_inputs; i++)
        if (n->inputs[i] < 0 && (prim == ESM_PRIM_IF || prim == ESM_PRIM_LOOP || prim == ESM_PRIM_FUSED || prim == ESM_PRIM_CALL))
            return fail(L, ESM_ERR_INVALID_MODEL, "node %lld (%s) has an omitted input", (long long)(index), op);
    if (n->num_outputs > 4096 || n->num_inputs > 65536) return fail(L, ESM_ERR_INVALID_MODEL, "node %lld (%s) has too many inputs or outputs", (long long)(index), op);
    if (prim == ESM_PRIM_IF) {
        if (n->num_inputs != 1) return fail(L, ESM_ERR_INVALID_MODEL, "node %lld (%s) must have exactly one input (the condition)", (long long)(index), op);
        for (int b = 0; b < 2; b++) {
            const esm_block_def *blk = &m->blocks[n->blocks[b]];
            if (blk->num_params != 0 || blk->num_returns != n->num_outputs)
                return fail(L, ESM_ERR_INVALID_MODEL, "node %lld (%s): a branch's params/returns do not match the outputs", (long long)(index), op);
        }
    } else if (prim == ESM_PRIM_LOOP) {
        const esm_block_def *body = &m->blocks[n->blocks[0]];
        int32_t carried = n->num_inputs - 2;
        if (carried < 0 || n->num_outputs != carried || body->num_params != carried + 1 || body->num_returns != carried + 1)
            return fail(L, ESM_ERR_INVALID_MODEL, "node %lld (%s): inputs (trip count, condition, carried...), body params (iter, carried...) and returns (cond, carried...) do not match", (long long)(index), op);
    } else if (prim == ESM_PRIM_FUSED || prim == ESM_PRIM_CALL) {
        const esm_block_def *body = &m->blocks[n->blocks[0]];
        if (body->num_params != n->num_inputs || body->num_returns != n->num_outputs)
            return fail(L, ESM_ERR_INVALID_MODEL, "node %lld (%s): the sub-graph's params/returns do not match the node", (long long)(index), op);
    }
    return 1;
}

static int check_block(ssa_state *S, int32_t bi, int32_t owner) {
    loader *L = S->L;
    const esm_model *m = L->m;
    const esm_block_def *b = &m->blocks[bi];
    for (int32_t i = 0; i < b->num_params; i++)
        if (!define(S, b->params[i], -1)) return 0;
    for (int32_t k = 0; k < b->num_nodes; k++) {
        int32_t ni = b->nodes[k];
        const esm_node_def *n = &m->nodes[ni];
        for (int32_t i = 0; i < n->num_inputs; i++)
            if (n->inputs[i] >= 0 && !S->visible[n->inputs[i]])
                return fail(L, ESM_ERR_INVALID_MODEL, "node %lld uses value %s before it is defined (or out of its scope)", (long long)(ni), m->values[n->inputs[i]].name);
        if (!check_arity(L, n, ni)) return 0;
        if (m->ops[n->op].prim == ESM_PRIM_PARAM) {
            const esm_attr *a = NULL;
            for (int32_t i = 0; i < n->num_attrs; i++)
                if (strcmp(n->attrs[i].name, "name") == 0) a = &n->attrs[i];
            if (!a || a->kind != ESM_ATTR_STRING || n->num_outputs != 1)
                return fail(L, ESM_ERR_INVALID_MODEL, "node %lld (prim::param) needs a string attribute 'name' and one output", (long long)(ni));
            int c = find_constant(m, a->s);
            if (c < 0) return fail(L, ESM_ERR_INVALID_MODEL, "prim::param reads constant '%s', which the file does not contain (node %lld)", a->s, (long long)(ni));
            ((esm_node_def *)n)->constant = c;
        }
        for (int32_t j = 0; j < n->num_blocks; j++)
            if (!check_block(S, n->blocks[j], ni)) return 0;
        for (int32_t i = 0; i < n->num_outputs; i++)
            if (!define(S, n->outputs[i], ni)) return 0;
    }
    for (int32_t i = 0; i < b->num_returns; i++)
        if (!S->visible[b->returns[i]])
            return fail(L, ESM_ERR_INVALID_MODEL, "a block of node %lld returns value %s, which is not in scope", (long long)(owner), m->values[b->returns[i]].name);
    /* leave the scope: what this block defined is invisible outside it (the main block keeps
     * its values visible so outputs can be checked) */
    if (bi != m->main_block) {
        for (int32_t i = 0; i < b->num_params; i++) S->visible[b->params[i]] = 0;
        for (int32_t k = 0; k < b->num_nodes; k++) {
            const esm_node_def *n = &m->nodes[b->nodes[k]];
            for (int32_t i = 0; i < n->num_outputs; i++) S->visible[n->outputs[i]] = 0;
        }
    }
    return 1;
}

static int check_io(loader *L) {
    const esm_model *m = L->m;
    const esm_block_def *main = &m->blocks[m->main_block];
    if (main->num_params != m->num_inputs)
        return fail(L, ESM_ERR_INVALID_MODEL, "the graph takes %lld params but the file lists a different number of inputs", (long long)(main->num_params));
    for (int32_t i = 0; i < m->num_inputs; i++)
        if (m->inputs[i].value != main->params[i])
            return fail(L, ESM_ERR_INVALID_MODEL, "input %s is not graph param %lld", m->inputs[i].name, (long long)(i));
    for (int32_t i = 0; i < m->num_outputs; i++) {
        int found = 0;
        for (int32_t r = 0; r < main->num_returns; r++) found |= main->returns[r] == m->outputs[i].value;
        if (!found) return fail(L, ESM_ERR_INVALID_MODEL, "output %s is not returned by the graph", m->outputs[i].name);
    }
    return 1;
}

static int check_graph(loader *L) {
    esm_model *m = L->m;
    ssa_state S;
    S.L = L;
    S.visible = esm_heap_array(&m->heap, (size_t)m->num_values + 1, 2);
    if (!S.visible) return fail(L, ESM_ERR_OUT_OF_MEMORY, "out of memory verifying the model");
    S.defined = S.visible + m->num_values + 1;
    int ok = check_block(&S, m->main_block, -1) && check_io(L);
    esm_heap_free(&m->heap, S.visible);
    return ok;
}

/* ---- public API ------------------------------------------------------------------------ */

static int load_all(loader *L) {
    fb_table root;
    if (!fb_root(&L->b, "ESM0", &root)) return fb_ok(L);
    uint32_t major = fb_u32(&L->b, &root, M_MAJOR, 0), minor = fb_u32(&L->b, &root, M_MINOR, 0);
    if (!fb_ok(L)) return 0;
    if (major > FORMAT_MAJOR) {
        char v[32];
        snprintf(v, sizeof v, "%u.%u", major, minor);
        return fail(L, ESM_ERR_UNSUPPORTED, "the file's format version is %s; this runtime reads major version %lld", v, (long long)(FORMAT_MAJOR));
    }
    return load_ops(L, &root) && load_constants(L, &root) && load_graph(L, &root) &&
           load_io(L, &root, M_INPUTS, &L->m->inputs, &L->m->num_inputs) &&
           load_io(L, &root, M_OUTPUTS, &L->m->outputs, &L->m->num_outputs) && load_metadata(L, &root) &&
           check_graph(L);
}

static void report(const esm_load_options *options, const char *msg) {
    if (options && options->error && options->error_len) snprintf(options->error, options->error_len, "%s", msg);
}

esm_status esm_model_load(const void *data, size_t size, const esm_load_options *options, esm_model **out) {
    if (!out) return ESM_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!data) {
        report(options, "esm_model_load: data is NULL");
        return ESM_ERR_INVALID_ARGUMENT;
    }
    if ((uintptr_t)data % 8) {
        report(options, "esm_model_load: data must be at least 8-byte aligned (64 recommended)");
        return ESM_ERR_INVALID_ARGUMENT;
    }
    esm_heap heap;
    esm_heap_init(&heap, options ? options->allocator : NULL);
    esm_model *m = esm_heap_alloc(&heap, sizeof *m, 16);
    if (!m) {
        report(options, "esm_model_load: out of memory");
        return ESM_ERR_OUT_OF_MEMORY;
    }
    m->heap = heap;
    m->pool.heap = &m->heap;
    m->data = data;
    m->size = size;
    loader L;
    memset(&L, 0, sizeof L);
    fb_init(&L.b, data, size);
    L.m = m;
    if (!load_all(&L)) {
        if (L.status == ESM_OK) fb_ok(&L);
        report(options, L.error);
        esm_model_free(m);
        return L.status;
    }
    report(options, "");
    *out = m;
    return ESM_OK;
}

void esm_model_free(esm_model *model) {
    if (!model) return;
    esm_heap heap = model->heap;
    esm_pool_release(&model->pool);
    esm_unmap_file(model->mapping, model->mapping_size);
    esm_heap_free(&heap, model);
}

int32_t esm_model_num_inputs(const esm_model *model) { return model ? model->num_inputs : 0; }
int32_t esm_model_num_outputs(const esm_model *model) { return model ? model->num_outputs : 0; }

esm_status esm_model_input_info(const esm_model *model, int32_t index, esm_tensor_info *info) {
    if (!model || !info || index < 0 || index >= model->num_inputs) return ESM_ERR_INVALID_ARGUMENT;
    *info = model->inputs[index].info;
    return ESM_OK;
}

esm_status esm_model_output_info(const esm_model *model, int32_t index, esm_tensor_info *info) {
    if (!model || !info || index < 0 || index >= model->num_outputs) return ESM_ERR_INVALID_ARGUMENT;
    *info = model->outputs[index].info;
    return ESM_OK;
}

esm_status esm_model_input_index(const esm_model *model, const char *name, int32_t *index) {
    if (!model || !name || !index) return ESM_ERR_INVALID_ARGUMENT;
    for (int32_t i = 0; i < model->num_inputs; i++) {
        if (strcmp(model->inputs[i].name, name) == 0) {
            *index = i;
            return ESM_OK;
        }
    }
    return ESM_ERR_INVALID_ARGUMENT;
}

const char *esm_model_metadata(const esm_model *model, const char *key) {
    if (!model || !key) return NULL;
    for (int32_t i = 0; i < model->num_meta; i++)
        if (strcmp(model->meta_keys[i], key) == 0) return model->meta_values[i];
    return NULL;
}
