"""The digits example: it learns, and resuming from a checkpoint continues the same run."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("tqdm")
pytest.importorskip("matplotlib")

from examples.digits.train import train_digits  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("model", ["cnn", "mlp"])
def test_short_training_reaches_high_accuracy(model, tmp_path):
    result = train_digits(model, epochs=4, out_dir=tmp_path, progress=False)
    assert result.test_accuracy >= 0.93
    assert len(result.history["test_acc"]) == 4 and (tmp_path / f"{model}_curve.png").stat().st_size > 1000
    assert sorted(p.name for p in tmp_path.glob("*.esc")) == [f"{model}_epoch00{i}.esc" for i in range(1, 5)]


@pytest.mark.slow
def test_resume_continues_exactly_where_it_stopped(tmp_path):
    straight = train_digits("mlp", epochs=3, out_dir=tmp_path / "a", progress=False)
    (tmp_path / "b").mkdir()  # as if the run had been killed after epoch 2
    shutil.copy(tmp_path / "a" / "mlp_epoch002.esc", tmp_path / "b")
    resumed = train_digits("mlp", epochs=3, out_dir=tmp_path / "b", resume=True, progress=False)
    assert resumed.history == straight.history
    for (name, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
