/* session.c - sessions: create, bind inputs, prepare (shape inference + memory plan), run.
 *
 * Prepare walks the graph once in execution order, asking each kernel's `prepare` for its
 * output shapes and scratch, evaluating structural prim:: ops whose results depend only on
 * shapes and constants, and checking control flow (both `if` branches agree, loop-carried
 * values keep their shapes). Then plan.c lays every remaining tensor out in one arena. Run is a
 * flat walk over the same nodes that only reads pointers fixed at prepare: no allocation. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "prim.h"
#include "session.h"

/* ---- errors ------------------------------------------------------------------------------ */

esm_status esm_session_fail(esm_session *s, esm_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    return status;
}

void esm_describe_node(const esm_session *s, int32_t node, char *buf, size_t len) {
    const esm_node_def *n = &s->model->nodes[node];
    const char *op = s->model->ops[n->op].name;
    if (n->loc[0]) snprintf(buf, len, "node %d (%s at %s)", (int)node, op, n->loc);
    else snprintf(buf, len, "node %d (%s)", (int)node, op);
}

void esm_describe_tensor(const esm_tensor *t, char *buf, size_t len) {
    size_t used = 0;
    if (!t) {
        snprintf(buf, len, "None");
        return;
    }
    used += (size_t)snprintf(buf, len, "[");
    for (int32_t d = 0; d < t->ndim && d < ESM_MAX_DIMS && used < len; d++)
        used += (size_t)snprintf(buf + used, len - used, d ? ", %lld" : "%lld", (long long)t->shape[d]);
    if (used < len) snprintf(buf + used, len - used, "] %s", esm_dtype_name(t->dtype));
}

/* A kernel's message without the "node N (op): " that esm_kernel_fail puts first (the core
 * writes its own, with the source location). */
static const char *strip_node_prefix(const char *msg) {
    const char *end = strncmp(msg, "node ", 5) == 0 ? strstr(msg, "): ") : NULL;
    return end && end - msg < 96 ? end + 3 : msg;
}

/* "node 3 (conv2d at model.py:3:5): <what>; inputs [..] float32, [..] float32" */
static esm_status node_fail(esm_session *s, int32_t node, esm_status st, const char *what) {
    char where[160], shapes[256] = "", one[96];
    what = strip_node_prefix(what);
    esm_describe_node(s, node, where, sizeof where);
    const esm_node_rt *rt = &s->nodes[node];
    size_t used = 0;
    for (int32_t i = 0; rt->in && i < rt->ctx.num_inputs && used + 2 < sizeof shapes; i++) {
        esm_describe_tensor(rt->in[i], one, sizeof one);
        used += (size_t)snprintf(shapes + used, sizeof shapes - used, i ? ", %s" : "%s", one);
    }
    return esm_session_fail(s, st, "%s: %s%s%s", where, what, shapes[0] ? "; inputs " : "", shapes);
}

/* ---- slots ------------------------------------------------------------------------------- */

/* The first dim of `shape` that is negative or takes the product of the nonzero dims beyond 2^56
 * elements, or -1; *numel is the element count. The nonzero dims, not the running product: after
 * a 0 the count stays 0, but kernels still multiply the other dims into strides and sizes. */
static int32_t bad_dim(int32_t ndim, const int64_t *shape, uint64_t *numel) {
    uint64_t span = 1;
    *numel = 1;
    for (int32_t d = 0; d < ndim; d++) {
        if (shape[d] < 0 || (shape[d] > 0 && span > ((uint64_t)1 << 56) / (uint64_t)shape[d])) return d;
        *numel *= (uint64_t)shape[d];
        if (shape[d] > 0) span *= (uint64_t)shape[d];
    }
    return -1;
}

esm_status esm_slot_set_tensor(esm_session *s, int32_t value, esm_dtype dtype, int32_t ndim, const int64_t *shape) {
    esm_slot *slot = &s->slots[value];
    if (ndim < 0 || ndim > ESM_MAX_DIMS || dtype < ESM_FLOAT32 || dtype > ESM_BOOL)
        return esm_session_fail(s, ESM_ERR_UNSUPPORTED, "value %s: rank %d or dtype %d out of range",
                                s->model->values[value].name, (int)ndim, (int)dtype);
    uint64_t numel;
    int32_t bad = bad_dim(ndim, shape, &numel);
    if (bad >= 0)
        return esm_session_fail(s, ESM_ERR_SHAPE, "value %s: dim %d is %lld", s->model->values[value].name, (int)bad,
                                (long long)shape[bad]);
    slot->kind = SLOT_TENSOR;
    slot->t.dtype = dtype;
    slot->t.ndim = ndim;
    memset(slot->t.shape, 0, sizeof slot->t.shape);
    for (int32_t d = 0; d < ndim; d++) slot->t.shape[d] = shape[d];
    slot->bytes = (size_t)numel * esm_dtype_size(dtype);
    slot->needs_arena = 1;
    slot->known = 0;
    slot->t.data = NULL;
    return ESM_OK;
}

