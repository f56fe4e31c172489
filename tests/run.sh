#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install what is missing, build the C runtime,
# lint, and run pytest. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -e ".[test,examples]"
python3 -m ruff check .
# The C runtime: one Release build (libesm for export.native, esm-run, ctest), and the C tests
# again under AddressSanitizer + UBSan (the malformed-file corpus must never crash).
cmake -S native_runtime -B native_runtime/build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build native_runtime/build -j 2 > /dev/null
(cd native_runtime/build && ctest --output-on-failure)
cmake -S native_runtime -B native_runtime/build-asan -DESM_SANITIZE=ON -DESM_BUILD_TOOLS=OFF -DCMAKE_BUILD_TYPE=Debug > /dev/null
cmake --build native_runtime/build-asan -j 2 > /dev/null
(cd native_runtime/build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure)  # LeakSanitizer too
# Hardening (SECURITY.md): the kernels' thread pool and one model shared by sessions on 4 threads,
# under ThreadSanitizer; and 60 seconds of libFuzzer on load -> prepare -> run (seeds: the zoo's
# exported models, native_runtime/fuzz/seeds, and the C test models).
cmake -S native_runtime -B native_runtime/build-tsan -DESM_TSAN=ON -DESM_BUILD_TOOLS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build native_runtime/build-tsan -j 2 --target test_threads test_shared_model > /dev/null
(cd native_runtime/build-tsan && ctest -R "test_threads|test_shared_model" --output-on-failure)
# The fuzz smoke: only where clang can link libFuzzer (Debian: clang + libclang-rt-dev; .ci/run
# installs both). It fails CI only on a finding - a crash, sanitizer report, leak, an input running
# over 30 s (a hang: the harness bounds loops and arenas) or an allocation over 1 GiB - and then
# prints the report and the input file to copy into tests/data/fuzz_regressions/.
if echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return d && n; }' \
    | clang -fsanitize=fuzzer -x c - -o /dev/null 2> /dev/null; then
  cmake -S native_runtime -B native_runtime/build-fuzz -DCMAKE_C_COMPILER=clang -DESM_FUZZ=ON -DESM_BUILD_TESTS=OFF \
    -DESM_BUILD_TOOLS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
  cmake --build native_runtime/build-fuzz -j 2 --target fuzz_load > /dev/null
  corpus=$(mktemp -d)
  if ! native_runtime/build-fuzz/fuzz/fuzz_load -max_total_time=60 -rss_limit_mb=1024 -timeout=30 -print_final_stats=1 \
      -artifact_prefix=native_runtime/build-fuzz/ "$corpus" native_runtime/fuzz/seeds native_runtime/tests/data \
      > native_runtime/build-fuzz/smoke.log 2>&1; then
    tail -60 native_runtime/build-fuzz/smoke.log
    echo "fuzz smoke: a finding (above; the input is native_runtime/build-fuzz/crash-*|timeout-*|oom-*|leak-*)"
    exit 1
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)|^Done" native_runtime/build-fuzz/smoke.log || true
  rm -rf "$corpus"
fi
# arm64: cross-compiled with Debian's gcc-aarch64-linux-gnu, tests run under qemu-user (when
# installed: apt-get install gcc-aarch64-linux-gnu qemu-user).
if command -v aarch64-linux-gnu-gcc > /dev/null && command -v qemu-aarch64 > /dev/null; then
  cmake -S native_runtime -B native_runtime/build-arm64 \
    -DCMAKE_TOOLCHAIN_FILE="$PWD/native_runtime/cmake/aarch64-linux-gnu.cmake" > /dev/null
  cmake --build native_runtime/build-arm64 -j 2 > /dev/null
  (cd native_runtime/build-arm64 && ctest --output-on-failure)
fi
python3 -m pytest -n 2 "$@"
