/* prim.c - the structural prim:: ops: plumbing, scalar arithmetic, raise.
 *
 * Each op has a prepare (types; and the value itself when every input is known, so that shape
 * arithmetic like `x.size(0) * 2` is folded at prepare and skipped at run) and a run (the same
 * computation on runtime scalars, written into the arena). Control flow (if, loop) lives in
 * session.c and fused groups in fused.c. */
#include <math.h>
#include <string.h>

#include "prim.h"
#include "session.h"

static const char *const PRIM_NAMES[ESM_PRIM_COUNT] = {
    "prim::param", "prim::constant", "prim::if", "prim::loop", "prim::fused", "prim::raise",
    "prim::size", "prim::list_construct", "prim::list_unpack", "prim::list_index",
    "prim::len", "prim::tuple_construct", "prim::tuple_index", "prim::tuple_unpack",
    "prim::scalar_tensor", "prim::unwrap_optional", "prim::call",
    "prim::add", "prim::sub", "prim::mul", "prim::div", "prim::floordiv", "prim::mod",
    "prim::pow", "prim::neg", "prim::eq", "prim::ne", "prim::lt", "prim::le", "prim::gt",
    "prim::ge", "prim::and", "prim::or", "prim::not", "prim::min", "prim::max", "prim::abs",
    "prim::int", "prim::float", "prim::bool", "prim::item", "prim::is_none",
};

int32_t esm_prim_find(const char *name) {
    for (int32_t i = 0; i < ESM_PRIM_COUNT; i++)
        if (strcmp(PRIM_NAMES[i], name) == 0) return i;
    return -1;
}

const char *esm_prim_name(int32_t kind) { return kind >= 0 && kind < ESM_PRIM_COUNT ? PRIM_NAMES[kind] : "?"; }

/* ---- helpers ------------------------------------------------------------------------------ */

static esm_status prim_fail(esm_session *s, int32_t ni, esm_status st, const char *what) {
    char where[160];
    esm_describe_node(s, ni, where, sizeof where);
    return esm_session_fail(s, st, "%s: %s", where, what);
}

/* Give a tensor slot its storage: a prepare-pool buffer when its value is known now,
 * otherwise the arena (planned later). */
static esm_status make_tensor(esm_session *s, int32_t v, esm_dtype dtype, int32_t ndim, const int64_t *shape, int known) {
    esm_status st = esm_slot_set_tensor(s, v, dtype, ndim, shape);
    if (st != ESM_OK || !known) return st;
    esm_slot *slot = &s->slots[v];
    slot->t.data = esm_pool_alloc(&s->pool, slot->bytes ? slot->bytes : 1, 1);
    if (!slot->t.data) return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "out of memory in prepare");
    slot->known = 1;
    slot->needs_arena = 0;
    return ESM_OK;
}

static esm_status make_scalar(esm_session *s, int32_t v, esm_type_kind kind, int known) {
    esm_dtype dtype = kind == ESM_T_FLOAT ? ESM_FLOAT64 : kind == ESM_T_BOOL ? ESM_BOOL : ESM_INT64;
    esm_status st = make_tensor(s, v, dtype, 0, NULL, known);
    s->slots[v].scalar = (uint8_t)kind;
    return st;
}

static void store_scalar(esm_slot *slot, int64_t i, double f) {
    switch (slot->t.dtype) {
    case ESM_FLOAT64: *(double *)slot->t.data = f; break;
    case ESM_BOOL: *(uint8_t *)slot->t.data = (uint8_t)(i != 0); break;
    default: *(int64_t *)slot->t.data = i; break;
    }
}

static int is_float(const esm_slot *slot) { return slot->t.dtype == ESM_FLOAT32 || slot->t.dtype == ESM_FLOAT64; }