int64_t esm_slot_int(const esm_slot *slot) {
    switch (slot->t.dtype) {
    case ESM_INT64: return *(const int64_t *)slot->t.data;
    case ESM_INT32: return *(const int32_t *)slot->t.data;
    case ESM_BOOL: return *(const uint8_t *)slot->t.data != 0;
    case ESM_FLOAT32: return esm_saturate_i64(*(const float *)slot->t.data);
    case ESM_FLOAT64: return esm_saturate_i64(*(const double *)slot->t.data);
    }
    return 0;
}

double esm_slot_float(const esm_slot *slot) {
    switch (slot->t.dtype) {
    case ESM_FLOAT32: return *(const float *)slot->t.data;
    case ESM_FLOAT64: return *(const double *)slot->t.data;
    default: return (double)esm_slot_int(slot);
    }
}

void esm_copy_value(esm_session *s, int32_t to, int32_t from) {
    esm_slot *dst = &s->slots[to], *src = &s->slots[from];
    if (src->kind == SLOT_TENSOR && dst->t.data && src->t.data && dst->t.data != src->t.data)
        memcpy(dst->t.data, src->t.data, src->bytes);
}

/* Make `to` a fresh arena tensor of the same type as `from`. */
static esm_status slot_like(esm_session *s, int32_t to, int32_t from) {
    const esm_slot *src = &s->slots[from];
    if (src->kind == SLOT_NONE) {
        s->slots[to].kind = SLOT_NONE;
        return ESM_OK;
    }
    if (src->kind != SLOT_TENSOR)
        return esm_session_fail(s, ESM_ERR_UNSUPPORTED, "value %s: lists, tuples and strings cannot flow through if/loop here",
                                s->model->values[from].name);
    esm_status st = esm_slot_set_tensor(s, to, src->t.dtype, src->t.ndim, src->t.shape);
    s->slots[to].scalar = src->scalar;
    return st;
}

static int same_type(const esm_slot *a, const esm_slot *b) {
    if (a->kind != b->kind) return 0;
    if (a->kind != SLOT_TENSOR) return 1;
    if (a->t.dtype != b->t.dtype || a->t.ndim != b->t.ndim) return 0;
    for (int32_t d = 0; d < a->t.ndim; d++)
        if (a->t.shape[d] != b->t.shape[d]) return 0;
    return 1;
}

/* ---- prepare ----------------------------------------------------------------------------- */

/* Resolve INPUT attrs (the IR's run-time attributes, e.g. reshape's shape [x.size(0), -1]) into
 * ordinary attrs read from the input's value, and mark which inputs they take. Shape-like attrs
 * (ints) must be known at prepare; float/bool ones may change per run (refreshed before eval). */
static esm_status resolve_attrs(esm_session *s, int32_t ni, uint8_t *taken) {
    const esm_node_def *n = &s->model->nodes[ni];
    esm_node_rt *rt = &s->nodes[ni];
    int32_t dynamic = 0, any = 0;
    for (int32_t i = 0; i < n->num_attrs; i++) any |= n->attrs[i].kind == ESM_ATTR_INPUT;
    rt->ctx.attrs = n->attrs;
    if (!any) return ESM_OK;
    rt->attrs = esm_pool_alloc(&s->pool, (size_t)n->num_attrs, sizeof(esm_attr));
    rt->attr_source = esm_pool_alloc(&s->pool, (size_t)n->num_attrs, sizeof(int32_t));
    if (!rt->attrs || !rt->attr_source) return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "out of memory in prepare");
    for (int32_t i = 0; i < n->num_attrs; i++) {
        esm_attr *a = &rt->attrs[i];
        *a = n->attrs[i];
        rt->attr_source[i] = -1;
        if (a->kind != ESM_ATTR_INPUT) continue;
        int32_t v = n->inputs[a->i];
        taken[a->i] = 1;
        const esm_slot *slot = v >= 0 ? &s->slots[v] : NULL;
        char msg[200];
        if (!slot || slot->kind == SLOT_NONE) {
            a->kind = ESM_ATTR_NONE;
        } else if (slot->kind == SLOT_TENSOR && slot->t.ndim == 0 && slot->scalar != ESM_T_TENSOR) {
            a->kind = slot->scalar == ESM_T_FLOAT ? ESM_ATTR_FLOAT : slot->scalar == ESM_T_BOOL ? ESM_ATTR_BOOL : ESM_ATTR_INT;
            if (!slot->known && a->kind == ESM_ATTR_INT) {
                snprintf(msg, sizeof msg, "attribute %s is an int computed at run time from data; this runtime needs it known once the input shapes are", a->name);
                return node_fail(s, ni, ESM_ERR_UNSUPPORTED, msg);
            }
            if (slot->known) {
                a->i = esm_slot_int(slot);
                a->f = esm_slot_float(slot);
            } else {
                rt->attr_source[i] = v;
                dynamic = 1;
            }
        } else if (slot->kind == SLOT_TENSOR && slot->t.ndim == 1 && slot->known &&
                   (slot->t.dtype == ESM_INT64 || slot->t.dtype == ESM_FLOAT64)) {
            a->kind = slot->t.dtype == ESM_INT64 ? ESM_ATTR_INTS : ESM_ATTR_FLOATS;
            a->ints = slot->t.data;
            a->floats = slot->t.data;
            a->count = (int32_t)slot->t.shape[0];
        } else {
            snprintf(msg, sizeof msg, "attribute %s is read from a value that is not a scalar or a list known at prepare", a->name);
            return node_fail(s, ni, ESM_ERR_UNSUPPORTED, msg);
        }
    }
    rt->ctx.attrs = rt->attrs;
    rt->dynamic_attrs = (uint8_t)dynamic;
    return ESM_OK;
}

