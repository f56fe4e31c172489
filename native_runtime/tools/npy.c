/* npy.c - a small .npy reader/writer (see npy.h). */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { esm_dtype dtype; const char *descr; size_t size; } DTYPES[] = {
    {ESM_FLOAT32, "<f4", 4}, {ESM_FLOAT64, "<f8", 8}, {ESM_INT32, "<i4", 4}, {ESM_INT64, "<i8", 8}, {ESM_BOOL, "|b1", 1},
};

static int fail(char *error, size_t len, const char *path, const char *why) {
    if (error && len) snprintf(error, len, "%s: %s", path, why);
    return 1;
}

/* The value of `key` in the header dict, e.g. 'descr': '<f4' -> points at '<f4'. */
static const char *header_value(const char *header, const char *key) {
    const char *p = strstr(header, key);
    if (!p) return NULL;
    p = strchr(p + strlen(key), ':');
    if (!p) return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static int parse_header(const char *header, npy_array *out, size_t *esize, const char **why) {
    const char *descr = header_value(header, "'descr'");
    const char *order = header_value(header, "'fortran_order'");
    const char *shape = header_value(header, "'shape'");
    if (!descr || !order || !shape || *shape != '(') return *why = "malformed header", 1;
    if (strncmp(order, "False", 5) != 0) return *why = "Fortran order is not supported", 1;
    size_t i;
    for (i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (strncmp(descr + 1, DTYPES[i].descr, 3) == 0 || (DTYPES[i].dtype == ESM_BOOL && strncmp(descr + 1, "?", 1) == 0)) break;
    if (i == sizeof DTYPES / sizeof DTYPES[0]) return *why = "dtype not supported (float32/64, int32/64, bool)", 1;
    out->dtype = DTYPES[i].dtype;
    *esize = DTYPES[i].size;
    out->ndim = 0;
    const char *p = shape + 1;
    while (*p && *p != ')') {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        char *end;
        long long dim = strtoll(p, &end, 10);
        if (end == p || dim < 0 || out->ndim >= ESM_MAX_DIMS) return *why = "bad shape", 1;
        out->shape[out->ndim++] = dim;
        p = end;
    }
    return 0;
}

int npy_read(const char *path, npy_array *out, char *error, size_t error_len) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(error, error_len, path, "cannot open");
    unsigned char pre[12];
    const char *why = NULL;
    char *header = NULL;
    size_t esize = 0, hlen = 0, n = fread(pre, 1, 10, f);
    if (n != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) why = "not a .npy file";
    else if (pre[6] == 1) hlen = pre[8] | (size_t)pre[9] << 8;
    else if (fread(pre + 10, 1, 2, f) == 2) hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    else why = "truncated header";
    if (!why && (hlen == 0 || hlen > 1 << 20)) why = "bad header length";
    if (!why && !(header = calloc(1, hlen + 1))) why = "out of memory";
    if (!why && fread(header, 1, hlen, f) != hlen) why = "truncated header";
    if (!why) parse_header(header, out, &esize, &why);
    if (!why) {
        uint64_t numel = 1;
        for (int32_t d = 0; d < out->ndim; d++) numel *= (uint64_t)out->shape[d];
        out->bytes = (size_t)(numel * esize);
        void *mem = NULL;
        if (posix_memalign(&mem, 64, out->bytes + 64) != 0) why = "out of memory";
        out->data = mem;
        if (why) {}
        else if (fread(out->data, 1, out->bytes, f) != out->bytes) why = "truncated data";
    }
    free(header);
    fclose(f);
    if (why) {
        npy_free(out);
        return fail(error, error_len, path, why);
    }
    return 0;
}

int npy_write(const char *path, esm_dtype dtype, int32_t ndim, const int64_t *shape, const void *data) {
    size_t i, esize = 0;
    const char *descr = NULL;
    for (i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (DTYPES[i].dtype == dtype) descr = DTYPES[i].descr, esize = DTYPES[i].size;
    if (!descr) return 1;
    char header[512], dims[256] = "";
    size_t used = 0;
    uint64_t numel = 1;
    for (int32_t d = 0; d < ndim; d++) {
        used += (size_t)snprintf(dims + used, sizeof dims - used, "%lld,%s", (long long)shape[d], ndim > 1 && d + 1 < ndim ? " " : "");
        numel *= (uint64_t)shape[d];
    }
    if (ndim > 1) dims[used - 1] = '\0'; /* "(2, 3)" rather than "(2, 3,)" */
    int len = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    int total = 10 + len + 1, pad = (64 - total % 64) % 64;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    pre[8] = (unsigned char)((len + pad + 1) & 0xff);
    pre[9] = (unsigned char)((len + pad + 1) >> 8);
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)len, f) == (size_t)len;
    for (int k = 0; ok && k < pad; k++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && fwrite(data, esize, (size_t)numel, f) == (size_t)numel;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return 1;
    }
    return 0;
}

void npy_free(npy_array *a) {
    free(a->data);
    a->data = NULL;
}
