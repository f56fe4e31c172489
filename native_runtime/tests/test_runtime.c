/* test_runtime.c - the runtime core end to end: load, introspect, prepare, run, errors,
 * memory (caller arena, limits) and the rule that esm_session_run never allocates. */
#include "test_util.h"

static const char *const CASES[] = {"mlp", "control_flow", "control_flow_else", "fused_and_runtime_attrs", "loop_model_traced",
                                     "lstm_traced", "nested_attrs"};

/* ---- a counting allocator --------------------------------------------------------------- */
typedef struct counter {
    long allocs, frees;
} counter;

static void *counting_alloc(void *user, size_t size, size_t align) {
    counter *c = user;
    void *p = NULL;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) != 0) return NULL;
    c->allocs++;
    return p;
}

static void counting_free(void *user, void *ptr) {
    ((counter *)user)->frees++;
    free(ptr);
}

static void test_every_case_matches_the_interpreter(void) {
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        test_case c;
        CHECK(load_case(CASES[k], &c) == 0, "%s: test data missing", CASES[k]);
        esm_model *m = NULL;
        esm_session *s = NULL;
        char err[256] = "";
        esm_load_options lo = {NULL, err, sizeof err};
        CHECK(esm_model_load_file(c.path, &lo, &m) == ESM_OK, "%s: %s", CASES[k], err);
        CHECK(esm_session_create(m, NULL, &s) == ESM_OK, "%s", CASES[k]);
        CHECK(bind_inputs(s, &c) == ESM_OK, "%s: %s", CASES[k], esm_session_error(s));
        CHECK(esm_session_prepare(s) == ESM_OK, "%s: %s", CASES[k], esm_session_error(s));
        CHECK(esm_session_run(s) == ESM_OK, "%s: %s", CASES[k], esm_session_error(s));
        CHECK(esm_model_num_outputs(m) == c.num_outputs, "%s", CASES[k]);
        for (int o = 0; o < c.num_outputs; o++) {
            double e = output_error(s, o, &c.out[o]);
            CHECK(e < 1e-5, "%s output %d: max abs error %g", CASES[k], o, e);
        }
        esm_session_free(s);
        esm_model_free(m);
        free_case(&c);
    }
}

static void test_run_never_allocates(void) {
    test_case c;
    counter model_count = {0, 0}, session_count = {0, 0};
    esm_allocator model_alloc = {counting_alloc, counting_free, &model_count};
    esm_allocator session_alloc = {counting_alloc, counting_free, &session_count};
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        load_case(CASES[k], &c);
        esm_load_options lo = {&model_alloc, NULL, 0};
        esm_options opts;
        esm_options_init(&opts);
        opts.allocator = &session_alloc;
        esm_model *m = NULL;
        esm_session *s = NULL;
        CHECK(esm_model_load_file(c.path, &lo, &m) == ESM_OK, "%s", CASES[k]);
        CHECK(esm_session_create(m, &opts, &s) == ESM_OK, "%s", CASES[k]);
        bind_inputs(s, &c);
        CHECK(esm_session_prepare(s) == ESM_OK, "%s: %s", CASES[k], esm_session_error(s));
        long before = session_count.allocs + model_count.allocs;
        for (int r = 0; r < 5; r++) {
            bind_inputs(s, &c);
            CHECK(esm_session_run(s) == ESM_OK, "%s: %s", CASES[k], esm_session_error(s));
        }
        CHECK(session_count.allocs + model_count.allocs == before, "%s: run allocated %ld times", CASES[k],
              session_count.allocs + model_count.allocs - before);
        CHECK(session_count.allocs > 0 && model_count.allocs > 0, "the allocators were not used");
        esm_session_free(s);
        esm_model_free(m);
        CHECK(session_count.allocs == session_count.frees, "%s: session leaked %ld blocks", CASES[k], session_count.allocs - session_count.frees);
        CHECK(model_count.allocs == model_count.frees, "%s: model leaked %ld blocks", CASES[k], model_count.allocs - model_count.frees);
        free_case(&c);
    }
}

static void test_caller_arena_and_limits(void) {
    test_case c;
    load_case("mlp", &c);
    esm_model *m = NULL;
    esm_model_load_file(c.path, NULL, &m);
    esm_session *s = NULL;
    esm_session_create(m, NULL, &s);
    bind_inputs(s, &c);
    CHECK(esm_session_prepare(s) == ESM_OK, "%s", esm_session_error(s));
    size_t need = esm_session_arena_bytes(s);
    CHECK(need > 0, "no arena");
    esm_session_free(s);

    static unsigned char arena[1 << 16] __attribute__((aligned(64)));
    esm_options opts;
    esm_options_init(&opts);
    opts.arena = arena;
    opts.arena_bytes = need - 64;
    esm_session_create(m, &opts, &s);
    bind_inputs(s, &c);
    CHECK(esm_session_prepare(s) == ESM_ERR_OUT_OF_MEMORY, "a too-small caller arena was accepted");
    CHECK(strstr(esm_session_error(s), "arena") != NULL, "message: %s", esm_session_error(s));
    esm_session_free(s);

    opts.arena_bytes = need;
    esm_session_create(m, &opts, &s);
    bind_inputs(s, &c);
    CHECK(esm_session_prepare(s) == ESM_OK && esm_session_run(s) == ESM_OK, "%s", esm_session_error(s));
    CHECK(output_error(s, 0, &c.out[0]) < 1e-5, "wrong result in a caller arena");
    esm_tensor_info info;
    const void *data;
    esm_session_output(s, 0, &info, &data);
    CHECK((const unsigned char *)data >= arena && (const unsigned char *)data < arena + sizeof arena, "output not in the caller arena");
    esm_session_free(s);

    esm_options_init(&opts);
    opts.max_arena_bytes = 64;
    esm_session_create(m, &opts, &s);
    bind_inputs(s, &c);
    CHECK(esm_session_prepare(s) == ESM_ERR_OUT_OF_MEMORY, "max_arena_bytes ignored");
    esm_session_free(s);
    esm_model_free(m);
    free_case(&c);
}

