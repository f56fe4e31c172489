/* fused.c - `prim::fused` elementwise groups, executed in one pass over the data.
 *
 * The group's sub-graph holds elementwise kernels. Elementwise ops commute with broadcasting,
 * so the group is computed tile by tile over its output's elements: each tile gathers
 * ESM_FUSED_TILE elements of every broadcast input (an input of the group's shape is read in
 * place), runs every kernel of the group on those short vectors (they stay in cache, in the
 * node's scratch), and writes the tile of each output.
 * 0-d inputs (IR scalars) are passed as they are, so the kernels' weak-scalar dtype rules hold.
 * A group whose outputs differ in shape, or that holds anything but kernels and constants,
 * runs as an ordinary inline block instead (same results, one pass per op) - which is also how
 * `prim::call` (a function body the inline pass did not splice) runs. */
#include <string.h>

#include "prim.h"
#include "session.h"

#define ESM_FUSED_TILE 256

static int same_shape(const esm_tensor *a, int32_t ndim, const int64_t *shape) {
    if (a->ndim != ndim) return 0;
    for (int32_t d = 0; d < ndim; d++)
        if (a->shape[d] != shape[d]) return 0;
    return 1;
}

/* Broadcast strides (in elements) of `t` against the group shape; 0 if not broadcastable. */
static int broadcast_strides(const esm_tensor *t, int32_t ndim, const int64_t *shape, int64_t *strides) {
    int32_t lead = ndim - t->ndim;
    if (lead < 0) return 0;
    int64_t stride = 1;
    for (int32_t d = ndim - 1; d >= 0; d--) {
        int64_t dim = d >= lead ? t->shape[d - lead] : 1;
        if (dim != 1 && dim != shape[d]) return 0;
        strides[d] = dim == 1 ? 0 : stride;
        stride *= dim;
    }
    return 1;
}

static int is_inner_kernel(const esm_session *s, int32_t ni) { return s->model->ops[s->model->nodes[ni].op].prim < 0; }

