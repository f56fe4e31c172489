/* replay_main.c - runs the fuzz harness (fuzz_load.c) on files and directories without
 * libFuzzer, so any C compiler can replay the regression corpus (ctest `fuzz_regressions`,
 * under ASan + UBSan in the sanitizer build). Usage: fuzz-replay PATH... */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long replayed;

static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return fprintf(stderr, "fuzz-replay: cannot open %s\n", path), 1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = buf ? fread(buf, 1, (size_t)(n > 0 ? n : 0), f) : 0;
    fclose(f);
    if (!buf || got != (size_t)(n > 0 ? n : 0)) return free(buf), fprintf(stderr, "fuzz-replay: cannot read %s\n", path), 1;
    LLVMFuzzerTestOneInput(buf, got);
    free(buf);
    replayed++;
    return 0;
}

static int replay(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return fprintf(stderr, "fuzz-replay: no such path %s\n", path), 1;
    if (!S_ISDIR(st.st_mode)) return replay_file(path);
    DIR *dir = opendir(path);
    if (!dir) return fprintf(stderr, "fuzz-replay: cannot list %s\n", path), 1;
    int failures = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        failures += replay(child);
    }
    closedir(dir);
    return failures;
}

int main(int argc, char **argv) {
    int failures = 0;
    for (int i = 1; i < argc; i++) failures += replay(argv[i]);
    printf("fuzz-replay: %ld files replayed cleanly\n", replayed);
    return failures ? 1 : 0;
}
