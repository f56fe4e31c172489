"""examples/c_app: a C program that links libesm classifies digits like eager does.

A small MLP is trained eagerly on scikit-learn's 8x8 digits, traced with a dynamic batch and
exported; the C app (built against the already built libesm.a) must print the same accuracy
and write logits within 1e-4 of eager's.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import eager
import export
import jitscript
from eager import nn
from export import native

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("cmake") is None, reason="building the C app needs cmake")


def _trained_digits_model(x: np.ndarray, y: np.ndarray) -> nn.Module:
    eager.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    optimizer = eager.optim.SGD(model.parameters(), lr=1.0)
    xt, target = eager.tensor(x), eager.tensor(np.eye(10, dtype=np.float32)[y])
    for _ in range(100):
        loss = ((model(xt) - target) * (model(xt) - target)).mean()  # squared error on one-hot labels
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def _build_c_app(build_dir: Path) -> Path:
    lib = native.library_path()
    if not lib.exists():
        native.build()
    subprocess.run(["cmake", "-S", str(ROOT / "examples" / "c_app"), "-B", str(build_dir),
                    f"-DESM_PREBUILT_DIR={lib.parent}"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(build_dir)], check=True, stdout=subprocess.DEVNULL)
    return build_dir / "digits_app"


@pytest.mark.slow
def test_c_app_classifies_digits_like_eager(tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    model = _trained_digits_model(x[:1000], y[:1000])
    for p in model.parameters():
        p.requires_grad = False
    export.save(jitscript.trace(model, (eager.tensor(x[:4]),), dynamic_batch=True), tmp_path / "digits.esm")
    np.save(tmp_path / "images.npy", x[1000:])
    np.save(tmp_path / "labels.npy", y[1000:])

    app = _build_c_app(tmp_path / "build")
    result = subprocess.run([str(app), str(tmp_path / "digits.esm"), str(tmp_path / "images.npy"),
                             str(tmp_path / "labels.npy"), "--logits", str(tmp_path / "logits.npy")],
                            check=True, capture_output=True, text=True)
    c_correct = int(re.search(r"C runtime accuracy: [0-9.]+ \((\d+)/", result.stdout).group(1))
    eager_logits = model(eager.tensor(x[1000:])).numpy()
    eager_correct = int((eager_logits.argmax(1) == y[1000:]).sum())
    assert c_correct == eager_correct and eager_correct > 0.8 * len(eager_logits)
    np.testing.assert_allclose(np.load(tmp_path / "logits.npy"), eager_logits, rtol=1e-4, atol=1e-5)