/* A list of scalars as the core stores it: a 1-d int64 or float64 tensor. */
static int is_scalar_list(const esm_slot *slot) {
    return slot->kind == SLOT_TENSOR && slot->t.ndim == 1 && (slot->t.dtype == ESM_INT64 || slot->t.dtype == ESM_FLOAT64);
}

static const esm_attr *find_attr(const esm_node_def *n, const char *name) {
    for (int32_t i = 0; i < n->num_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

/* An integer operand: attr `name` or input `index`; known tells whether its value is. */
static int int_operand(const esm_session *s, const esm_node_def *n, const char *name, int32_t index, int64_t *out) {
    const esm_attr *a = find_attr(n, name);
    if (a && (a->kind == ESM_ATTR_INT || a->kind == ESM_ATTR_BOOL)) {
        *out = a->i;
        return 1;
    }
    if (index < n->num_inputs && n->inputs[index] >= 0) {
        const esm_slot *slot = &s->slots[n->inputs[index]];
        if (slot->kind == SLOT_TENSOR && slot->known && slot->t.ndim == 0) {
            *out = esm_slot_int(slot);
            return 1;
        }
    }
    return 0;
}

static int inputs_known(const esm_session *s, const esm_node_def *n) {
    for (int32_t i = 0; i < n->num_inputs; i++) {
        if (n->inputs[i] < 0) continue;
        const esm_slot *slot = &s->slots[n->inputs[i]];
        if (slot->kind == SLOT_TENSOR && !slot->known) return 0;
        if (slot->kind == SLOT_SEQ)
            for (int32_t k = 0; k < slot->num_items; k++)
                if (s->slots[slot->items[k]].kind == SLOT_TENSOR && !s->slots[slot->items[k]].known) return 0;
    }
    return 1;
}

/* ---- scalar arithmetic (Python semantics) ------------------------------------------------- */

static int64_t floordiv_i(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t mod_i(int64_t a, int64_t b) {
    int64_t r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

/* The result kind of a scalar op on operands a (and b). */
static esm_type_kind arith_kind(int32_t prim, const esm_slot *a, const esm_slot *b) {
    switch (prim) {
    case ESM_PRIM_EQ: case ESM_PRIM_NE: case ESM_PRIM_LT: case ESM_PRIM_LE: case ESM_PRIM_GT: case ESM_PRIM_GE:
    case ESM_PRIM_AND: case ESM_PRIM_OR: case ESM_PRIM_NOT: case ESM_PRIM_BOOL:
        return ESM_T_BOOL;
    case ESM_PRIM_DIV: case ESM_PRIM_FLOAT: return ESM_T_FLOAT;
    case ESM_PRIM_INT: return ESM_T_INT;
    default: break;
    }
    if (is_float(a) || (b && is_float(b))) return ESM_T_FLOAT;
    if (prim == ESM_PRIM_POW && b && !is_float(b)) return ESM_T_INT;
    return ESM_T_INT;
}

/* Returns 0 on a division by zero. */
static int arith_eval(int32_t prim, const esm_slot *a, const esm_slot *b, esm_slot *out) {
    int fl = is_float(a) || (b && is_float(b));
    double x = esm_slot_float(a), y = b ? esm_slot_float(b) : 0.0;
    int64_t i = esm_slot_int(a), j = b ? esm_slot_int(b) : 0;
    int64_t ri = 0;
    double rf = 0.0;
    switch (prim) {
    case ESM_PRIM_ADD: ri = (int64_t)((uint64_t)i + (uint64_t)j); rf = x + y; break;
    case ESM_PRIM_SUB: ri = (int64_t)((uint64_t)i - (uint64_t)j); rf = x - y; break;
    case ESM_PRIM_MUL: ri = (int64_t)((uint64_t)i * (uint64_t)j); rf = x * y; break;
    case ESM_PRIM_DIV: if (y == 0.0) return 0; rf = x / y; break;
    case ESM_PRIM_FLOORDIV:
        if (fl ? y == 0.0 : j == 0) return 0;
        if (!fl && i == INT64_MIN && j == -1) return 0;
        ri = fl ? 0 : floordiv_i(i, j);
        rf = floor(x / y);
        break;
    case ESM_PRIM_MOD:
        if (fl ? y == 0.0 : j == 0) return 0;
        if (!fl && j == -1) { ri = 0; break; }
        ri = fl ? 0 : mod_i(i, j);
        rf = x - floor(x / y) * y;
        break;
    case ESM_PRIM_POW:
        rf = pow(x, y);
        if (!fl && j >= 0) { ri = 1; for (int64_t k = 0; k < j && k < 64; k++) ri = (int64_t)((uint64_t)ri * (uint64_t)i); }
        else fl = 1;
        break;
    case ESM_PRIM_NEG: ri = (int64_t)(0 - (uint64_t)i); rf = -x; break;
    case ESM_PRIM_ABS: ri = i < 0 ? (int64_t)(0 - (uint64_t)i) : i; rf = fabs(x); break;
    case ESM_PRIM_MIN: ri = i < j ? i : j; rf = x < y ? x : y; break;
    case ESM_PRIM_MAX: ri = i > j ? i : j; rf = x > y ? x : y; break;
    case ESM_PRIM_EQ: ri = fl ? x == y : i == j; break;
    case ESM_PRIM_NE: ri = fl ? x != y : i != j; break;
    case ESM_PRIM_LT: ri = fl ? x < y : i < j; break;
    case ESM_PRIM_LE: ri = fl ? x <= y : i <= j; break;
    case ESM_PRIM_GT: ri = fl ? x > y : i > j; break;
    case ESM_PRIM_GE: ri = fl ? x >= y : i >= j; break;
    case ESM_PRIM_AND: ri = (fl ? x != 0.0 : i != 0) && (is_float(b) ? y != 0.0 : j != 0); break;
    case ESM_PRIM_OR: ri = (fl ? x != 0.0 : i != 0) || (is_float(b) ? y != 0.0 : j != 0); break;
    case ESM_PRIM_NOT: ri = is_float(a) ? x == 0.0 : i == 0; break;
    case ESM_PRIM_BOOL: ri = is_float(a) ? x != 0.0 : i != 0; break;
    case ESM_PRIM_INT:
        if (is_float(a) && !(x > -9.2e18 && x < 9.2e18)) return 0;
        ri = is_float(a) ? (int64_t)x : i;
        break;
    case ESM_PRIM_FLOAT: rf = x; break;
    default: return 0;
    }
    if (out->t.dtype == ESM_FLOAT64 && !fl && prim != ESM_PRIM_DIV && prim != ESM_PRIM_FLOAT) rf = (double)ri;
    store_scalar(out, ri, rf);
    return 1;
}

static int is_binary(int32_t prim) {
    return prim != ESM_PRIM_NEG && prim != ESM_PRIM_NOT && prim != ESM_PRIM_ABS && prim != ESM_PRIM_INT &&
           prim != ESM_PRIM_FLOAT && prim != ESM_PRIM_BOOL;
}

static esm_status arith_prepare(esm_session *s, int32_t ni, int32_t prim) {
    const esm_node_def *n = &s->model->nodes[ni];
    int32_t arity = is_binary(prim) ? 2 : 1;
    if (n->num_inputs != arity || n->num_outputs != 1) return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "wrong number of inputs or outputs");
    for (int32_t i = 0; i < arity; i++) {
        const esm_slot *in = n->inputs[i] >= 0 ? &s->slots[n->inputs[i]] : NULL;
        if (!in || in->kind != SLOT_TENSOR || in->t.ndim != 0)
            return prim_fail(s, ni, ESM_ERR_UNSUPPORTED, "scalar arithmetic needs int/float/bool operands");
    }
    const esm_slot *a = &s->slots[n->inputs[0]], *b = arity == 2 ? &s->slots[n->inputs[1]] : NULL;
    int known = inputs_known(s, n);
    esm_status st = make_scalar(s, n->outputs[0], arith_kind(prim, a, b), known);
    if (st != ESM_OK || !known) return st;
    if (!arith_eval(prim, a, b, &s->slots[n->outputs[0]]))
        return prim_fail(s, ni, ESM_ERR_RUNTIME, "division by zero or an out-of-range conversion");
    return ESM_OK;
}

/* ---- plumbing ----------------------------------------------------------------------------- */

static esm_status prepare_param(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    const esm_const_def *c = &s->model->consts[n->constant];
    esm_status st = esm_slot_set_tensor(s, n->outputs[0], c->dtype, c->ndim, c->shape);
    esm_slot *slot = &s->slots[n->outputs[0]];
    slot->t.data = (void *)c->data; /* read-only: kernels never write their inputs */
    slot->known = 1;
    slot->needs_arena = 0;
    return st;
}

static esm_status prepare_constant(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    if (n->num_outputs != 1) return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "prim::constant needs one output");
    const esm_attr *a = find_attr(n, "value");
    if (!a && n->num_attrs > 0) a = &n->attrs[0];
    int32_t v = n->outputs[0];
    esm_slot *slot = &s->slots[v];
    esm_status st = ESM_OK;
    int64_t len = a ? a->count : 0;
    switch (a ? a->kind : ESM_ATTR_NONE) {
    case ESM_ATTR_NONE: slot->kind = SLOT_NONE; return ESM_OK;
    case ESM_ATTR_STRING: slot->kind = SLOT_STR; slot->str = a->s; return ESM_OK;
    case ESM_ATTR_INT: case ESM_ATTR_DTYPE:
        if ((st = make_scalar(s, v, ESM_T_INT, 1)) == ESM_OK) store_scalar(slot, a->i, 0.0);
        break;
    case ESM_ATTR_BOOL:
        if ((st = make_scalar(s, v, ESM_T_BOOL, 1)) == ESM_OK) store_scalar(slot, a->i, 0.0);
        break;
    case ESM_ATTR_FLOAT:
        if ((st = make_scalar(s, v, ESM_T_FLOAT, 1)) == ESM_OK) store_scalar(slot, 0, a->f);
        break;
    case ESM_ATTR_INTS:
        if ((st = make_tensor(s, v, ESM_INT64, 1, &len, 1)) == ESM_OK && len) memcpy(slot->t.data, a->ints, (size_t)len * 8);
        break;
    case ESM_ATTR_FLOATS:
        if ((st = make_tensor(s, v, ESM_FLOAT64, 1, &len, 1)) == ESM_OK && len) memcpy(slot->t.data, a->floats, (size_t)len * 8);
        break;
    case ESM_ATTR_INPUT: case ESM_ATTR_ITEMS: return prim_fail(s, ni, ESM_ERR_UNSUPPORTED, "a constant that is a run-time attribute or a nested tuple");
    }
    return st;
}

/* prim::size(x, dim): always known once shapes are. */
static esm_status prepare_size(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    if (n->num_inputs < 1 || n->num_outputs != 1 || n->inputs[0] < 0 || s->slots[n->inputs[0]].kind != SLOT_TENSOR)
        return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "needs a tensor input and one output");
    const esm_tensor *x = &s->slots[n->inputs[0]].t;
    int32_t out = n->outputs[0];
    esm_status st;
    int64_t dim;
    if (int_operand(s, n, "dim", 1, &dim)) {
        if (dim < 0) dim += x->ndim;
        if (dim < 0 || dim >= x->ndim) return prim_fail(s, ni, ESM_ERR_SHAPE, "size(dim): dim out of range for the tensor's rank");
        if ((st = make_scalar(s, out, ESM_T_INT, 1)) == ESM_OK) store_scalar(&s->slots[out], x->shape[dim], 0.0);
        return st;
    }
    if (n->num_inputs > 1) return prim_fail(s, ni, ESM_ERR_UNSUPPORTED, "size(dim) with a dim computed at run time");
    int64_t len = x->ndim;
    if ((st = make_tensor(s, out, ESM_INT64, 1, &len, 1)) == ESM_OK && len) memcpy(s->slots[out].t.data, x->shape, (size_t)len * 8);
    s->slots[out].scalar = ESM_T_TENSOR;
    return st;
}

/* A list or tuple of scalars becomes a 1-d tensor (int64, or float64 if any is a float); one
 * holding tensors a sequence of item values. */
static esm_status prepare_construct(esm_session *s, int32_t ni, int32_t prim) {
    const esm_node_def *n = &s->model->nodes[ni];
    if (n->num_outputs != 1) return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "needs one output");
    int32_t out = n->outputs[0];
    int scalars = n->num_inputs > 0 || prim == ESM_PRIM_LIST_CONSTRUCT, floats = 0;
    for (int32_t i = 0; i < n->num_inputs; i++) {
        const esm_slot *in = n->inputs[i] >= 0 ? &s->slots[n->inputs[i]] : NULL;
        if (!in) return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "an omitted input");
        if (in->kind != SLOT_TENSOR || in->scalar == ESM_T_TENSOR) scalars = 0;
        else floats |= is_float(in);
    }
    const esm_value_def *vd = &s->model->values[out];
    if (n->num_inputs == 0 && vd->elem_kind == ESM_T_TENSOR) scalars = 0;
    if (!scalars) {
        s->slots[out].kind = SLOT_SEQ;
        s->slots[out].items = n->inputs;
        s->slots[out].num_items = n->num_inputs;
        return ESM_OK;
    }
    int64_t len = n->num_inputs;
    int known = inputs_known(s, n);
    esm_status st = make_tensor(s, out, floats ? ESM_FLOAT64 : ESM_INT64, 1, &len, known);
    if (st == ESM_OK && known) st = esm_prim_run(s, ni);
    return st;
}