/* Ops whose output is their input's bytes under another shape: the output shows the input's
 * storage (the kernel's eval then copies nothing), and the planner keeps the input alive as long
 * as the view is used. */
static void share_view_storage(esm_session *s, int32_t ni) {
    static const char *const VIEWS[] = {"reshape", "squeeze", "unsqueeze", "flatten"};
    const esm_node_def *n = &s->model->nodes[ni];
    const char *op = s->model->ops[n->op].name;
    int is_view = 0;
    for (size_t i = 0; i < sizeof VIEWS / sizeof VIEWS[0]; i++) is_view |= strcmp(op, VIEWS[i]) == 0;
    if (!is_view || n->num_outputs != 1 || n->num_inputs < 1 || n->inputs[0] < 0) return;
    esm_slot *out = &s->slots[n->outputs[0]];
    const esm_slot *in = &s->slots[n->inputs[0]];
    if (in->kind != SLOT_TENSOR || in->t.dtype != out->t.dtype || in->bytes != out->bytes) return;
    out->alias = n->inputs[0];
    out->needs_arena = 0;
    out->known = in->known;
    out->t.data = in->t.data;
}

static esm_status prepare_kernel(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    esm_node_rt *rt = &s->nodes[ni];
    uint8_t *taken = esm_pool_alloc(&s->pool, (size_t)n->num_inputs + 1, 1);
    if (!taken) return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "out of memory in prepare");
    esm_status st = resolve_attrs(s, ni, taken);
    if (st != ESM_OK) return st;
    int32_t count = 0;
    for (int32_t i = 0; i < n->num_inputs; i++) {
        const esm_slot *in = n->inputs[i] >= 0 ? &s->slots[n->inputs[i]] : NULL;
        if (!taken[i]) count += in && in->kind == SLOT_SEQ ? in->num_items : 1;
    }
    rt->in = esm_pool_alloc(&s->pool, (size_t)count + 1, sizeof(esm_tensor *));
    rt->out = esm_pool_alloc(&s->pool, (size_t)n->num_outputs + 1, sizeof(esm_tensor *));
    if (!rt->in || !rt->out) return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "out of memory in prepare");
    count = 0;
    for (int32_t i = 0; i < n->num_inputs; i++) {
        const esm_slot *in = n->inputs[i] >= 0 ? &s->slots[n->inputs[i]] : NULL;
        if (taken[i]) continue;
        if (in && in->kind == SLOT_SEQ) {
            for (int32_t k = 0; k < in->num_items; k++) {
                const esm_slot *item = &s->slots[in->items[k]];
                if (item->kind != SLOT_TENSOR) return node_fail(s, ni, ESM_ERR_UNSUPPORTED, "a list input holds a non-tensor item");
                rt->in[count++] = &item->t;
            }
        } else {
            rt->in[count++] = in && in->kind == SLOT_TENSOR ? &in->t : NULL;
        }
    }
    /* every kernel writes outputs[0]; not every kernel checks that it exists */
    if (n->num_outputs < 1) return node_fail(s, ni, ESM_ERR_INVALID_MODEL, "has no output");
    for (int32_t i = 0; i < n->num_outputs; i++) {
        esm_slot *out = &s->slots[n->outputs[i]];
        memset(&out->t, 0, sizeof out->t);
        rt->out[i] = &out->t;
    }
    esm_node_ctx *ctx = &rt->ctx;
    ctx->op = s->model->ops[n->op].name;
    ctx->node_index = ni;
    ctx->num_inputs = count;
    ctx->inputs = rt->in;
    ctx->num_outputs = n->num_outputs;
    ctx->outputs = rt->out;
    ctx->num_attrs = n->num_attrs;
    ctx->scratch = NULL;
    ctx->scratch_bytes = 0;
    ctx->num_threads = s->threads ? s->options.num_threads : 1;
    ctx->pool = s->threads;
    ctx->error = s->kernel_error;
    s->kernel_error[0] = '\0';
    st = s->model->ops[n->op].kernel->prepare(ctx);
    if (st != ESM_OK) return node_fail(s, ni, st, s->kernel_error[0] ? s->kernel_error : esm_status_str(st));
    for (int32_t i = 0; i < n->num_outputs; i++) {
        esm_tensor t = *rt->out[i];
        if ((st = esm_slot_set_tensor(s, n->outputs[i], t.dtype, t.ndim, t.shape)) != ESM_OK)
            return node_fail(s, ni, st, "the kernel's prepare produced an invalid output shape");
        esm_type_kind k = s->model->values[n->outputs[i]].kind;
        s->slots[n->outputs[i]].scalar = (uint8_t)(k == ESM_T_INT || k == ESM_T_FLOAT || k == ESM_T_BOOL ? k : ESM_T_TENSOR);
    }
    share_view_storage(s, ni);
    return ESM_OK;
}

