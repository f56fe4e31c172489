/* test_malformed.c - a corpus of broken files: every truncation of every test model, every
 * byte flipped three ways, and hand-made hostile headers. Each must load cleanly or fail with a
 * status and a message - never crash or read out of bounds (run under ASan + UBSan in CI).
 * A corrupted file that still verifies must then prepare and run (or fail) cleanly too. */
#include "test_util.h"

static const char *const CASES[] = {"mlp", "control_flow", "fused_and_runtime_attrs", "loop_model_traced", "nested_attrs"};

static long loaded_ok, rejected;

/* Load `size` bytes (in a buffer of exactly that size); if it verifies, run it too. */
static void try_bytes(const unsigned char *bytes, size_t size, const test_case *c, const char *what, size_t where) {
    unsigned char *buf = malloc(size ? size : 1);
    memcpy(buf, bytes, size);
    char err[256] = "";
    esm_load_options lo = {NULL, err, sizeof err};
    esm_model *m = NULL;
    esm_status st = esm_model_load(buf, size, &lo, &m);
    if (st != ESM_OK) {
        CHECK(m == NULL, "%s at %zu: a model despite failure", what, where);
        CHECK(err[0] != '\0', "%s at %zu: status %d without a message", what, where, (int)st);
        CHECK(st == ESM_ERR_INVALID_MODEL || st == ESM_ERR_UNSUPPORTED, "%s at %zu: status %d (%s)", what, where, (int)st, err);
        rejected++;
        free(buf);
        return;
    }
    loaded_ok++;
    esm_options opts;
    esm_options_init(&opts);
    opts.max_arena_bytes = (size_t)1 << 26;
    opts.max_loop_iterations = 1000;
    esm_session *s = NULL;
    if (esm_session_create(m, &opts, &s) == ESM_OK) {
        if (bind_inputs(s, c) == ESM_OK && esm_session_prepare(s) == ESM_OK) {
            esm_session_run(s);
        } else {
            CHECK(esm_session_error(s)[0] != '\0', "%s at %zu: failure without a message", what, where);
        }
    }
    esm_session_free(s);
    esm_model_free(m);
    free(buf);
}

static void test_every_truncation_fails_cleanly(const unsigned char *file, size_t size, const test_case *c) {
    long before = rejected;
    for (size_t n = 0; n < size; n++) try_bytes(file, n, c, "truncated", n);
    /* only the final padding may go */
    CHECK(rejected - before >= (long)size - 64, "%s: only %ld of %zu truncations rejected", c->path, rejected - before, size);
}

static void test_every_flipped_byte_is_handled(const unsigned char *file, size_t size, const test_case *c) {
    static const unsigned char masks[] = {0xff, 0x01, 0x80};
    unsigned char *copy = malloc(size);
    for (size_t k = 0; k < sizeof masks; k++) {
        for (size_t i = 0; i < size; i++) {
            memcpy(copy, file, size);
            copy[i] ^= masks[k];
            try_bytes(copy, size, c, "flipped", i);
        }
    }
    free(copy);
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void test_hostile_headers_are_rejected(const unsigned char *file, size_t size, const test_case *c) {
    unsigned char *copy = malloc(size);
    char err[256];
    esm_load_options lo = {NULL, err, sizeof err};
    esm_model *m = NULL;
    static const uint32_t roots[] = {0, 2, 0xfffffff0u, 0x7fffffffu};
    for (size_t k = 0; k < sizeof roots / sizeof roots[0]; k++) {
        memcpy(copy, file, size);
        put_u32(copy, roots[k] ? roots[k] : (uint32_t)size);
        CHECK(esm_model_load(copy, size, &lo, &m) == ESM_ERR_INVALID_MODEL, "root offset %u accepted", roots[k]);
    }
    memcpy(copy, file, size);
    memcpy(copy + 4, "XXXX", 4);
    CHECK(esm_model_load(copy, size, &lo, &m) == ESM_ERR_INVALID_MODEL && strstr(err, "identifier"), "identifier: %s", err);
    /* every 4-byte word set to a huge value, one at a time */
    for (size_t i = 8; i + 4 <= size; i += 4) {
        memcpy(copy, file, size);
        put_u32(copy + i, 0x7ffffff0u);
        try_bytes(copy, size, c, "huge word", i);
    }
    CHECK(esm_model_load(NULL, 10, &lo, &m) == ESM_ERR_INVALID_ARGUMENT, "NULL data");
    CHECK(esm_model_load(file, size, NULL, NULL) == ESM_ERR_INVALID_ARGUMENT, "NULL out");
    CHECK(esm_model_load_file("/nonexistent/model.esm", &lo, &m) == ESM_ERR_IO && m == NULL, "missing file");
    free(copy);
}

int main(void) {
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        test_case c;
        size_t size = 0;
        CHECK(load_case(CASES[k], &c) == 0, "%s: test data missing", CASES[k]);
        unsigned char *file = read_file(c.path, &size);
        CHECK(file != NULL && size > 64, "%s: unreadable", c.path);
        if (file) {
            test_every_truncation_fails_cleanly(file, size, &c);
            test_every_flipped_byte_is_handled(file, size, &c);
            test_hostile_headers_are_rejected(file, size, &c);
        }
        free(file);
        free_case(&c);
    }
    printf("malformed corpus: %ld files verified and ran, %ld rejected\n", loaded_ok, rejected);
    return test_report("test_malformed");
}
