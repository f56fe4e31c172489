/* esm-run - run a .esm model from the command line.
 *
 *   esm-run model.esm --input NAME=FILE.npy ... [--output-dir DIR] [--threads N] [--bench N]
 *
 * Reads every input from a .npy file (inputs may also be given positionally in the model's
 * order: --input FILE.npy), runs the model, and prints each output's name, shape and first
 * values; with --output-dir writes OUTPUT_NAME.npy files; with --bench N runs N more times and
 * prints latency statistics (min / median / p90 / mean / max in milliseconds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esm.h"
#include "npy.h"

#define MAX_INPUTS 64

static void usage(void) {
    fprintf(stderr,
            "usage: esm-run MODEL.esm --input NAME=FILE.npy ... [--output-dir DIR] [--threads N] [--bench N]\n"
            "  runs MODEL.esm with libesm %s; prints each output, or latency statistics with --bench\n",
            esm_version());
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_output(const esm_tensor_info *info, const void *data) {
    int64_t numel = 1;
    printf("%s: %s [", info->name, esm_dtype_name(info->dtype));
    for (int32_t d = 0; d < info->ndim; d++) {
        printf(d ? ", %lld" : "%lld", (long long)info->shape[d]);
        numel *= info->shape[d];
    }
    printf("] =");
    for (int64_t i = 0; i < numel && i < 8; i++) {
        switch (info->dtype) {
        case ESM_FLOAT32: printf(" %.6g", ((const float *)data)[i]); break;
        case ESM_FLOAT64: printf(" %.6g", ((const double *)data)[i]); break;
        case ESM_INT32: printf(" %d", ((const int32_t *)data)[i]); break;
        case ESM_INT64: printf(" %lld", (long long)((const int64_t *)data)[i]); break;
        case ESM_BOOL: printf(" %s", ((const uint8_t *)data)[i] ? "True" : "False"); break;
        }
    }
    printf(numel > 8 ? " ...\n" : "\n");
}

static int bench(esm_session *session, int runs) {
    double *ms = malloc(sizeof(double) * (size_t)runs), sum = 0;
    if (!ms) return 1;
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        if (esm_session_run(session) != ESM_OK) {
            fprintf(stderr, "esm-run: %s\n", esm_session_error(session));
            free(ms);
            return 1;
        }
        ms[i] = now_ms() - t0;
        sum += ms[i];
    }
    qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
    printf("bench: %d runs, min %.4f ms, median %.4f ms, p90 %.4f ms, mean %.4f ms, max %.4f ms, arena %zu bytes\n",
           runs, ms[0], ms[runs / 2], ms[(runs * 9) / 10], sum / runs, ms[runs - 1], esm_session_arena_bytes(session));
    free(ms);
    return 0;
}

int main(int argc, char **argv) {
    const char *model_path = NULL, *out_dir = NULL, *specs[MAX_INPUTS];
    int num_specs = 0, threads = 1, runs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--input") == 0 && i + 1 < argc && num_specs < MAX_INPUTS) specs[num_specs++] = argv[++i];
        else if (strcmp(argv[i], "--output-dir") == 0 && i + 1 < argc) out_dir = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { usage(); return 0; }
        else if (argv[i][0] != '-' && !model_path) model_path = argv[i];
        else { usage(); return 2; }
    }
    if (!model_path) { usage(); return 2; }
    char error[512] = "";
    esm_load_options lo = {NULL, error, sizeof error};
    esm_model *model = NULL;
    esm_status st = esm_model_load_file(model_path, &lo, &model);
    if (st != ESM_OK) {
        fprintf(stderr, "esm-run: %s: %s: %s\n", model_path, esm_status_str(st), error);
        return 1;
    }
    esm_options opts;
    esm_options_init(&opts);
    opts.num_threads = threads;
    esm_session *session = NULL;
    npy_array arrays[MAX_INPUTS];
    int loaded = 0, rc = 1;
    if (esm_session_create(model, &opts, &session) != ESM_OK) goto done;
    if (num_specs != esm_model_num_inputs(model)) {
        fprintf(stderr, "esm-run: the model takes %d inputs, %d given\n", (int)esm_model_num_inputs(model), num_specs);
        goto done;
    }
    for (int i = 0; i < num_specs; i++, loaded++) {
        const char *eq = strchr(specs[i], '='), *file = eq ? eq + 1 : specs[i];
        int32_t index = i;
        if (eq) {
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(eq - specs[i]), specs[i]);
            if (esm_model_input_index(model, name, &index) != ESM_OK) {
                fprintf(stderr, "esm-run: the model has no input named '%s'\n", name);
                goto done;
            }
        }
        if (npy_read(file, &arrays[i], error, sizeof error) != 0) {
            fprintf(stderr, "esm-run: %s\n", error);
            goto done;
        }
        if (esm_session_set_input(session, index, arrays[i].dtype, arrays[i].shape, arrays[i].ndim, arrays[i].data, arrays[i].bytes) != ESM_OK) {
            fprintf(stderr, "esm-run: %s\n", esm_session_error(session));
            loaded++;
            goto done;
        }
    }
    if (esm_session_prepare(session) != ESM_OK || esm_session_run(session) != ESM_OK) {
        fprintf(stderr, "esm-run: %s\n", esm_session_error(session));
        goto done;
    }
    for (int32_t o = 0; o < esm_model_num_outputs(model); o++) {
        esm_tensor_info info;
        const void *data;
        esm_session_output(session, o, &info, &data);
        print_output(&info, data);
        if (out_dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.npy", out_dir, info.name);
            if (npy_write(path, info.dtype, info.ndim, info.shape, data) != 0) {
                fprintf(stderr, "esm-run: cannot write %s\n", path);
                goto done;
            }
        }
    }
    rc = runs > 0 ? bench(session, runs) : 0;
done:
    for (int i = 0; i < loaded; i++) npy_free(&arrays[i]);
    esm_session_free(session);
    esm_model_free(model);
    return rc;
}