static esm_status prepare_if(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    const esm_block_def *then_b = &s->model->blocks[n->blocks[0]], *else_b = &s->model->blocks[n->blocks[1]];
    esm_status st;
    const esm_slot *cond = &s->slots[n->inputs[0]];
    if (cond->kind != SLOT_TENSOR || esm_numel(&cond->t) != 1) return node_fail(s, ni, ESM_ERR_INVALID_MODEL, "the condition is not a bool");
    if ((st = esm_prepare_block(s, n->blocks[0])) != ESM_OK || (st = esm_prepare_block(s, n->blocks[1])) != ESM_OK) return st;
    for (int32_t i = 0; i < n->num_outputs; i++) {
        const esm_slot *a = &s->slots[then_b->returns[i]], *b = &s->slots[else_b->returns[i]];
        if (!same_type(a, b)) {
            char sa[96], sb[96], msg[256];
            esm_describe_tensor(&a->t, sa, sizeof sa);
            esm_describe_tensor(&b->t, sb, sizeof sb);
            snprintf(msg, sizeof msg, "output %d is %s in the then-branch but %s in the else-branch; this runtime needs both to agree", (int)i, sa, sb);
            return node_fail(s, ni, ESM_ERR_UNSUPPORTED, msg);
        }
        if ((st = slot_like(s, n->outputs[i], then_b->returns[i])) != ESM_OK) return st;
    }
    return ESM_OK;
}

static int truthy(const esm_slot *slot) {
    return slot->t.dtype == ESM_FLOAT32 || slot->t.dtype == ESM_FLOAT64 ? esm_slot_float(slot) != 0.0 : esm_slot_int(slot) != 0;
}

/* A loop whose trip count is fixed at prepare (a constant, or arithmetic on shapes and constants)
 * and whose entry and body conditions are constant true - a `for i in range(n)` - runs exactly
 * that many times: one above esm_options.max_loop_iterations is refused now, not at the
 * iteration that crosses it. Every other loop (data-dependent counts, `while`) is bounded by
 * run_loop. */
static esm_status check_trip_count(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    const esm_slot *trips = &s->slots[n->inputs[0]], *first = &s->slots[n->inputs[1]];
    const esm_slot *again = &s->slots[s->model->blocks[n->blocks[0]].returns[0]];
    int64_t limit = s->options.max_loop_iterations;
    if (limit == 0 || !trips->known || !first->known || !again->known || !truthy(first) || !truthy(again)) return ESM_OK;
    int64_t count = esm_slot_int(trips);
    if (count <= limit) return ESM_OK;
    char msg[160];
    snprintf(msg, sizeof msg, "a trip count of %lld, more than %lld iterations (esm_options.max_loop_iterations)", (long long)count,
             (long long)limit);
    return node_fail(s, ni, ESM_ERR_RUNTIME, msg);
}

static esm_status prepare_loop(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    const esm_block_def *body = &s->model->blocks[n->blocks[0]];
    int32_t carried = n->num_inputs - 2;
    esm_status st;
    for (int i = 0; i < 2; i++)
        if (s->slots[n->inputs[i]].kind != SLOT_TENSOR || s->slots[n->inputs[i]].t.ndim != 0)
            return node_fail(s, ni, ESM_ERR_INVALID_MODEL, "the trip count and the condition must be scalars");
    if ((st = esm_slot_set_tensor(s, body->params[0], ESM_INT64, 0, NULL)) != ESM_OK) return st;
    s->slots[body->params[0]].scalar = ESM_T_INT;
    for (int32_t k = 0; k < carried; k++)
        if ((st = slot_like(s, body->params[1 + k], n->inputs[2 + k])) != ESM_OK) return st;
    if ((st = esm_prepare_block(s, n->blocks[0])) != ESM_OK) return st;
    const esm_slot *cond = &s->slots[body->returns[0]];
    if (cond->kind != SLOT_TENSOR || cond->t.ndim != 0) return node_fail(s, ni, ESM_ERR_INVALID_MODEL, "the body's condition is not a scalar");
    if ((st = check_trip_count(s, ni)) != ESM_OK) return st;
    for (int32_t k = 0; k < carried; k++) {
        const esm_slot *in = &s->slots[body->params[1 + k]], *out = &s->slots[body->returns[1 + k]];
        if (!same_type(in, out)) {
            char sa[96], sb[96], msg[300];
            esm_describe_tensor(&in->t, sa, sizeof sa);
            esm_describe_tensor(&out->t, sb, sizeof sb);
            snprintf(msg, sizeof msg, "loop-carried value %s enters as %s but the body returns %s; this runtime needs loop-carried shapes to stay fixed",
                     s->model->values[body->params[1 + k]].name, sa, sb);
            return node_fail(s, ni, ESM_ERR_UNSUPPORTED, msg);
        }
        if ((st = slot_like(s, n->outputs[k], body->params[1 + k])) != ESM_OK) return st;
    }
    s->nodes[ni].staged = 0;
    for (int32_t k = 0; k < carried; k++) {
        int32_t target = body->returns[1 + k], hops = 0;
        while (s->slots[target].alias >= 0 && hops++ < s->model->num_values) target = s->slots[target].alias;
        for (int32_t j = 1; j <= carried; j++) s->nodes[ni].staged |= target == body->params[j];
    }
    return ESM_OK;
}

