"""The main job: train the digits CNN eagerly, export it by trace and by script, run both
files in the IR interpreter and in the C runtime, and print accuracy and agreement.

    python3 examples/main.py [--epochs N] [--out-dir DIR]
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import eager
import export
import jitscript

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits.train import DEFAULT_OUT, load_splits, stack_subset, train_digits  # noqa: E402


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(1) == labels).mean())


def export_both(model, example, out_dir: Path) -> dict[str, Path]:
    """Trace and script `model`, optimize each, and save them as .esm files."""
    paths = {}
    traced = jitscript.trace(model, (example,), dynamic_batch=True)
    paths["trace"] = out_dir / "digits_trace.esm"
    export.save(jitscript.optimize(traced), paths["trace"])
    scripted = jitscript.script(model, (example,), dynamic_batch=True)
    paths["script"] = out_dir / "digits_script.esm"
    export.save(jitscript.optimize(scripted), paths["script"])
    return paths


def run_c_runtime(path: Path, images: np.ndarray) -> np.ndarray:
    """Logits from the C runtime (libesm through export.native; quickstart.sh builds it)."""
    from export import native

    return native.load(path).run(images)[0]


def build_c_app(build_dir: Path) -> Path:
    """Build examples/c_app (a plain C program linking libesm) against the built libesm."""
    from export import native

    lib = native.library_path()
    if not lib.exists():
        lib = native.build()
    source = Path(__file__).resolve().parent / "c_app"
    quiet = {"check": True, "stdout": subprocess.DEVNULL}
    subprocess.run(["cmake", "-S", str(source), "-B", str(build_dir), f"-DESM_PREBUILT_DIR={lib.parent}"], **quiet)
    subprocess.run(["cmake", "--build", str(build_dir)], **quiet)
    return build_dir / "digits_app"


def run_c_app(model: Path, images: np.ndarray, labels: np.ndarray, out_dir: Path) -> tuple[float, np.ndarray]:
    """Accuracy printed by the C app and the logits it wrote."""
    np.save(out_dir / "test_images.npy", images)
    np.save(out_dir / "test_labels.npy", labels)
    app = build_c_app(out_dir / "c_app_build")
    logits = out_dir / "c_app_logits.npy"
    result = subprocess.run([str(app), str(model), str(out_dir / "test_images.npy"), str(out_dir / "test_labels.npy"),
                             "--logits", str(logits)], check=True, capture_output=True, text=True)
    return float(re.search(r"accuracy: ([0-9.]+)", result.stdout).group(1)), np.load(logits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--out-dir", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    out_dir = Path(args.out_dir)

    print("1. training the digits CNN eagerly")
    result = train_digits("cnn", epochs=args.epochs, out_dir=out_dir, progress=sys.stdout.isatty())
    model = result.model.eval()
    print(f"   eager test accuracy {result.test_accuracy:.4f} ({result.seconds:.1f} s)")

    _, test_set = load_splits(0)
    images, labels = stack_subset(test_set)
    with eager.no_grad():
        eager_logits = model(images).numpy()
    x, y = images.numpy(), labels.numpy()

    print("2. exporting by trace and by script")
    start = time.perf_counter()
    paths = export_both(model, images[:1], out_dir)
    print(f"   wrote {', '.join(str(p) for p in paths.values())} in {time.perf_counter() - start:.2f} s")

    print("3. running the exported files")
    worst = 0.0
    for mode, path in paths.items():
        interpreted = export.load(path)(eager.tensor(x)).numpy()
        diff = float(np.abs(interpreted - eager_logits).max())
        worst = max(worst, diff)
        print(f"   {mode:6s} IR interpreter: accuracy {accuracy(interpreted, y):.4f}, "
              f"max |logit - eager| {diff:.2e}")
        native_logits = run_c_runtime(path, x)
        diff = float(np.abs(native_logits - eager_logits).max())
        worst = max(worst, diff)
        print(f"   {mode:6s} C runtime:      accuracy {accuracy(native_logits, y):.4f}, "
              f"max |logit - eager| {diff:.2e}")
    print("4. the C app (examples/c_app, plain C linking libesm) on the traced file")
    app_accuracy, app_logits = run_c_app(paths["trace"], x, y, out_dir)
    diff = float(np.abs(app_logits - eager_logits).max())
    worst = max(worst, diff)
    print(f"   C app: accuracy {app_accuracy:.4f}, max |logit - eager| {diff:.2e}")
    agree = worst < 1e-3
    print(f"eager accuracy {accuracy(eager_logits, y):.4f}; exported models agree with eager: "
          f"{'yes' if agree else 'NO'} (max abs logit difference {worst:.2e})")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
