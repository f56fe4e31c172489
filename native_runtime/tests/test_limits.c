/* test_limits.c - the limits in esm_options. A session never allocates much more than
 * max_arena_bytes: the arena is refused before it is allocated, and what else a session
 * allocates (slots, plans) is proportional to the model, not to the shapes it declares
 * (checked with a counting allocator on every test model, every hostile regression file and a
 * caller-supplied arena). A loop above max_loop_iterations is refused at prepare when its trip
 * count is known there, else stopped at run (the scripted models of data/limits/, written by
 * tests/native/make_c_test_data.py); 0 means unlimited and the defaults are finite. */
#include <dirent.h>

#include "test_util.h"

#define LIMIT ((size_t)1 << 20)
#define OVERHEAD_PER_FILE_BYTE 64 /* session bookkeeping allowed per byte of the model file */

typedef struct counter {
    size_t live, peak;
} counter;

typedef struct header {
    size_t size;
    void *block;
} header;

static void *counting_alloc(void *user, size_t size, size_t align) {
    counter *c = user;
    if (align < sizeof(header)) align = sizeof(header);
    if (size > SIZE_MAX / 2) return NULL;
    void *block = malloc(size + align + sizeof(header));
    if (!block) return NULL;
    uintptr_t p = ((uintptr_t)block + sizeof(header) + align - 1) & ~(uintptr_t)(align - 1);
    ((header *)p)[-1] = (header){size, block};
    c->live += size;
    if (c->live > c->peak) c->peak = c->live;
    return (void *)p;
}

static void counting_free(void *user, void *ptr) {
    counter *c = user;
    header h = ((header *)ptr)[-1];
    c->live -= h.size;
    free(h.block);
}

/* Zero inputs of the declared shapes (symbolic dims = 3); returns the buffers to free. */
static void bind_zeros(esm_session *s, const esm_model *m, void **buffers, int max) {
    for (int32_t i = 0; i < esm_model_num_inputs(m) && i < max; i++) {
        esm_tensor_info info;
        esm_model_input_info(m, i, &info);
        int64_t shape[ESM_MAX_DIMS], numel = 1;
        for (int32_t d = 0; d < info.ndim; d++) numel *= shape[d] = info.shape[d] < 0 ? 3 : info.shape[d];
        size_t elem = info.dtype == ESM_FLOAT64 || info.dtype == ESM_INT64 ? 8 : info.dtype == ESM_BOOL ? 1 : 4;
        buffers[i] = calloc((size_t)numel + 1, elem);
        esm_session_set_input(s, i, info.dtype, shape, info.ndim, buffers[i], (size_t)numel * elem);
    }
}

static void test_session_stays_within_the_limit(const char *path) {
    size_t size = 0;
    unsigned char *file = read_file(path, &size);
    CHECK(file != NULL, "%s: unreadable", path);
    esm_model *m = NULL;
    if (!file || esm_model_load(file, size, NULL, &m) != ESM_OK) {
        free(file);
        return; /* refused at load: nothing to run */
    }
    counter count = {0, 0};
    esm_allocator counting = {counting_alloc, counting_free, &count};
    esm_options opts;
    esm_options_init(&opts);
    opts.allocator = &counting;
    opts.max_arena_bytes = LIMIT;
    opts.max_loop_iterations = 100;
    esm_session *s = NULL;
    void *buffers[MAX_CASE_IO] = {0};
    CHECK(esm_session_create(m, &opts, &s) == ESM_OK, "%s: create", path);
    bind_zeros(s, m, buffers, MAX_CASE_IO);
    esm_status st = esm_session_prepare(s);
    if (st == ESM_OK) {
        CHECK(esm_session_arena_bytes(s) <= LIMIT, "%s: a %zu-byte arena over the limit", path, esm_session_arena_bytes(s));
        esm_session_run(s);
    } else {
        CHECK(esm_session_error(s)[0] != '\0', "%s: prepare failed without a message", path);
    }
    CHECK(count.peak <= LIMIT + OVERHEAD_PER_FILE_BYTE * size, "%s: the session allocated %zu bytes at peak (limit %zu)", path, count.peak,
          LIMIT + OVERHEAD_PER_FILE_BYTE * size);
    esm_session_free(s);
    CHECK(count.live == 0, "%s: %zu bytes still allocated after esm_session_free", path, count.live);
    for (int i = 0; i < MAX_CASE_IO; i++) free(buffers[i]);
    esm_model_free(m);
    free(file);
}