static esm_status prepare_node(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    const esm_op_def *op = &s->model->ops[n->op];
    esm_node_rt *rt = &s->nodes[ni];
    rt->scratch_offset = -1;
    rt->skip = 0;
    rt->fused = NULL;
    esm_status st;
    switch (op->prim) {
    case -1: st = prepare_kernel(s, ni); break;
    case ESM_PRIM_IF: st = prepare_if(s, ni); break;
    case ESM_PRIM_LOOP: st = prepare_loop(s, ni); break;
    case ESM_PRIM_FUSED: case ESM_PRIM_CALL: st = esm_fused_prepare(s, ni); break;
    default: st = esm_prim_prepare(s, ni); break;
    }
    if (st != ESM_OK) return st;
    int all_known = n->num_outputs > 0 && op->prim >= 0;
    for (int32_t i = 0; i < n->num_outputs; i++) {
        const esm_slot *o = &s->slots[n->outputs[i]];
        all_known &= o->known || o->kind == SLOT_NONE || o->kind == SLOT_STR || (o->kind == SLOT_SEQ && o->alias < 0);
    }
    rt->skip = (uint8_t)(all_known && op->prim != ESM_PRIM_RAISE && op->prim != ESM_PRIM_UNWRAP_OPTIONAL);
    return ESM_OK;
}

esm_status esm_prepare_block(esm_session *s, int32_t block) {
    const esm_block_def *b = &s->model->blocks[block];
    for (int32_t k = 0; k < b->num_nodes; k++) {
        esm_status st = prepare_node(s, b->nodes[k]);
        if (st != ESM_OK) return st;
    }
    return ESM_OK;
}

/* ---- run --------------------------------------------------------------------------------- */

static esm_status run_kernel(esm_session *s, int32_t ni) {
    esm_node_rt *rt = &s->nodes[ni];
    const esm_kernel *k = s->model->ops[s->model->nodes[ni].op].kernel;
    for (int32_t i = 0; rt->dynamic_attrs && i < rt->ctx.num_attrs; i++) {
        if (rt->attr_source[i] < 0) continue;
        rt->attrs[i].i = esm_slot_int(&s->slots[rt->attr_source[i]]);
        rt->attrs[i].f = esm_slot_float(&s->slots[rt->attr_source[i]]);
    }
    s->kernel_error[0] = '\0';
    esm_status st = k->eval(&rt->ctx);
    if (st != ESM_OK) return node_fail(s, ni, st, s->kernel_error[0] ? s->kernel_error : esm_status_str(st));
    return ESM_OK;
}

static esm_status run_if(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    int32_t taken = n->blocks[truthy(&s->slots[n->inputs[0]]) ? 0 : 1];
    esm_status st = esm_run_block(s, taken);
    if (st != ESM_OK) return st;
    const esm_block_def *b = &s->model->blocks[taken];
    for (int32_t i = 0; i < n->num_outputs; i++) esm_copy_value(s, n->outputs[i], b->returns[i]);
    return ESM_OK;
}