static void test_symbolic_batch_and_call_order(void) {
    test_case c;
    load_case("mlp", &c);
    esm_model *m = NULL;
    esm_session *s = NULL;
    esm_model_load_file(c.path, NULL, &m);
    esm_tensor_info info;
    CHECK(esm_model_input_info(m, 0, &info) == ESM_OK && info.ndim == 2 && info.shape[0] == -1 && info.shape[1] == 4,
          "input info");
    CHECK(info.dim_names[0] && strcmp(info.dim_names[0], "N") == 0, "symbolic dim name");
    CHECK(esm_model_input_info(m, 1, &info) == ESM_ERR_INVALID_ARGUMENT, "index out of range accepted");
    int32_t index = -1;
    CHECK(esm_model_input_index(m, "x", &index) == ESM_OK && index == 0, "input by name");
    CHECK(esm_model_metadata(m, "producer") != NULL, "producer metadata");
    esm_session_create(m, NULL, &s);
    CHECK(esm_session_run(s) == ESM_ERR_STATE, "run before prepare");
    CHECK(esm_session_prepare(s) == ESM_ERR_STATE, "prepare without inputs");
    float x[5 * 4] = {0};
    int64_t shape[2] = {5, 4}, bad[2] = {5, 3};
    CHECK(esm_session_set_input(s, 0, ESM_FLOAT64, shape, 2, x, sizeof x) == ESM_ERR_INVALID_ARGUMENT, "wrong dtype");
    CHECK(esm_session_set_input(s, 0, ESM_FLOAT32, shape, 2, x, 8) == ESM_ERR_INVALID_ARGUMENT, "wrong byte count");
    CHECK(esm_session_set_input(s, 0, ESM_FLOAT32, bad, 2, x, 15 * 4) == ESM_OK, "bind");
    CHECK(esm_session_prepare(s) == ESM_ERR_SHAPE, "wrong fixed dim accepted");
    CHECK(strstr(esm_session_error(s), "input x") != NULL, "message: %s", esm_session_error(s));
    esm_session_set_input(s, 0, ESM_FLOAT32, shape, 2, x, sizeof x);
    CHECK(esm_session_prepare(s) == ESM_OK && esm_session_run(s) == ESM_OK, "%s", esm_session_error(s));
    const void *data;
    CHECK(esm_session_output(s, 0, &info, &data) == ESM_OK && info.shape[0] == 5 && info.shape[1] == 3, "batch 5 output");
    esm_session_set_input(s, 0, ESM_FLOAT32, c.in[0].shape, 2, c.in[0].data, c.in[0].bytes);
    CHECK(esm_session_run(s) == ESM_ERR_STATE, "run with a new shape and no prepare");
    CHECK(esm_session_prepare(s) == ESM_OK && esm_session_run(s) == ESM_OK, "%s", esm_session_error(s));
    CHECK(output_error(s, 0, &c.out[0]) < 1e-5, "re-prepared result");
    esm_session_free(s);
    esm_model_free(m);
    free_case(&c);
}

static void test_loop_limit_is_a_runtime_error(void) {
    test_case c;
    load_case("control_flow", &c);
    esm_model *m = NULL;
    esm_session *s = NULL;
    esm_model_load_file(c.path, NULL, &m);
    esm_options opts;
    esm_options_init(&opts);
    opts.max_loop_iterations = 1;
    esm_session_create(m, &opts, &s);
    bind_inputs(s, &c);
    CHECK(esm_session_prepare(s) == ESM_OK, "%s", esm_session_error(s));
    CHECK(esm_session_run(s) == ESM_ERR_RUNTIME, "loop limit ignored");
    CHECK(strstr(esm_session_error(s), "prim::loop") != NULL, "message: %s", esm_session_error(s));
    esm_session_free(s);
    esm_model_free(m);
    free_case(&c);
}

static void test_supported_ops_and_version(void) {
    int32_t n = esm_supported_ops(NULL, 0);
    const char **names = malloc(sizeof(char *) * (size_t)n);
    CHECK(esm_supported_ops(names, n) == n, "count");
    int linear = 0, loop = 0;
    for (int32_t i = 0; i < n; i++) {
        linear |= strcmp(names[i], "linear") == 0;
        loop |= strcmp(names[i], "prim::loop") == 0;
    }
    CHECK(linear && loop, "linear and prim::loop listed");
    free(names);
    CHECK(strcmp(esm_version(), "0.1.0") == 0, "version %s", esm_version());
    CHECK(strstr(esm_status_str(ESM_ERR_SHAPE), "SHAPE") != NULL, "status string");
}

int main(void) {
    test_every_case_matches_the_interpreter();
    test_run_never_allocates();
    test_caller_arena_and_limits();
    test_symbolic_batch_and_call_order();
    test_loop_limit_is_a_runtime_error();
    test_supported_ops_and_version();
    return test_report("test_runtime");
}
