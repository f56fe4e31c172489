/* plan.c - memory planning: tensor lifetimes over the execution order -> one arena.
 *
 * Positions number the nodes in execution order, nested blocks inline (a node, then its
 * blocks' nodes). A value lives from the node that defines it to its last use. A use inside a
 * loop body of a value defined before the loop extends to the loop's end (the body runs again),
 * block returns are read when their block ends, loop-carried params live through the whole
 * loop, and model outputs live to the end. Kernel scratch lives for its node only. Offsets are
 * then assigned greedily, largest first, at the lowest 64-byte aligned offset that does not
 * overlap anything alive at the same time (the classic TFLite "greedy by size" planner). */
#include <stdlib.h>
#include <string.h>

#include "prim.h"
#include "session.h"

#define ALIGN 64
#define END_OF_TIME INT32_MAX
#define MAX_ARENA ((size_t)1 << 60)

typedef struct loop_frame {
    int32_t start, end;
} loop_frame;

typedef struct liveness {
    esm_session *s;
    int32_t pos;
    loop_frame loops[ESM_MAX_BLOCK_DEPTH + 2];
    int32_t depth;
} liveness;

static void use_value(liveness *L, int32_t v, int32_t at, int hops) {
    esm_slot *slot = &L->s->slots[v];
    int32_t when = at;
    for (int32_t i = 0; i < L->depth; i++) {
        if (slot->def_pos < L->loops[i].start) {
            if (L->loops[i].end > when) when = L->loops[i].end;
            break; /* the outermost such loop ends last */
        }
    }
    if (when > slot->last_use) slot->last_use = when;
    if (hops > 64) return;
    if (slot->alias >= 0) use_value(L, slot->alias, at, hops + 1);
    if (slot->kind == SLOT_SEQ)
        for (int32_t k = 0; k < slot->num_items; k++) use_value(L, slot->items[k], at, hops + 1);
}

static void define_value(liveness *L, int32_t v, int32_t at) {
    L->s->slots[v].def_pos = at;
    L->s->slots[v].last_use = at;
}

/* Pass 1: positions (node start, end of its blocks). */
static void number_block(liveness *L, int32_t block) {
    const esm_model *m = L->s->model;
    const esm_block_def *b = &m->blocks[block];
    for (int32_t k = 0; k < b->num_nodes; k++) {
        int32_t ni = b->nodes[k];
        esm_node_rt *rt = &L->s->nodes[ni];
        rt->pos = L->pos++;
        int tiled = rt->fused && rt->fused->tiled;
        for (int32_t j = 0; j < m->nodes[ni].num_blocks && !tiled; j++) number_block(L, m->nodes[ni].blocks[j]);
        rt->end_pos = L->pos++;
    }
}

/* Pass 2: definitions and uses. */
static void live_block(liveness *L, int32_t block, int32_t owner_end) {
    const esm_model *m = L->s->model;
    const esm_block_def *b = &m->blocks[block];
    for (int32_t k = 0; k < b->num_nodes; k++) {
        int32_t ni = b->nodes[k];
        const esm_node_def *n = &m->nodes[ni];
        const esm_node_rt *rt = &L->s->nodes[ni];
        int32_t prim = m->ops[n->op].prim;
        for (int32_t i = 0; i < n->num_inputs; i++)
            if (n->inputs[i] >= 0) use_value(L, n->inputs[i], rt->pos, 0);
        for (int32_t i = 0; i < n->num_outputs; i++) define_value(L, n->outputs[i], rt->pos);
        if (rt->fused && rt->fused->tiled) continue;
        for (int32_t j = 0; j < n->num_blocks; j++) {
            const esm_block_def *inner = &m->blocks[n->blocks[j]];
            if (prim == ESM_PRIM_LOOP) {
                L->loops[L->depth].start = rt->pos;
                L->loops[L->depth].end = rt->end_pos;
                L->depth++;
            }
            for (int32_t i = 0; i < inner->num_params; i++) {
                define_value(L, inner->params[i], rt->pos);
                if (prim == ESM_PRIM_LOOP) use_value(L, inner->params[i], rt->end_pos, 0);
            }
            live_block(L, n->blocks[j], rt->end_pos);
            if (prim == ESM_PRIM_LOOP) L->depth--;
        }
    }
    for (int32_t i = 0; i < b->num_returns; i++) use_value(L, b->returns[i], owner_end, 0);
}