static void test_every_file_in(const char *dir) {
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot list %s", dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".esm") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        test_session_stays_within_the_limit(path);
    }
    if (d) closedir(d);
}

/* Peak bytes a session on `m` allocates to prepare and run case `c`, with or without `arena`. */
static size_t session_peak(const esm_model *m, const test_case *c, void *arena, size_t arena_bytes) {
    counter count = {0, 0};
    esm_allocator counting = {counting_alloc, counting_free, &count};
    esm_options opts;
    esm_options_init(&opts);
    opts.allocator = &counting;
    opts.arena = arena;
    opts.arena_bytes = arena_bytes;
    esm_session *s = NULL;
    CHECK(esm_session_create(m, &opts, &s) == ESM_OK, "create");
    bind_inputs(s, c);
    CHECK(esm_session_prepare(s) == ESM_OK && esm_session_run(s) == ESM_OK, "%s", esm_session_error(s));
    CHECK(output_error(s, 0, &c->out[0]) < 1e-5, "wrong output (caller arena: %d)", arena != NULL);
    esm_session_free(s);
    return count.peak;
}

static void test_caller_arena_means_no_arena_allocation(void) {
    test_case c;
    CHECK(load_case("lstm_traced", &c) == 0, "lstm_traced: test data missing");
    esm_model *m = NULL;
    CHECK(esm_model_load_file(c.path, NULL, &m) == ESM_OK, "lstm_traced: load");
    static _Alignas(64) unsigned char arena[1 << 20];
    esm_session *probe = NULL;
    esm_session_create(m, NULL, &probe);
    bind_inputs(probe, &c);
    esm_session_prepare(probe);
    size_t planned = esm_session_arena_bytes(probe);
    esm_session_free(probe);
    size_t own = session_peak(m, &c, NULL, 0), borrowed = session_peak(m, &c, arena, sizeof arena);
    CHECK(planned > 0 && planned <= sizeof arena, "a %zu-byte plan", planned);
    CHECK(own >= borrowed + planned, "with a caller arena the session still allocated %zu of %zu bytes", borrowed, own);
    esm_model_free(m);
    free_case(&c);
}

/* ---- loop trip counts: refused at prepare when known there, else stopped at run ---------- */

typedef struct loop_result {
    esm_status prepared, ran; /* ran: ESM_ERR_STATE when prepare failed */
    char error[512];
    float y; /* output element 0 after a run */
} loop_result;

/* Prepares data/limits/NAME.esm on x = 0.5 everywhere ([2, 4]) and, for two-input models, n;
 * then runs it if `run`. */
static loop_result loop_model(const char *name, const esm_options *opts, int64_t n, int run) {
    char path[600];
    snprintf(path, sizeof path, "%s/limits/%s.esm", ESM_TEST_DATA, name);
    loop_result r = {ESM_ERR_STATE, ESM_ERR_STATE, "", 0.0f};
    esm_model *m = NULL;
    CHECK(esm_model_load_file(path, NULL, &m) == ESM_OK, "%s: load", name);
    esm_session *s = NULL;
    if (!m || esm_session_create(m, opts, &s) != ESM_OK) {
        esm_model_free(m);
        return r;
    }
    float x[8] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    int64_t shape[2] = {2, 4};
    esm_session_set_input(s, 0, ESM_FLOAT32, shape, 2, x, sizeof x);
    if (esm_model_num_inputs(m) > 1) esm_session_set_input(s, 1, ESM_INT64, NULL, 0, &n, sizeof n);
    r.prepared = esm_session_prepare(s);
    if (r.prepared == ESM_OK && run) r.ran = esm_session_run(s);
    snprintf(r.error, sizeof r.error, "%s", esm_session_error(s));
    esm_tensor_info info;
    const void *data;
    if (r.ran == ESM_OK && esm_session_output(s, 0, &info, &data) == ESM_OK) r.y = *(const float *)data;
    esm_session_free(s);
    esm_model_free(m);
    return r;
}

static float tanh_steps(int steps) {
    float y = 0.5f;
    for (int i = 0; i < steps; i++) y = tanhf(y);
    return y;
}

static esm_options loop_limit(int64_t limit) {
    esm_options opts;
    esm_options_init(&opts);
    opts.max_loop_iterations = limit;
    return opts;
}

