/* file.c - esm_model_load_file: map the file and load it zero-copy. */
#include <stdio.h>

#include "model.h"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void *esm_map_file(const char *path, size_t *size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return NULL;
    struct stat st;
    void *p = NULL;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size <= (uint64_t)SIZE_MAX) {
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) p = NULL;
        else *size = (size_t)st.st_size;
    }
    close(fd);
    return p;
}

void esm_unmap_file(void *mapping, size_t size) {
    if (mapping) munmap(mapping, size);
}
#else
/* No mmap: read the file into a malloc'ed, 64-byte aligned buffer. */
#include <stdlib.h>

void *esm_map_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    void *p = NULL;
    long n;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        p = aligned_alloc(64, ((size_t)n + 63) / 64 * 64);
        if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        }
        *size = (size_t)n;
    }
    fclose(f);
    return p;
}

void esm_unmap_file(void *mapping, size_t size) {
    (void)size;
    free(mapping);
}
#endif

esm_status esm_model_load_file(const char *path, const esm_load_options *options, esm_model **out) {
    if (!out) return ESM_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!path) return ESM_ERR_INVALID_ARGUMENT;
    size_t size = 0;
    void *mapping = esm_map_file(path, &size);
    if (!mapping) {
        if (options && options->error && options->error_len)
            snprintf(options->error, options->error_len, "cannot open or map '%s' (missing or empty file?)", path);
        return ESM_ERR_IO;
    }
    esm_status st = esm_model_load(mapping, size, options, out);
    if (st != ESM_OK) {
        esm_unmap_file(mapping, size);
        return st;
    }
    (*out)->mapping = mapping;
    (*out)->mapping_size = size;
    return ESM_OK;
}