/* A node output whose life ends where it is defined is read by no one (model outputs and block
 * returns are uses); kernels may then skip it (max_pool2d's indices). Only nodes the liveness
 * pass numbered (end_pos > pos) have lifetimes: those inside a tiled fused group keep 0. */
static void mark_unused_outputs(esm_session *s) {
    const esm_model *m = s->model;
    for (int32_t ni = 0; ni < m->num_nodes; ni++) {
        const esm_node_def *n = &m->nodes[ni];
        uint32_t unused = 0;
        for (int32_t i = 0; i < n->num_outputs && i < 32 && s->nodes[ni].end_pos > s->nodes[ni].pos; i++) {
            const esm_slot *slot = &s->slots[n->outputs[i]];
            if (slot->kind == SLOT_TENSOR && slot->last_use == slot->def_pos) unused |= (uint32_t)1 << i;
        }
        s->nodes[ni].ctx.unused_outputs = unused;
    }
}

typedef struct interval {
    size_t size;
    int32_t start, end;
    int64_t offset;
    int64_t *target; /* where the offset goes */
} interval;

static int by_size_desc(const void *a, const void *b) {
    const interval *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->start - y->start;
}

static int by_offset(const void *a, const void *b) {
    const interval *const *x = a, *const *y = b;
    return (*x)->offset < (*y)->offset ? -1 : (*x)->offset > (*y)->offset;
}

static size_t align_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

esm_status esm_plan_memory(esm_session *s, size_t *arena_bytes) {
    const esm_model *m = s->model;
    liveness L;
    memset(&L, 0, sizeof L);
    L.s = s;
    number_block(&L, m->main_block);
    const esm_block_def *main = &m->blocks[m->main_block];
    for (int32_t i = 0; i < main->num_params; i++) define_value(&L, main->params[i], 0);
    live_block(&L, m->main_block, END_OF_TIME);
    mark_unused_outputs(s);

    size_t count = 0;
    for (int32_t v = 0; v < m->num_values; v++) count += s->slots[v].needs_arena && s->slots[v].kind == SLOT_TENSOR;
    for (int32_t i = 0; i < m->num_nodes; i++) count += s->nodes[i].ctx.scratch_bytes > 0;
    interval *items = esm_pool_alloc(&s->pool, count + 1, sizeof(interval));
    interval **placed = esm_pool_alloc(&s->pool, count + 1, sizeof(interval *));
    if (!items || !placed) return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "out of memory planning the arena");
    size_t n = 0;
    for (int32_t v = 0; v < m->num_values; v++) {
        esm_slot *slot = &s->slots[v];
        if (!slot->needs_arena || slot->kind != SLOT_TENSOR) continue;
        items[n].size = align_up(slot->bytes ? slot->bytes : 1);
        items[n].start = slot->def_pos;
        items[n].end = slot->last_use;
        items[n].target = &slot->offset;
        n++;
    }
    for (int32_t i = 0; i < m->num_nodes; i++) {
        esm_node_rt *rt = &s->nodes[i];
        if (rt->ctx.scratch_bytes == 0) continue;
        if (rt->ctx.scratch_bytes > ((size_t)1 << 50)) return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "node %d asks for %zu bytes of scratch", (int)i, rt->ctx.scratch_bytes);
        items[n].size = align_up(rt->ctx.scratch_bytes);
        items[n].start = items[n].end = rt->pos;
        items[n].target = &rt->scratch_offset;
        n++;
    }
    qsort(items, n, sizeof *items, by_size_desc);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t np = 0;
        for (size_t j = 0; j < i; j++)
            if (items[j].start <= items[i].end && items[i].start <= items[j].end) placed[np++] = &items[j];
        qsort(placed, np, sizeof *placed, by_offset);
        size_t offset = 0;
        for (size_t j = 0; j < np; j++) {
            if ((size_t)placed[j]->offset >= offset + items[i].size) break;
            size_t end = (size_t)placed[j]->offset + placed[j]->size;
            if (end > offset) offset = end;
        }
        if (offset > MAX_ARENA || items[i].size > MAX_ARENA - offset)
            return esm_session_fail(s, ESM_ERR_OUT_OF_MEMORY, "the memory plan exceeds 2^60 bytes");
        items[i].offset = (int64_t)offset;
        *items[i].target = (int64_t)offset;
        if (offset + items[i].size > total) total = offset + items[i].size;
    }
    *arena_bytes = total;
    return ESM_OK;
}