/* `out` shows the storage of `target` (no copy). */
static void alias_of(esm_session *s, int32_t out, int32_t target) {
    s->slots[out] = s->slots[target];
    s->slots[out].alias = target;
    s->slots[out].needs_arena = 0;
    s->slots[out].offset = -1;
}

/* prim::scalar_tensor[dtype](x): a scalar as a 0-d tensor of `dtype`. */
static esm_status prepare_scalar_tensor(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    const esm_attr *a = find_attr(n, "dtype");
    if (n->num_inputs != 1 || n->num_outputs != 1 || n->inputs[0] < 0 || s->slots[n->inputs[0]].kind != SLOT_TENSOR)
        return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "needs one scalar input and one output");
    const esm_slot *in = &s->slots[n->inputs[0]];
    if (esm_numel(&in->t) != 1) return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "the input is not a scalar");
    esm_dtype dtype = a && a->kind == ESM_ATTR_DTYPE ? (esm_dtype)a->i : is_float(in) ? ESM_FLOAT32 : in->t.dtype;
    esm_status st = make_tensor(s, n->outputs[0], dtype, 0, NULL, in->known);
    s->slots[n->outputs[0]].scalar = ESM_T_TENSOR;
    if (st == ESM_OK && in->known) st = esm_prim_run(s, ni);
    return st;
}

