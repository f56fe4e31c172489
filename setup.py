"""Build hook: `pip install .` also builds libesm (the C runtime) with CMake and ships the shared
library inside the `export` package, so `eagerscript run --runtime c` works from a wheel. The
metadata lives in pyproject.toml; without cmake or a C compiler the install goes on without
libesm (export.native then explains how to build it)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
LIBRARY = "libesm.dylib" if sys.platform == "darwin" else "libesm.so"


class BuildPyWithLibesm(build_py):
    """build_py, then libesm built from native_runtime/ into the wheel's export/ package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install uses the source tree: export.native builds there on demand
        if shutil.which("cmake") is None:
            print("warning: cmake not found; installing without libesm (the C runtime)", file=sys.stderr)
            return
        build_dir = Path(self.build_temp if hasattr(self, "build_temp") else "build") / "libesm"
        try:
            subprocess.run(["cmake", "-S", str(ROOT / "native_runtime"), "-B", str(build_dir),
                            "-DCMAKE_BUILD_TYPE=Release", "-DESM_BUILD_TESTS=OFF"], check=True)
            subprocess.run(["cmake", "--build", str(build_dir), "--target", "esm_shared", "-j", "2"], check=True)
        except subprocess.CalledProcessError as exc:
            print(f"warning: building libesm failed ({exc}); installing without the C runtime", file=sys.stderr)
            return
        target = Path(self.build_lib) / "export"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build_dir / LIBRARY, target / LIBRARY)


setup(cmdclass={"build_py": BuildPyWithLibesm})