/* Decide whether the prepared (unfused) group can run tiled; build the plan if so. */
static esm_status plan_tiles(esm_session *s, int32_t ni) {
    const esm_model *m = s->model;
    const esm_node_def *n = &m->nodes[ni];
    const esm_block_def *body = &m->blocks[n->blocks[0]];
    esm_node_rt *rt = &s->nodes[ni];
    if (n->num_outputs == 0) return ESM_OK;
    const esm_tensor *first = &s->slots[n->outputs[0]].t;
    for (int32_t i = 0; i < n->num_outputs; i++)
        if (s->slots[n->outputs[i]].kind != SLOT_TENSOR || !same_shape(&s->slots[n->outputs[i]].t, first->ndim, first->shape)) return ESM_OK;
    for (int32_t k = 0; k < body->num_nodes; k++) {
        int32_t inner = body->nodes[k];
        int32_t prim = m->ops[m->nodes[inner].op].prim;
        if (prim >= 0 && prim != ESM_PRIM_CONSTANT && prim != ESM_PRIM_PARAM) return ESM_OK;
        if (prim < 0 && s->nodes[inner].ctx.scratch_bytes) return ESM_OK;
    }
    esm_fused_plan *p = esm_pool_alloc(&s->pool, 1, sizeof *p);
    int32_t *tile_of = esm_pool_alloc(&s->pool, (size_t)m->num_values, sizeof(int32_t));
    int32_t *sources = esm_pool_alloc(&s->pool, (size_t)m->num_values, sizeof(int32_t));
    if (!p || !tile_of || !sources) return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "out of memory in prepare");
    for (int32_t v = 0; v < m->num_values; v++) tile_of[v] = -1;
    int32_t num_tiles = 0, num_sources = 0;
    /* inner kernel outputs first, then the (non 0-d) values they read from outside */
    for (int32_t k = 0; k < body->num_nodes; k++) {
        const esm_node_def *in = &m->nodes[body->nodes[k]];
        if (!is_inner_kernel(s, body->nodes[k])) continue;
        for (int32_t i = 0; i < in->num_outputs; i++) tile_of[in->outputs[i]] = num_tiles++;
    }
    for (int32_t k = 0; k < body->num_nodes; k++) {
        const esm_node_def *in = &m->nodes[body->nodes[k]];
        if (!is_inner_kernel(s, body->nodes[k])) continue;
        for (int32_t i = 0; i < in->num_inputs; i++) {
            int32_t v = in->inputs[i];
            if (v < 0 || tile_of[v] >= 0) continue;
            const esm_slot *slot = &s->slots[v];
            if (slot->kind != SLOT_TENSOR) return ESM_OK;
            if (slot->t.ndim == 0) continue;
            tile_of[v] = num_tiles++;
            sources[num_sources++] = v;
        }
    }
    for (int32_t r = 0; r < body->num_returns; r++)
        if (tile_of[body->returns[r]] < 0) return ESM_OK; /* a pass-through output: keep it simple */
    int64_t *strides = esm_pool_alloc(&s->pool, (size_t)num_sources + 1, ESM_MAX_DIMS * sizeof(int64_t));
    esm_tensor *tiles = esm_pool_alloc(&s->pool, (size_t)num_tiles + 1, sizeof(esm_tensor));
    if (!strides || !tiles) return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "out of memory in prepare");
    for (int32_t i = 0; i < num_sources; i++)
        if (!broadcast_strides(&s->slots[sources[i]].t, first->ndim, first->shape, strides + i * ESM_MAX_DIMS)) return ESM_OK;
    for (int32_t v = 0; v < m->num_values; v++) {
        if (tile_of[v] < 0) continue;
        esm_tensor *t = &tiles[tile_of[v]];
        t->dtype = s->slots[v].t.dtype;
        t->ndim = s->slots[v].t.ndim == 0 ? 0 : 1;
        t->shape[0] = ESM_FUSED_TILE;
    }
    /* point the inner kernels at the tiles and check they accept tile shapes */
    for (int32_t k = 0; k < body->num_nodes; k++) {
        int32_t inner = body->nodes[k];
        if (!is_inner_kernel(s, inner)) continue;
        esm_node_rt *irt = &s->nodes[inner];
        const esm_node_def *in = &m->nodes[inner];
        int32_t count = 0;
        for (int32_t i = 0; i < in->num_inputs; i++) {
            int32_t v = in->inputs[i];
            irt->in[count++] = v < 0 ? NULL : tile_of[v] >= 0 ? &tiles[tile_of[v]] : &s->slots[v].t;
        }
        if (count != irt->ctx.num_inputs) return esm_session_fail(s, ESM_ERR_UNSUPPORTED, "a fused kernel takes a list input");
        for (int32_t i = 0; i < in->num_outputs; i++) irt->out[i] = &tiles[tile_of[in->outputs[i]]];
        esm_dtype want[8] = {ESM_FLOAT32, ESM_FLOAT32, ESM_FLOAT32, ESM_FLOAT32, ESM_FLOAT32, ESM_FLOAT32, ESM_FLOAT32, ESM_FLOAT32};
        for (int32_t i = 0; i < in->num_outputs && i < 8; i++) want[i] = irt->out[i]->dtype;
        if (irt->ctx.num_inputs == 0 || m->ops[in->op].kernel->prepare(&irt->ctx) != ESM_OK) return esm_session_fail(s, ESM_ERR_UNSUPPORTED, "a fused kernel refused tile shapes");
        for (int32_t i = 0; i < in->num_outputs && i < 8; i++)
            if (irt->out[i]->dtype != want[i]) return esm_session_fail(s, ESM_ERR_UNSUPPORTED, "a fused kernel changed dtype on tiles");
        for (int32_t i = 0; i < in->num_outputs; i++) s->slots[in->outputs[i]].needs_arena = 0;
    }
    p->tiled = 1;
    p->num_sources = num_sources;
    p->sources = sources;
    p->source_strides = strides;
    p->num_tiles = num_tiles;
    p->tiles = tiles;
    p->tile_of = tile_of;
    p->numel = esm_numel(first);
    p->ndim = first->ndim;
    memcpy(p->shape, first->shape, sizeof p->shape);
    rt->fused = p;
    rt->ctx.scratch_bytes = (size_t)num_tiles * ESM_FUSED_TILE * 8;
    return ESM_OK;
}

esm_status esm_fused_prepare(esm_session *s, int32_t ni) {
    const esm_model *m = s->model;
    const esm_node_def *n = &m->nodes[ni];
    const esm_block_def *body = &m->blocks[n->blocks[0]];
    for (int32_t i = 0; i < n->num_inputs; i++) {
        esm_slot *param = &s->slots[body->params[i]];
        *param = s->slots[n->inputs[i]];
        param->alias = n->inputs[i];
        param->needs_arena = 0;
        param->offset = -1;
    }
    esm_status st = esm_prepare_block(s, n->blocks[0]);
    if (st != ESM_OK) return st;
    for (int32_t i = 0; i < n->num_outputs; i++) {
        const esm_slot *r = &s->slots[body->returns[i]];
        if (r->kind != SLOT_TENSOR) return esm_session_fail(s, ESM_ERR_UNSUPPORTED, "node %d (prim::fused) returns a non-tensor", (int)ni);
        if ((st = esm_slot_set_tensor(s, n->outputs[i], r->t.dtype, r->t.ndim, r->t.shape)) != ESM_OK) return st;
    }
    s->nodes[ni].ctx.scratch_bytes = 0;
    if (m->ops[n->op].prim == ESM_PRIM_CALL) return ESM_OK; /* a function body: runs inline */
    st = plan_tiles(s, ni);
    if (st != ESM_OK && s->nodes[ni].fused == NULL) {
        /* a kernel refused tiles: fall back to running the block as it is */
        s->error[0] = '\0';
        s->nodes[ni].ctx.scratch_bytes = 0;
        return esm_prepare_block(s, n->blocks[0]);
    }
    return st;
}