/* list_index / tuple_index / unpack / unwrap_optional on sequences: aliases of items. */
static esm_status prepare_index(esm_session *s, int32_t ni, int32_t prim) {
    const esm_node_def *n = &s->model->nodes[ni];
    if (n->num_inputs < 1 || n->inputs[0] < 0) return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "needs a list or tuple input");
    const esm_slot *seq = &s->slots[n->inputs[0]];
    if (prim == ESM_PRIM_LEN) {
        int64_t len = seq->kind == SLOT_SEQ ? seq->num_items : seq->kind == SLOT_TENSOR && seq->t.ndim >= 1 ? seq->t.shape[0] : -1;
        if (len < 0 || n->num_outputs != 1) return prim_fail(s, ni, ESM_ERR_UNSUPPORTED, "len() of something that is not a list");
        esm_status st = make_scalar(s, n->outputs[0], ESM_T_INT, 1);
        if (st == ESM_OK) store_scalar(&s->slots[n->outputs[0]], len, 0.0);
        return st;
    }
    if (prim == ESM_PRIM_UNWRAP_OPTIONAL) {
        if (n->num_outputs != 1) return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "needs one output");
        alias_of(s, n->outputs[0], n->inputs[0]); /* None: run raises */
        return ESM_OK;
    }
    if (prim == ESM_PRIM_TUPLE_UNPACK || prim == ESM_PRIM_LIST_UNPACK) {
        if (is_scalar_list(seq) && seq->t.shape[0] == n->num_outputs) {
            for (int32_t i = 0; i < n->num_outputs; i++) {
                esm_status st = make_scalar(s, n->outputs[i], is_float(seq) ? ESM_T_FLOAT : ESM_T_INT, seq->known);
                if (st != ESM_OK) return st;
            }
            return seq->known ? esm_prim_run(s, ni) : ESM_OK;
        }
        if (seq->kind != SLOT_SEQ || seq->num_items != n->num_outputs) return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "unpacks a sequence of another length");
        for (int32_t i = 0; i < n->num_outputs; i++) alias_of(s, n->outputs[i], seq->items[i]);
        return ESM_OK;
    }
    if (n->num_outputs != 1) return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "needs one output");
    int64_t index;
    if (!int_operand(s, n, "index", 1, &index)) {
        /* runtime index into a list of scalars: computed by run */
        if (is_scalar_list(seq)) return make_scalar(s, n->outputs[0], is_float(seq) ? ESM_T_FLOAT : ESM_T_INT, 0);
        return prim_fail(s, ni, ESM_ERR_UNSUPPORTED, "indexing a list of tensors with an index computed at run time");
    }
    if (seq->kind != SLOT_SEQ && !is_scalar_list(seq)) return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "indexes something that is not a list or tuple");
    int64_t len = seq->kind == SLOT_SEQ ? seq->num_items : seq->t.shape[0];
    if (index < 0) index += len;
    if (index < 0 || index >= len) return prim_fail(s, ni, ESM_ERR_RUNTIME, "list index out of range");
    int32_t out = n->outputs[0];
    if (seq->kind == SLOT_SEQ) {
        alias_of(s, out, seq->items[index]);
        return ESM_OK;
    }
    esm_status st = make_scalar(s, out, is_float(seq) ? ESM_T_FLOAT : ESM_T_INT, seq->known);
    if (st == ESM_OK && seq->known) st = esm_prim_run(s, ni);
    return st;
}

