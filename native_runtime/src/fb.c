/* fb.c - the checked FlatBuffers reader (see fb.h). */
#include "fb.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void fb_init(fb_buf *b, const void *data, size_t size) {
    b->data = (const uint8_t *)data;
    b->size = size;
    b->failed = 0;
    b->error[0] = '\0';
}

int fb_fail(fb_buf *b, const char *fmt, ...) {
    if (!b->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->error, sizeof b->error, fmt, ap);
        va_end(ap);
        b->failed = 1;
    }
    return 0;
}

static uint64_t load_le(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* `n` bytes at `pos` lie inside the buffer (overflow-safe). */
static int in_bounds(const fb_buf *b, size_t pos, size_t n) {
    return pos <= b->size && n <= b->size - pos;
}

static uint32_t u32_at(const fb_buf *b, size_t pos) { return (uint32_t)load_le(b->data + pos, 4); }

/* Follow the uoffset stored at `pos` (already bounds-checked, 4-aligned). */
static int follow(fb_buf *b, size_t pos, size_t *target, const char *what) {
    uint32_t off = u32_at(b, pos);
    if (off == 0 || !in_bounds(b, pos, off)) return fb_fail(b, "%s: offset %u at byte %zu out of bounds", what, off, pos);
    *target = pos + off;
    return 1;
}

static int table_at(fb_buf *b, size_t pos, fb_table *out) {
    if (b->failed) return 0;
    if (pos % 4 || !in_bounds(b, pos, 4)) return fb_fail(b, "table at byte %zu misaligned or out of bounds", pos);
    int32_t soff = (int32_t)u32_at(b, pos);
    int64_t vt = (int64_t)pos - (int64_t)soff;
    if (vt < 0 || vt % 2 || !in_bounds(b, (size_t)vt, 4)) return fb_fail(b, "vtable of table at byte %zu out of bounds", pos);
    uint16_t vt_size = (uint16_t)load_le(b->data + vt, 2);
    uint16_t size = (uint16_t)load_le(b->data + vt + 2, 2);
    if (vt_size < 4 || vt_size % 2 || !in_bounds(b, (size_t)vt, vt_size))
        return fb_fail(b, "vtable at byte %lld has a bad size %u", (long long)vt, vt_size);
    if (size < 4 || !in_bounds(b, pos, size)) return fb_fail(b, "table at byte %zu has a bad size %u", pos, size);
    out->pos = pos;
    out->vtable = (size_t)vt;
    out->vt_size = vt_size;
    out->size = size;
    return 1;
}

int fb_root(fb_buf *b, const char *identifier, fb_table *root) {
    if (b->size < 8) return fb_fail(b, "file is %zu bytes, too short for a FlatBuffer", b->size);
    if (memcmp(b->data + 4, identifier, 4) != 0)
        return fb_fail(b, "file identifier is not \"%.4s\" (not an .esm file)", identifier);
    size_t pos = 0;
    if (!follow(b, 0, &pos, "root")) return 0;
    return table_at(b, pos, root);
}

/* Position of a field of `size` bytes, or 0 when absent; checks it lies inside the table and
 * is aligned to its size. */
static size_t field_pos(fb_buf *b, const fb_table *t, int field, size_t size) {
    if (b->failed) return 0;
    size_t slot = 4 + 2 * (size_t)field;
    if (slot + 2 > t->vt_size) return 0;
    uint16_t off = (uint16_t)load_le(b->data + t->vtable + slot, 2);
    if (off == 0) return 0;
    if (off < 4 || (size_t)off + size > t->size) {
        fb_fail(b, "field %d of table at byte %zu lies outside the table", field, t->pos);
        return 0;
    }
    size_t pos = t->pos + off;
    if (pos % size) {
        fb_fail(b, "field %d of table at byte %zu is misaligned", field, t->pos);
        return 0;
    }
    return pos;
}

#define FB_SCALAR(fn, type, n)                                                        \
    type fn(fb_buf *b, const fb_table *t, int field, type dflt) {                     \
        size_t pos = field_pos(b, t, field, n);                                       \
        if (!pos) return dflt;                                                        \
        uint64_t v = load_le(b->data + pos, n);                                       \
        type out;                                                                     \
        if (n == 1) { uint8_t x = (uint8_t)v; memcpy(&out, &x, 1); }                  \
        else if (n == 4) { uint32_t x = (uint32_t)v; memcpy(&out, &x, 4); }           \
        else { memcpy(&out, &v, 8); }                                                 \
        return out;                                                                   \
    }
FB_SCALAR(fb_u8, uint8_t, 1)
FB_SCALAR(fb_i32, int32_t, 4)
FB_SCALAR(fb_u32, uint32_t, 4)
FB_SCALAR(fb_i64, int64_t, 8)
FB_SCALAR(fb_u64, uint64_t, 8)
FB_SCALAR(fb_f64, double, 8)

/* Target of an offset field, or 0 when absent. */
static int offset_field(fb_buf *b, const fb_table *t, int field, size_t *target) {
    size_t pos = field_pos(b, t, field, 4);
    if (!pos) return 0;
    return follow(b, pos, target, "field");
}

int fb_table_field(fb_buf *b, const fb_table *t, int field, fb_table *out) {
    size_t pos = 0;
    if (!offset_field(b, t, field, &pos)) return 0;
    return table_at(b, pos, out);
}

static int string_at(fb_buf *b, size_t pos, const char **s, uint32_t *len) {
    if (pos % 4 || !in_bounds(b, pos, 4)) return fb_fail(b, "string at byte %zu misaligned or out of bounds", pos);
    uint32_t n = u32_at(b, pos);
    if (!in_bounds(b, pos + 4, (size_t)n + 1) || b->data[pos + 4 + n] != 0)
        return fb_fail(b, "string at byte %zu is truncated or not NUL-terminated", pos);
    if (memchr(b->data + pos + 4, 0, n)) return fb_fail(b, "string at byte %zu contains a NUL byte", pos);
    *s = (const char *)(b->data + pos + 4);
    if (len) *len = n;
    return 1;
}

int fb_string(fb_buf *b, const fb_table *t, int field, const char **s, uint32_t *len) {
    size_t pos = 0;
    *s = NULL;
    if (len) *len = 0;
    if (!offset_field(b, t, field, &pos)) return 0;
    return string_at(b, pos, s, len);
}

int fb_vector(fb_buf *b, const fb_table *t, int field, size_t elem_size, fb_vec *out) {
    size_t pos = 0;
    out->pos = 0;
    out->len = 0;
    out->present = 0;
    if (!offset_field(b, t, field, &pos)) return 0;
    if (pos % 4 || !in_bounds(b, pos, 4)) return fb_fail(b, "vector at byte %zu misaligned or out of bounds", pos);
    uint32_t n = u32_at(b, pos);
    size_t first = pos + 4;
    if (elem_size > 1 && first % (elem_size < 8 ? elem_size : 8))
        return fb_fail(b, "vector at byte %zu is misaligned for %zu-byte elements", pos, elem_size);
    if ((uint64_t)n * elem_size > (uint64_t)SIZE_MAX || !in_bounds(b, first, (size_t)n * elem_size))
        return fb_fail(b, "vector at byte %zu claims %u elements past the end of the file", pos, n);
    out->pos = first;
    out->len = n;
    out->present = 1;
    return 1;
}

int fb_vec_table(fb_buf *b, const fb_vec *v, uint32_t i, fb_table *out) {
    size_t pos = 0;
    if (b->failed) return 0;
    if (i >= v->len) return fb_fail(b, "vector index %u out of range", i);
    if (!follow(b, v->pos + 4 * (size_t)i, &pos, "vector element")) return 0;
    return table_at(b, pos, out);
}

int fb_vec_string(fb_buf *b, const fb_vec *v, uint32_t i, const char **s, uint32_t *len) {
    size_t pos = 0;
    *s = NULL;
    if (b->failed) return 0;
    if (i >= v->len) return fb_fail(b, "vector index %u out of range", i);
    if (!follow(b, v->pos + 4 * (size_t)i, &pos, "vector element")) return 0;
    return string_at(b, pos, s, len);
}

int32_t fb_vec_i32(const fb_buf *b, const fb_vec *v, uint32_t i) {
    return (int32_t)(uint32_t)load_le(b->data + v->pos + 4 * (size_t)i, 4);
}

int64_t fb_vec_i64(const fb_buf *b, const fb_vec *v, uint32_t i) {
    return (int64_t)load_le(b->data + v->pos + 8 * (size_t)i, 8);
}

double fb_vec_f64(const fb_buf *b, const fb_vec *v, uint32_t i) {
    uint64_t bits = load_le(b->data + v->pos + 8 * (size_t)i, 8);
    double d;
    memcpy(&d, &bits, 8);
    return d;
}