/* Copy `len` elements of the broadcast source `t` (`strides`) starting at group element `start`
 * into `dst`. */
static void gather(const esm_tensor *t, const int64_t *strides, int32_t ndim, const int64_t *shape, int64_t start, int64_t len,
                   unsigned char *dst) {
    size_t esize = esm_dtype_size(t->dtype);
    const unsigned char *src = t->data;
    int64_t idx[ESM_MAX_DIMS], offset = 0, rest = start;
    for (int32_t d = ndim - 1; d >= 0; d--) {
        idx[d] = rest % shape[d];
        rest /= shape[d];
        offset += idx[d] * strides[d];
    }
    for (int64_t e = 0; e < len; e++) {
        memcpy(dst + (size_t)e * esize, src + (size_t)offset * esize, esize);
        for (int32_t d = ndim - 1; d >= 0; d--) {
            offset += strides[d];
            if (++idx[d] < shape[d]) break;
            offset -= strides[d] * shape[d];
            idx[d] = 0;
        }
    }
}

esm_status esm_fused_run(esm_session *s, int32_t ni) {
    const esm_model *m = s->model;
    const esm_node_def *n = &m->nodes[ni];
    const esm_block_def *body = &m->blocks[n->blocks[0]];
    const esm_fused_plan *p = s->nodes[ni].fused;
    if (!p) {
        esm_status st = esm_run_block(s, n->blocks[0]);
        for (int32_t i = 0; st == ESM_OK && i < n->num_outputs; i++) esm_copy_value(s, n->outputs[i], body->returns[i]);
        return st;
    }
    unsigned char *scratch = s->nodes[ni].ctx.scratch;
    for (int32_t k = 0; k < p->num_tiles; k++) p->tiles[k].data = scratch + (size_t)k * ESM_FUSED_TILE * 8;
    for (int64_t start = 0; start < p->numel; start += ESM_FUSED_TILE) {
        int64_t len = p->numel - start < ESM_FUSED_TILE ? p->numel - start : ESM_FUSED_TILE;
        for (int32_t k = 0; k < p->num_tiles; k++) p->tiles[k].shape[0] = len;
        for (int32_t i = 0; i < p->num_sources; i++) {
            const esm_tensor *t = &s->slots[p->sources[i]].t;
            esm_tensor *tile = &p->tiles[p->tile_of[p->sources[i]]];
            if (same_shape(t, p->ndim, p->shape)) /* not broadcast: the kernels read it in place */
                tile->data = (unsigned char *)t->data + (size_t)start * esm_dtype_size(t->dtype);
            else
                gather(t, p->source_strides + i * ESM_MAX_DIMS, p->ndim, p->shape, start, len, tile->data);
        }
        for (int32_t k = 0; k < body->num_nodes; k++) {
            int32_t inner = body->nodes[k];
            if (!is_inner_kernel(s, inner)) continue;
            esm_node_rt *irt = &s->nodes[inner];
            s->kernel_error[0] = '\0';
            esm_status st = m->ops[m->nodes[inner].op].kernel->eval(&irt->ctx);
            if (st != ESM_OK) {
                char where[160];
                esm_describe_node(s, inner, where, sizeof where);
                return esm_session_fail(s, st, "%s (in fused node %d): %s", where, (int)ni, s->kernel_error);
            }
        }
        for (int32_t r = 0; r < n->num_outputs; r++) {
            const esm_tensor *tile = &p->tiles[p->tile_of[body->returns[r]]];
            esm_slot *out = &s->slots[n->outputs[r]];
            size_t esize = esm_dtype_size(out->t.dtype);
            unsigned char *dst = (unsigned char *)out->t.data + (size_t)start * esize;
            if (tile->ndim == 0)
                for (int64_t e = 0; e < len; e++) memcpy(dst + (size_t)e * esize, tile->data, esize);
            else
                memcpy(dst, tile->data, (size_t)len * esize);
        }
    }
    return ESM_OK;
}