static esm_status prepare_convert(esm_session *s, int32_t ni, int32_t prim) {
    const esm_node_def *n = &s->model->nodes[ni];
    if (n->num_outputs != 1 || n->num_inputs < 1 || n->inputs[0] < 0) return prim_fail(s, ni, ESM_ERR_INVALID_MODEL, "needs one input and one output");
    const esm_slot *in = &s->slots[n->inputs[0]];
    if (prim == ESM_PRIM_IS_NONE) {
        esm_status st = make_scalar(s, n->outputs[0], ESM_T_BOOL, 1);
        if (st == ESM_OK) store_scalar(&s->slots[n->outputs[0]], in->kind == SLOT_NONE, 0.0);
        return st;
    }
    if (in->kind != SLOT_TENSOR || esm_numel(&in->t) != 1) return prim_fail(s, ni, ESM_ERR_SHAPE, "converts a tensor that does not hold exactly one element");
    esm_type_kind kind = prim == ESM_PRIM_ITEM ? (is_float(in) ? ESM_T_FLOAT : in->t.dtype == ESM_BOOL ? ESM_T_BOOL : ESM_T_INT)
                                               : arith_kind(prim, in, NULL);
    esm_status st = make_scalar(s, n->outputs[0], kind, in->known);
    if (st == ESM_OK && in->known) st = esm_prim_run(s, ni);
    return st;
}