static void test_known_trip_counts_are_refused_at_prepare(void) {
    esm_options five = loop_limit(5), four = loop_limit(4), defaults = loop_limit(ESM_DEFAULT_MAX_LOOP_ITERATIONS);
    loop_result r = loop_model("for_const_5", &five, 0, 1);
    CHECK(r.prepared == ESM_OK && r.ran == ESM_OK && fabsf(r.y - tanh_steps(5)) < 1e-6f, "5 trips under a limit of 5: %s", r.error);
    r = loop_model("for_const_5", &four, 0, 1);
    CHECK(r.prepared == ESM_ERR_RUNTIME, "5 trips under a limit of 4: prepare gave %d", (int)r.prepared);
    CHECK(strstr(r.error, "prim::loop") && strstr(r.error, "a trip count of 5, more than 4 iterations (esm_options.max_loop_iterations)"),
          "message: %s", r.error);
    r = loop_model("for_const_1e12", &defaults, 0, 1);
    CHECK(r.prepared == ESM_ERR_RUNTIME && strstr(r.error, "a trip count of 1000000000000, more than 1048576 iterations"),
          "a constant 10^12 trips under the default limit: %s", r.error);
    r = loop_model("for_shape", &defaults, 0, 1); /* x.size(0) * 10^9 with x [2, 4] */
    CHECK(r.prepared == ESM_ERR_RUNTIME && strstr(r.error, "a trip count of 2000000000,"), "a count from shapes: %s", r.error);
}

static void test_data_dependent_trip_counts_stop_at_run(void) {
    static const char *const models[] = {"for_input", "while_input"};
    esm_options hundred = loop_limit(100);
    for (int k = 0; k < 2; k++) {
        loop_result r = loop_model(models[k], &hundred, 100, 1);
        CHECK(r.ran == ESM_OK && fabsf(r.y - tanh_steps(100)) < 1e-6f, "%s: 100 trips under a limit of 100: %s", models[k], r.error);
        r = loop_model(models[k], &hundred, 1000000000000, 1);
        CHECK(r.prepared == ESM_OK, "%s: a count known only at run refused at prepare: %s", models[k], r.error);
        CHECK(r.ran == ESM_ERR_RUNTIME && strstr(r.error, "prim::loop") && strstr(r.error, "more than 100 iterations (esm_options.max_loop_iterations)"),
              "%s: run gave %d: %s", models[k], (int)r.ran, r.error);
    }
}

static void test_zero_means_unlimited_and_negative_is_refused(void) {
    esm_options unlimited = loop_limit(0);
    loop_result r = loop_model("for_const_1e12", &unlimited, 0, 0); /* prepared, not run: 10^12 steps */
    CHECK(r.prepared == ESM_OK, "limit 0 must be unlimited: %s", r.error);
    r = loop_model("for_input", &unlimited, ESM_DEFAULT_MAX_LOOP_ITERATIONS + 1, 1); /* past the default limit */
    CHECK(r.ran == ESM_OK, "limit 0 must be unlimited: %s", r.error);
    esm_options negative = loop_limit(-1);
    esm_model *m = NULL;
    esm_session *s = NULL;
    CHECK(esm_model_load_file(ESM_TEST_DATA "/limits/for_const_5.esm", NULL, &m) == ESM_OK, "load");
    CHECK(esm_session_create(m, &negative, &s) == ESM_ERR_INVALID_ARGUMENT && s == NULL, "a negative limit accepted");
    esm_model_free(m);
}

static void test_defaults_are_finite(void) {
    esm_options opts;
    esm_options_init(&opts);
    CHECK(opts.max_arena_bytes == ESM_DEFAULT_MAX_ARENA_BYTES && opts.max_arena_bytes == (size_t)1 << 30, "arena default");
    CHECK(opts.max_loop_iterations == ESM_DEFAULT_MAX_LOOP_ITERATIONS && opts.max_loop_iterations == 1 << 20, "loop default");
    loop_result r = loop_model("for_input", NULL, ESM_DEFAULT_MAX_LOOP_ITERATIONS + 1, 1); /* NULL options: the defaults */
    CHECK(r.ran == ESM_ERR_RUNTIME && strstr(r.error, "more than 1048576 iterations"), "default loop limit: %s", r.error);
}

int main(void) {
    test_every_file_in(ESM_TEST_DATA);
    test_every_file_in(ESM_TEST_DATA "/fuzz_regressions");
    test_caller_arena_means_no_arena_allocation();
    test_known_trip_counts_are_refused_at_prepare();
    test_data_dependent_trip_counts_stop_at_run();
    test_zero_means_unlimited_and_negative_is_refused();
    test_defaults_are_finite();
    return test_report("test_limits");
}