static esm_status run_loop(esm_session *s, int32_t ni) {
    const esm_node_def *n = &s->model->nodes[ni];
    const esm_block_def *body = &s->model->blocks[n->blocks[0]];
    int32_t carried = n->num_inputs - 2;
    int64_t trips = esm_slot_int(&s->slots[n->inputs[0]]);
    int cond = truthy(&s->slots[n->inputs[1]]);
    int64_t limit = s->options.max_loop_iterations > 0 ? s->options.max_loop_iterations : INT64_MAX; /* 0: unlimited */
    int64_t *iter = (int64_t *)s->slots[body->params[0]].t.data;
    for (int32_t k = 0; k < carried; k++) esm_copy_value(s, body->params[1 + k], n->inputs[2 + k]);
    for (int64_t i = 0; i < trips && cond; i++) {
        if (i >= limit) {
            char where[160];
            esm_describe_node(s, ni, where, sizeof where);
            return esm_session_fail(s, ESM_ERR_RUNTIME, "%s: more than %lld iterations (esm_options.max_loop_iterations)", where, (long long)limit);
        }
        *iter = i;
        esm_status st = esm_run_block(s, n->blocks[0]);
        if (st != ESM_OK) return st;
        cond = truthy(&s->slots[body->returns[0]]);
        if (s->nodes[ni].staged) { /* (a, b) -> (b, a) must not read an overwritten param */
            for (int32_t k = 0; k < carried; k++) esm_copy_value(s, n->outputs[k], body->returns[1 + k]);
            for (int32_t k = 0; k < carried; k++) esm_copy_value(s, body->params[1 + k], n->outputs[k]);
        } else {
            for (int32_t k = 0; k < carried; k++) esm_copy_value(s, body->params[1 + k], body->returns[1 + k]);
        }
    }
    for (int32_t k = 0; k < carried; k++) esm_copy_value(s, n->outputs[k], body->params[1 + k]);
    return ESM_OK;
}

esm_status esm_run_block(esm_session *s, int32_t block) {
    const esm_block_def *b = &s->model->blocks[block];
    for (int32_t k = 0; k < b->num_nodes; k++) {
        int32_t ni = b->nodes[k];
        if (s->nodes[ni].skip) continue;
        esm_status st;
        switch (s->model->ops[s->model->nodes[ni].op].prim) {
        case -1: st = run_kernel(s, ni); break;
        case ESM_PRIM_IF: st = run_if(s, ni); break;
        case ESM_PRIM_LOOP: st = run_loop(s, ni); break;
        case ESM_PRIM_FUSED: case ESM_PRIM_CALL: st = esm_fused_run(s, ni); break;
        default: st = esm_prim_run(s, ni); break;
        }
        if (st != ESM_OK) return st;
    }
    return ESM_OK;
}

/* ---- public API -------------------------------------------------------------------------- */

void esm_options_init(esm_options *options) {
    if (!options) return;
    memset(options, 0, sizeof *options);
    options->num_threads = 1;
    options->max_arena_bytes = ESM_DEFAULT_MAX_ARENA_BYTES;
    options->max_loop_iterations = ESM_DEFAULT_MAX_LOOP_ITERATIONS;
}

esm_status esm_session_create(const esm_model *model, const esm_options *options, esm_session **out) {
    if (!out) return ESM_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!model) return ESM_ERR_INVALID_ARGUMENT;
    esm_options opts;
    esm_options_init(&opts);
    if (options) opts = *options;
    if (opts.num_threads < 1) opts.num_threads = 1;
    if (opts.arena && ((uintptr_t)opts.arena % 64)) return ESM_ERR_INVALID_ARGUMENT;
    if (opts.max_loop_iterations < 0) return ESM_ERR_INVALID_ARGUMENT;
    esm_heap heap;
    esm_heap_init(&heap, opts.allocator);
    esm_session *s = esm_heap_alloc(&heap, sizeof *s, 16);
    if (!s) return ESM_ERR_OUT_OF_MEMORY;
    s->model = model;
    s->options = opts;
    s->heap = heap;
    s->pool.heap = &s->heap;
    s->inputs = esm_heap_array(&s->heap, (size_t)model->num_inputs + 1, sizeof(esm_bound_input));
    s->slots = esm_heap_array(&s->heap, (size_t)model->num_values + 1, sizeof(esm_slot));
    s->nodes = esm_heap_array(&s->heap, (size_t)model->num_nodes + 1, sizeof(esm_node_rt));
    s->threads = esm_thread_pool_create(&s->heap, opts.num_threads);
    if (!s->inputs || !s->slots || !s->nodes) {
        esm_session_free(s);
        return ESM_ERR_OUT_OF_MEMORY;
    }
    *out = s;
    return ESM_OK;
}

static void release_arena(esm_session *s) {
    if (s->arena_owned) esm_heap_free(&s->heap, s->arena);
    s->arena = NULL;
    s->arena_owned = 0;
    s->arena_bytes = 0;
}

void esm_session_free(esm_session *session) {
    if (!session) return;
    esm_heap heap = session->heap;
    release_arena(session);
    esm_thread_pool_free(&heap, session->threads);
    esm_pool_release(&session->pool);
    esm_heap_free(&heap, session->inputs);
    esm_heap_free(&heap, session->slots);
    esm_heap_free(&heap, session->nodes);
    esm_heap_free(&heap, session);
}

const char *esm_session_error(const esm_session *session) { return session ? session->error : "session is NULL"; }