esm_status esm_prim_prepare(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    int32_t prim = s->model->ops[n->op].prim;
    switch (prim) {
    case ESM_PRIM_PARAM: return prepare_param(s, ni);
    case ESM_PRIM_CONSTANT: return prepare_constant(s, ni);
    case ESM_PRIM_RAISE:
        for (int32_t i = 0; i < n->num_outputs; i++) s->slots[n->outputs[i]].kind = SLOT_NONE;
        return ESM_OK;
    case ESM_PRIM_SIZE: return prepare_size(s, ni);
    case ESM_PRIM_LIST_CONSTRUCT: case ESM_PRIM_TUPLE_CONSTRUCT: return prepare_construct(s, ni, prim);
    case ESM_PRIM_LIST_INDEX: case ESM_PRIM_TUPLE_INDEX: case ESM_PRIM_TUPLE_UNPACK: case ESM_PRIM_LIST_UNPACK:
    case ESM_PRIM_LEN: case ESM_PRIM_UNWRAP_OPTIONAL:
        return prepare_index(s, ni, prim);
    case ESM_PRIM_SCALAR_TENSOR: return prepare_scalar_tensor(s, ni);
    case ESM_PRIM_INT: case ESM_PRIM_FLOAT: case ESM_PRIM_BOOL: case ESM_PRIM_ITEM: case ESM_PRIM_IS_NONE:
        if (prim == ESM_PRIM_ITEM || n->num_inputs < 1 || n->inputs[0] < 0 || s->slots[n->inputs[0]].t.ndim != 0 ||
            prim == ESM_PRIM_IS_NONE)
            return prepare_convert(s, ni, prim);
        return arith_prepare(s, ni, prim);
    default: return arith_prepare(s, ni, prim);
    }
}

