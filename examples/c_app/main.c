/* digits_app - classify digit images with a model exported by eagerscript, in plain C.
 *
 *   digits_app MODEL.esm IMAGES.npy [LABELS.npy] [--logits OUT.npy]
 *
 * IMAGES holds N images in the layout the model takes (e.g. [N, 64] or [N, 1, 8, 8],
 * float32); LABELS (int64, [N]) makes the program print the accuracy. --logits writes the
 * model's raw output, so a caller can compare it with eager's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esm.h"
#include "npy.h"

static int fail(const char *what, const char *why) {
    fprintf(stderr, "digits_app: %s: %s\n", what, why);
    return 1;
}

/* Index of the largest of `n` scores. */
static int64_t argmax(const float *scores, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (scores[i] > scores[best]) best = i;
    return best;
}

int main(int argc, char **argv) {
    const char *model_path = NULL, *images_path = NULL, *labels_path = NULL, *logits_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--logits") == 0 && i + 1 < argc) logits_path = argv[++i];
        else if (!model_path) model_path = argv[i];
        else if (!images_path) images_path = argv[i];
        else if (!labels_path) labels_path = argv[i];
    }
    if (!model_path || !images_path) {
        fprintf(stderr, "usage: digits_app MODEL.esm IMAGES.npy [LABELS.npy] [--logits OUT.npy]\n");
        return 2;
    }
    char error[512] = "";
    npy_array images, labels;
    memset(&labels, 0, sizeof labels);
    if (npy_read(images_path, &images, error, sizeof error) != 0) return fail("images", error);
    if (images.dtype != ESM_FLOAT32 || images.ndim < 1) return fail(images_path, "expected float32 images [N, ...]");
    if (labels_path && npy_read(labels_path, &labels, error, sizeof error) != 0) return fail("labels", error);

    /* load -> session -> bind -> prepare (plans memory for this batch) -> run */
    esm_load_options load_options = {NULL, error, sizeof error};
    esm_model *model = NULL;
    esm_session *session = NULL;
    esm_status st = esm_model_load_file(model_path, &load_options, &model);
    if (st != ESM_OK) return fail(model_path, error);
    if ((st = esm_session_create(model, NULL, &session)) != ESM_OK) return fail("session", esm_status_str(st));
    if (esm_session_set_input(session, 0, ESM_FLOAT32, images.shape, images.ndim, images.data, images.bytes) != ESM_OK ||
        esm_session_prepare(session) != ESM_OK || esm_session_run(session) != ESM_OK)
        return fail(model_path, esm_session_error(session));

    esm_tensor_info out;
    const void *data;
    esm_session_output(session, 0, &out, &data);
    if (out.dtype != ESM_FLOAT32 || out.ndim != 2 || out.shape[0] != images.shape[0])
        return fail(model_path, "expected float32 logits [N, classes]");
    int64_t n = out.shape[0], classes = out.shape[1], correct = 0;
    const float *logits = data;
    printf("predictions:");
    for (int64_t i = 0; i < n; i++) {
        int64_t p = argmax(logits + i * classes, classes);
        if (i < 20) printf(" %lld", (long long)p);
        if (labels.data && i < labels.shape[0]) correct += p == ((const int64_t *)labels.data)[i];
    }
    printf("%s\n", n > 20 ? " ..." : "");
    if (labels.data) printf("C runtime accuracy: %.4f (%lld/%lld)\n", (double)correct / (double)n, (long long)correct, (long long)n);
    if (logits_path && npy_write(logits_path, out.dtype, out.ndim, out.shape, data) != 0) return fail(logits_path, "cannot write");
    esm_session_free(session);
    esm_model_free(model);
    npy_free(&images);
    npy_free(&labels);
    return 0;
}