esm_status esm_session_set_input(esm_session *s, int32_t index, esm_dtype dtype, const int64_t *shape, int32_t ndim,
                                 const void *data, size_t bytes) {
    if (!s) return ESM_ERR_INVALID_ARGUMENT;
    const esm_model *m = s->model;
    if (index < 0 || index >= m->num_inputs)
        return esm_session_fail(s, ESM_ERR_INVALID_ARGUMENT, "input index %d out of range (the model has %d inputs)", (int)index, (int)m->num_inputs);
    const esm_tensor_info *info = &m->inputs[index].info;
    if (ndim < 0 || ndim > ESM_MAX_DIMS || (ndim > 0 && !shape) || (!data && bytes))
        return esm_session_fail(s, ESM_ERR_INVALID_ARGUMENT, "input %s: bad shape or data pointer", info->name);
    if (dtype != info->dtype)
        return esm_session_fail(s, ESM_ERR_INVALID_ARGUMENT, "input %s: dtype %s given, the model takes %s", info->name,
                                esm_dtype_name(dtype), esm_dtype_name(info->dtype));
    uint64_t numel;
    int32_t bad = bad_dim(ndim, shape, &numel);
    if (bad >= 0)
        return esm_session_fail(s, ESM_ERR_INVALID_ARGUMENT, "input %s: dim %d is %lld", info->name, (int)bad,
                                (long long)shape[bad]);
    if (numel * esm_dtype_size(dtype) != bytes)
        return esm_session_fail(s, ESM_ERR_INVALID_ARGUMENT, "input %s: %zu bytes given, the shape needs %llu", info->name, bytes,
                                (unsigned long long)(numel * esm_dtype_size(dtype)));
    esm_bound_input *in = &s->inputs[index];
    in->dtype = dtype;
    in->ndim = ndim;
    memset(in->shape, 0, sizeof in->shape);
    for (int32_t d = 0; d < ndim; d++) in->shape[d] = shape[d];
    in->data = data;
    in->bytes = bytes;
    in->bound = 1;
    return ESM_OK;
}

/* Inputs against the model's declared shapes; symbolic dims with one name must agree. */
static esm_status bind_input_shapes(esm_session *s) {
    const esm_model *m = s->model;
    for (int32_t i = 0; i < m->num_inputs; i++) {
        const esm_bound_input *in = &s->inputs[i];
        const esm_tensor_info *info = &m->inputs[i].info;
        if (!in->bound) return esm_session_fail(s, ESM_ERR_STATE, "input %s is not set (esm_session_set_input)", info->name);
        if (info->ndim >= 0 && in->ndim != info->ndim)
            return esm_session_fail(s, ESM_ERR_SHAPE, "input %s has %d dims, the model takes %d", info->name, (int)in->ndim, (int)info->ndim);
        for (int32_t d = 0; info->ndim >= 0 && d < in->ndim; d++) {
            if (info->shape[d] >= 0 && info->shape[d] != in->shape[d])
                return esm_session_fail(s, ESM_ERR_SHAPE, "input %s: dim %d is %lld, the model takes %lld", info->name, (int)d,
                                        (long long)in->shape[d], (long long)info->shape[d]);
            for (int32_t j = 0; info->dim_names[d] && j <= i; j++) {
                const esm_tensor_info *other = &m->inputs[j].info;
                for (int32_t e = 0; e < other->ndim && (j < i || e < d); e++)
                    if (other->dim_names[e] && strcmp(other->dim_names[e], info->dim_names[d]) == 0 &&
                        s->inputs[j].shape[e] != in->shape[d])
                        return esm_session_fail(s, ESM_ERR_SHAPE, "input %s: dim %d (%s) is %lld but %s has %s = %lld", info->name,
                                                (int)d, info->dim_names[d], (long long)in->shape[d], other->name,
                                                info->dim_names[d], (long long)s->inputs[j].shape[e]);
            }
        }
        esm_status st = esm_slot_set_tensor(s, m->inputs[i].value, in->dtype, in->ndim, in->shape);
        if (st != ESM_OK) return st;
        esm_type_kind kind = m->values[m->inputs[i].value].kind;
        s->slots[m->inputs[i].value].needs_arena = 0;
        s->slots[m->inputs[i].value].scalar = (uint8_t)(kind == ESM_T_INT || kind == ESM_T_FLOAT || kind == ESM_T_BOOL ? kind : ESM_T_TENSOR);
    }
    return ESM_OK;
}

/* Aliases (tuple items, fused-group params, ...) show their target's storage; targets may be
 * model inputs, whose pointers change at every run, so run calls this too (no allocation). */
static void resolve_aliases(esm_session *s) {
    for (int32_t k = 0; k < s->num_aliases; k++) {
        int32_t v = s->aliases[k], target = v, hops = 0;
        while (s->slots[target].alias >= 0 && hops++ < s->model->num_values) target = s->slots[target].alias;
        s->slots[v].t.data = s->slots[target].t.data;
    }
}

static esm_status collect_aliases(esm_session *s) {
    s->num_aliases = 0;
    s->aliases = esm_pool_alloc(&s->pool, (size_t)s->model->num_values + 1, sizeof(int32_t));
    if (!s->aliases) return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "out of memory in prepare");
    for (int32_t v = 0; v < s->model->num_values; v++)
        if (s->slots[v].alias >= 0) s->aliases[s->num_aliases++] = v;
    return ESM_OK;
}