/* ---- run ---------------------------------------------------------------------------------- */

static esm_status run_raise(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    const esm_attr *a = find_attr(n, "message");
    const char *msg = a && a->kind == ESM_ATTR_STRING ? a->s : NULL;
    for (int32_t i = 0; !msg && i < n->num_inputs; i++)
        if (n->inputs[i] >= 0 && s->slots[n->inputs[i]].kind == SLOT_STR) msg = s->slots[n->inputs[i]].str;
    for (int32_t i = 0; !msg && i < n->num_attrs; i++)
        if (n->attrs[i].kind == ESM_ATTR_STRING) msg = n->attrs[i].s;
    const char *loc = n->loc[0] ? n->loc : "model";
    return esm_session_fail(s, ESM_ERR_RUNTIME, "%s: raised: %s", loc, msg ? msg : "(no message)");
}

esm_status esm_prim_run(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    int32_t prim = s->model->ops[n->op].prim;
    esm_slot *out = n->num_outputs > 0 ? &s->slots[n->outputs[0]] : NULL;
    switch (prim) {
    case ESM_PRIM_RAISE: return run_raise(s, ni);
    case ESM_PRIM_LIST_CONSTRUCT: case ESM_PRIM_TUPLE_CONSTRUCT:
        if (out->kind == SLOT_TENSOR) {
            for (int32_t i = 0; i < n->num_inputs; i++) {
                const esm_slot *in = &s->slots[n->inputs[i]];
                if (out->t.dtype == ESM_FLOAT64) ((double *)out->t.data)[i] = esm_slot_float(in);
                else ((int64_t *)out->t.data)[i] = esm_slot_int(in);
            }
        }
        return ESM_OK;
    case ESM_PRIM_LIST_INDEX: case ESM_PRIM_TUPLE_INDEX: {
        const esm_slot *seq = &s->slots[n->inputs[0]];
        if (seq->kind != SLOT_TENSOR) return ESM_OK; /* an alias, fixed at prepare */
        int64_t len = seq->t.shape[0], index = 0;
        const esm_attr *a = find_attr(n, "index");
        index = a ? a->i : esm_slot_int(&s->slots[n->inputs[1]]);
        if (index < 0) index += len;
        if (index < 0 || index >= len) return prim_fail(s, ni, ESM_ERR_RUNTIME, "list index out of range");
        if (seq->t.dtype == ESM_FLOAT64) store_scalar(out, 0, ((const double *)seq->t.data)[index]);
        else store_scalar(out, ((const int64_t *)seq->t.data)[index], 0.0);
        return ESM_OK;
    }
    case ESM_PRIM_INT: case ESM_PRIM_FLOAT: case ESM_PRIM_BOOL: case ESM_PRIM_ITEM: {
        const esm_slot *in = &s->slots[n->inputs[0]];
        if (out->t.dtype == ESM_FLOAT64) store_scalar(out, 0, esm_slot_float(in));
        else if (out->t.dtype == ESM_BOOL) store_scalar(out, is_float(in) ? esm_slot_float(in) != 0.0 : esm_slot_int(in) != 0, 0.0);
        else if (is_float(in) && !(esm_slot_float(in) > -9.2e18 && esm_slot_float(in) < 9.2e18))
            return prim_fail(s, ni, ESM_ERR_RUNTIME, "int() of a value out of the int64 range");
        else store_scalar(out, esm_slot_int(in), 0.0);
        return ESM_OK;
    }
    case ESM_PRIM_TUPLE_UNPACK: case ESM_PRIM_LIST_UNPACK: {
        const esm_slot *seq = &s->slots[n->inputs[0]];
        for (int32_t i = 0; seq->kind == SLOT_TENSOR && i < n->num_outputs; i++) {
            if (seq->t.dtype == ESM_FLOAT64) store_scalar(&s->slots[n->outputs[i]], 0, ((const double *)seq->t.data)[i]);
            else store_scalar(&s->slots[n->outputs[i]], ((const int64_t *)seq->t.data)[i], 0.0);
        }
        return ESM_OK;
    }
    case ESM_PRIM_SCALAR_TENSOR: {
        const esm_slot *in = &s->slots[n->inputs[0]];
        double f = esm_slot_float(in);
        int64_t i = esm_slot_int(in);
        switch (out->t.dtype) {
        case ESM_FLOAT32: *(float *)out->t.data = (float)f; break;
        case ESM_FLOAT64: *(double *)out->t.data = f; break;
        case ESM_INT32: *(int32_t *)out->t.data = (int32_t)i; break;
        case ESM_INT64: *(int64_t *)out->t.data = i; break;
        case ESM_BOOL: *(uint8_t *)out->t.data = is_float(in) ? f != 0.0 : i != 0; break;
        }
        return ESM_OK;
    }
    case ESM_PRIM_UNWRAP_OPTIONAL:
        if (s->slots[n->inputs[0]].kind == SLOT_NONE) return prim_fail(s, ni, ESM_ERR_RUNTIME, "unwrap_optional: the value is None");
        return ESM_OK;
    case ESM_PRIM_PARAM: case ESM_PRIM_CONSTANT: case ESM_PRIM_SIZE: case ESM_PRIM_LEN: case ESM_PRIM_IS_NONE:
        return ESM_OK; /* fixed at prepare */
    default: {
        const esm_slot *a = &s->slots[n->inputs[0]];
        const esm_slot *b = is_binary(prim) ? &s->slots[n->inputs[1]] : NULL;
        if (!arith_eval(prim, a, b, out)) return prim_fail(s, ni, ESM_ERR_RUNTIME, "division by zero or an out-of-range conversion");
        return ESM_OK;
    }
    }
}
