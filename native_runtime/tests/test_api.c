/* test_api.c - every public call refuses NULL and out-of-range arguments with a status (never a
 * crash), and the free functions accept NULL. */
#include "test_util.h"

int main(void) {
    esm_model *m = (esm_model *)1;
    esm_session *s = (esm_session *)1;
    esm_tensor_info info;
    const void *data;
    int32_t index;
    CHECK(esm_model_load_file(NULL, NULL, &m) == ESM_ERR_INVALID_ARGUMENT && m == NULL, "load_file(NULL)");
    CHECK(esm_model_load_file("x", NULL, NULL) == ESM_ERR_INVALID_ARGUMENT, "load_file out NULL");
    CHECK(esm_session_create(NULL, NULL, &s) == ESM_ERR_INVALID_ARGUMENT && s == NULL, "create(NULL model)");
    CHECK(esm_model_num_inputs(NULL) == 0 && esm_model_num_outputs(NULL) == 0, "counts of NULL");
    CHECK(esm_model_input_info(NULL, 0, &info) == ESM_ERR_INVALID_ARGUMENT, "input_info(NULL)");
    CHECK(esm_model_output_info(NULL, 0, &info) == ESM_ERR_INVALID_ARGUMENT, "output_info(NULL)");
    CHECK(esm_model_input_index(NULL, "x", &index) == ESM_ERR_INVALID_ARGUMENT, "input_index(NULL)");
    CHECK(esm_model_metadata(NULL, "producer") == NULL, "metadata(NULL)");
    CHECK(esm_session_set_input(NULL, 0, ESM_FLOAT32, NULL, 0, NULL, 0) == ESM_ERR_INVALID_ARGUMENT, "set_input(NULL)");
    CHECK(esm_session_prepare(NULL) == ESM_ERR_INVALID_ARGUMENT && esm_session_run(NULL) == ESM_ERR_INVALID_ARGUMENT, "NULL session");
    CHECK(esm_session_output(NULL, 0, &info, &data) == ESM_ERR_INVALID_ARGUMENT, "output(NULL)");
    CHECK(esm_session_arena_bytes(NULL) == 0 && esm_session_error(NULL)[0] != '\0', "NULL session queries");
    esm_session_free(NULL);
    esm_model_free(NULL);
    esm_options_init(NULL);

    test_case c;
    load_case("mlp", &c);
    CHECK(esm_model_load_file(c.path, NULL, &m) == ESM_OK, "load");
    CHECK(esm_model_input_info(m, -1, &info) == ESM_ERR_INVALID_ARGUMENT && esm_model_input_info(m, 0, NULL) == ESM_ERR_INVALID_ARGUMENT, "info args");
    CHECK(esm_model_input_index(m, "nope", &index) == ESM_ERR_INVALID_ARGUMENT, "unknown input name");
    esm_options opts;
    esm_options_init(&opts);
    opts.arena = (void *)(uintptr_t)8; /* not 64-byte aligned */
    CHECK(esm_session_create(m, &opts, &s) == ESM_ERR_INVALID_ARGUMENT, "misaligned arena accepted");
    CHECK(esm_session_create(m, NULL, &s) == ESM_OK, "create");
    CHECK(esm_session_set_input(s, 5, ESM_FLOAT32, c.in[0].shape, 2, c.in[0].data, c.in[0].bytes) == ESM_ERR_INVALID_ARGUMENT, "input index");
    CHECK(strstr(esm_session_error(s), "out of range") != NULL, "message: %s", esm_session_error(s));
    CHECK(esm_session_set_input(s, 0, ESM_FLOAT32, NULL, 2, c.in[0].data, c.in[0].bytes) == ESM_ERR_INVALID_ARGUMENT, "NULL shape");
    CHECK(esm_session_set_input(s, 0, ESM_FLOAT32, c.in[0].shape, 9, c.in[0].data, c.in[0].bytes) == ESM_ERR_INVALID_ARGUMENT, "9 dims");
    {   /* empty, yet its other dims multiply to 2^80 (kernels multiply them into strides) */
        const int64_t huge[3] = {0, (int64_t)1 << 40, (int64_t)1 << 40};
        CHECK(esm_session_set_input(s, 0, ESM_FLOAT32, huge, 3, c.in[0].data, 0) == ESM_ERR_INVALID_ARGUMENT &&
                  strstr(esm_session_error(s), "dim 2") != NULL,
              "huge dims beside a 0: %s", esm_session_error(s));
    }
    CHECK(esm_session_output(s, 0, &info, &data) == ESM_ERR_STATE, "output before run");
    bind_inputs(s, &c);
    CHECK(esm_session_prepare(s) == ESM_OK && esm_session_run(s) == ESM_OK, "%s", esm_session_error(s));
    CHECK(esm_session_output(s, 1, &info, &data) == ESM_ERR_INVALID_ARGUMENT, "output index");
    CHECK(esm_session_output(s, 0, NULL, &data) == ESM_ERR_INVALID_ARGUMENT, "output NULL info");
    esm_session_free(s);
    esm_model_free(m);
    free_case(&c);
    unsigned char *misaligned = malloc(64);
    CHECK(esm_model_load(misaligned + 1, 32, NULL, &m) == ESM_ERR_INVALID_ARGUMENT, "misaligned data");
    free(misaligned);
    return test_report("test_api");
}
