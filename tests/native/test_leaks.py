"""The C runtime's test programs under valgrind memcheck: no invalid access, no use of
uninitialised memory, no leak (definite or indirect). The malformed-file corpus is left to the
AddressSanitizer + LeakSanitizer build in tests/run.sh (it is too slow under valgrind)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from export import native

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("valgrind") is None or shutil.which("cmake") is None,
                                 reason="needs valgrind and cmake")]

MEMCHECK = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect"]
TESTS_DIR = native.SOURCE_DIR / "tests"
PROGRAMS = {
    "test_runtime": [],
    "test_kernels": [],
    "test_threads": [],
    "test_shared_model": [],
    "test_api": [],
    "test_limits": [],
    "fuzz_replay": [str(TESTS_DIR / "data" / "fuzz_regressions"), str(native.SOURCE_DIR / "fuzz" / "seeds")],
}


@pytest.fixture(scope="module")
def build_dir():
    native.build()
    return native.DEFAULT_BUILD_DIR / "tests"


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_c_tests_are_clean_under_memcheck(build_dir, program):
    command = [*MEMCHECK, str(build_dir / program), *PROGRAMS[program]]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
