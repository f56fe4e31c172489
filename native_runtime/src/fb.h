/* fb.h - a small, checked FlatBuffers reader (internal).
 *
 * Every accessor verifies what it touches before reading it: the position and alignment of
 * tables, vtables, vectors and strings, vtable and table sizes, vector lengths (overflow
 * checked), string NUL terminators and field sizes. Reads are byte-wise little-endian, so they
 * are endian-neutral and never unaligned. On the first failure the reader records a message in
 * `fb_buf.error` and every later call fails too, so callers can check once per object.
 */
#ifndef ESM_FB_H
#define ESM_FB_H

#include <stddef.h>
#include <stdint.h>

#define FB_ERROR_LEN 256

typedef struct fb_buf {
    const uint8_t *data;
    size_t size;
    int failed;
    char error[FB_ERROR_LEN];
} fb_buf;

typedef struct fb_table {
    size_t pos;     /* table start */
    size_t vtable;  /* vtable start */
    uint16_t vt_size;
    uint16_t size;  /* table size, from the vtable */
} fb_table;

typedef struct fb_vec {
    size_t pos;     /* first element */
    uint32_t len;   /* 0 when the field is absent */
    int present;
} fb_vec;

void fb_init(fb_buf *b, const void *data, size_t size);
/* Record a failure (first one wins). Returns 0 so callers can `return fb_fail(...)`. */
int fb_fail(fb_buf *b, const char *fmt, ...);

/* The root table, after checking the size and the 4-byte file identifier. */
int fb_root(fb_buf *b, const char *identifier, fb_table *root);

/* Scalars: the default when the field is absent. */
uint8_t fb_u8(fb_buf *b, const fb_table *t, int field, uint8_t dflt);
int32_t fb_i32(fb_buf *b, const fb_table *t, int field, int32_t dflt);
uint32_t fb_u32(fb_buf *b, const fb_table *t, int field, uint32_t dflt);
int64_t fb_i64(fb_buf *b, const fb_table *t, int field, int64_t dflt);
uint64_t fb_u64(fb_buf *b, const fb_table *t, int field, uint64_t dflt);
double fb_f64(fb_buf *b, const fb_table *t, int field, double dflt);

/* Sub-objects: return 1 when present and valid, 0 when absent or invalid (check b->failed). */
int fb_table_field(fb_buf *b, const fb_table *t, int field, fb_table *out);
/* A string: *s points at NUL-terminated bytes inside the buffer; NULL when absent. */
int fb_string(fb_buf *b, const fb_table *t, int field, const char **s, uint32_t *len);
/* A vector of `elem_size`-byte scalars, or of offsets (elem_size 4) to tables/strings. */
int fb_vector(fb_buf *b, const fb_table *t, int field, size_t elem_size, fb_vec *out);

/* Elements of vectors. fb_vec_table/fb_vec_string check the index; the scalar getters
 * require i < v->len (callers loop over len). */
int fb_vec_table(fb_buf *b, const fb_vec *v, uint32_t i, fb_table *out);
int fb_vec_string(fb_buf *b, const fb_vec *v, uint32_t i, const char **s, uint32_t *len);
int32_t fb_vec_i32(const fb_buf *b, const fb_vec *v, uint32_t i);
int64_t fb_vec_i64(const fb_buf *b, const fb_vec *v, uint32_t i);
double fb_vec_f64(const fb_buf *b, const fb_vec *v, uint32_t i);

#endif