/* After planning: every arena slot gets its pointer, kernels their scratch. */
static void assign_pointers(esm_session *s) {
    const esm_model *m = s->model;
    for (int32_t v = 0; v < m->num_values; v++)
        if (s->slots[v].offset >= 0) s->slots[v].t.data = s->arena + s->slots[v].offset;
    for (int32_t i = 0; i < m->num_nodes; i++)
        s->nodes[i].ctx.scratch = s->nodes[i].scratch_offset >= 0 ? s->arena + s->nodes[i].scratch_offset : NULL;
}

esm_status esm_session_prepare(esm_session *s) {
    if (!s) return ESM_ERR_INVALID_ARGUMENT;
    const esm_model *m = s->model;
    s->prepared = s->ran = 0;
    s->error[0] = '\0';
    esm_pool_release(&s->pool);
    memset(s->slots, 0, sizeof(esm_slot) * (size_t)m->num_values);
    memset(s->nodes, 0, sizeof(esm_node_rt) * (size_t)m->num_nodes);
    for (int32_t v = 0; v < m->num_values; v++) {
        s->slots[v].alias = -1;
        s->slots[v].offset = -1;
        s->slots[v].kind = SLOT_NONE;
    }
    esm_status st = bind_input_shapes(s);
    if (st == ESM_OK) st = esm_prepare_block(s, m->main_block);
    if (st != ESM_OK) return st;
    for (int32_t i = 0; i < m->num_outputs; i++)
        if (s->slots[m->outputs[i].value].kind != SLOT_TENSOR)
            return esm_session_fail(s, ESM_ERR_UNSUPPORTED, "output %s is not a tensor", m->outputs[i].name);
    size_t bytes = 0;
    if ((st = esm_plan_memory(s, &bytes)) != ESM_OK) return st;
    if (s->options.max_arena_bytes && bytes > s->options.max_arena_bytes)
        return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "the plan needs a %zu-byte arena; esm_options.max_arena_bytes is %zu", bytes,
                                s->options.max_arena_bytes);
    if (s->options.arena) {
        if (bytes > s->options.arena_bytes)
            return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "the plan needs a %zu-byte arena; the one in esm_options has %zu", bytes,
                                    s->options.arena_bytes);
        release_arena(s);
        s->arena = s->options.arena;
    } else if (!s->arena || s->arena_bytes < bytes) {
        release_arena(s);
        s->arena = esm_heap_alloc(&s->heap, bytes ? bytes : 64, 64);
        if (!s->arena) return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "cannot allocate a %zu-byte arena", bytes);
        s->arena_owned = 1;
    }
    s->arena_bytes = bytes;
    assign_pointers(s);
    if ((st = collect_aliases(s)) != ESM_OK) return st;
    resolve_aliases(s);
    for (int32_t i = 0; i < m->num_inputs; i++)
        memcpy(s->inputs[i].prepared_shape, s->inputs[i].shape, sizeof s->inputs[i].shape);
    s->prepared = 1;
    return ESM_OK;
}

esm_status esm_session_run(esm_session *s) {
    if (!s) return ESM_ERR_INVALID_ARGUMENT;
    const esm_model *m = s->model;
    s->ran = 0;
    if (!s->prepared) return esm_session_fail(s, ESM_ERR_STATE, "esm_session_run before a successful esm_session_prepare");
    for (int32_t i = 0; i < m->num_inputs; i++) {
        const esm_bound_input *in = &s->inputs[i];
        esm_slot *slot = &s->slots[m->inputs[i].value];
        if (in->ndim != slot->t.ndim || memcmp(in->shape, in->prepared_shape, sizeof in->shape) != 0)
            return esm_session_fail(s, ESM_ERR_STATE, "input %s changed shape since esm_session_prepare; prepare again", m->inputs[i].name);
        slot->t.data = (void *)in->data;
    }
    resolve_aliases(s);
    esm_status st = esm_run_block(s, m->main_block);
    if (st != ESM_OK) return st;
    s->ran = 1;
    return ESM_OK;
}

esm_status esm_session_output(const esm_session *s, int32_t index, esm_tensor_info *info, const void **data) {
    if (!s || !info || !data || index < 0 || index >= s->model->num_outputs) return ESM_ERR_INVALID_ARGUMENT;
    if (!s->ran) return ESM_ERR_STATE;
    const esm_slot *slot = &s->slots[s->model->outputs[index].value];
    memset(info, 0, sizeof *info);
    info->name = s->model->outputs[index].name;
    info->dtype = slot->t.dtype;
    info->ndim = slot->t.ndim;
    for (int32_t d = 0; d < slot->t.ndim; d++) info->shape[d] = slot->t.shape[d];
    *data = slot->t.data;
    return ESM_OK;
}

size_t esm_session_arena_bytes(const esm_session *session) { return session ? session->arena_bytes : 0; }
