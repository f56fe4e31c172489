"""Checkpoints: round trips, atomic writes, and clear errors for bad files (no pickle anywhere)."""
from __future__ import annotations

import io
import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import eager
from eager import nn, optim
from eager.serialization import CheckpointError


def _model_and_optimizer():
    eager.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(eager.randn(5, 3)).sum().backward()
    opt.step()
    return model, opt


def test_model_optimizer_and_epoch_round_trip(tmp_path):
    model, opt = _model_and_optimizer()
    path = tmp_path / "ckpt.esc"
    eager.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "note": "best"}, path)
    loaded = eager.load(path)
    assert loaded["epoch"] == 3 and loaded["note"] == "best"
    assert isinstance(loaded["model"], OrderedDict) and list(loaded["model"]) == list(model.state_dict())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded["model"][key].numpy(), value.numpy())
        assert loaded["model"][key].dtype == value.dtype
    restored, restored_opt = _model_and_optimizer()
    restored.load_state_dict(loaded["model"])
    restored_opt.load_state_dict(loaded["optimizer"])
    assert restored_opt.state_dict()["state"][0]["step"] == 1
    np.testing.assert_array_equal(restored_opt.state_dict()["state"][0]["exp_avg"].numpy(),
                                  opt.state_dict()["state"][0]["exp_avg"].numpy())


def test_plain_values_keep_their_types():
    obj = {"ints": [1, 2], "pair": (1.5, None), 7: True, ("a", 1): "tuple key", "dtype": eager.int32,
           "array": np.arange(3, dtype=np.int32), "scalar": np.float64(2.5), "nan": float("nan")}
    buf = io.BytesIO()
    eager.save(obj, buf)
    buf.seek(0)
    back = eager.load(buf)
    assert back["ints"] == [1, 2] and back["pair"] == (1.5, None) and back[7] is True
    assert back[("a", 1)] == "tuple key" and back["dtype"] is eager.int32
    assert back["array"].dtype == np.int32 and back["scalar"] == 2.5 and np.isnan(back["nan"])


def test_tensor_flags_shapes_and_sharing_survive(tmp_path):
    t = eager.randn(2, 2, dtype=eager.float64).requires_grad_()
    eager.save([t, t, eager.arange(4), eager.tensor(3), eager.ones(3, 4).t()], tmp_path / "t.esc")
    a, b, c, scalar, transposed = eager.load(tmp_path / "t.esc")
    assert a is b and a.requires_grad and a.dtype == eager.float64 and c.dtype == eager.int64
    assert scalar.shape == () and int(scalar) == 3 and transposed.shape == (4, 3)


def test_map_location_moves_tensors(tmp_path):
    eager.save(eager.ones(2), tmp_path / "t.esc")
    assert eager.load(tmp_path / "t.esc", map_location="cpu").device.type == "cpu"


def test_unsavable_objects_are_named():
    with pytest.raises(TypeError, match=r"cannot save obj\['fn'\] of type function"):
        eager.save({"fn": lambda: 0}, io.BytesIO())


def test_failure_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.esc"
    eager.save({"epoch": 1, "w": eager.ones(3)}, path)
    before = path.read_bytes()
    calls = []

    def failing_write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_write(*args, **kwargs)

    real_write = np.lib.format.write_array
    monkeypatch.setattr(np.lib.format, "write_array", failing_write)
    with pytest.raises(OSError, match="disk full"):
        eager.save({"epoch": 2, "w": eager.zeros(3), "v": eager.zeros(2)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.esc"]  # no temporary file left behind
    assert eager.load(path)["epoch"] == 1


def test_truncated_file_is_a_clear_error(tmp_path):
    path = tmp_path / "ckpt.esc"
    eager.save({"w": eager.ones(100)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a complete zip archive.*truncated"):
        eager.load(path)


def test_corrupt_array_is_a_clear_error(tmp_path):
    path = tmp_path / "ckpt.esc"
    eager.save({"w": eager.ones(100)}, path)
    data = bytearray(path.read_bytes())
    where = data.index(b"\x00\x00\x80\x3f")  # the first 1.0f of the array
    data[where + 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="array 0 is corrupt"):
        eager.load(path)


def test_foreign_files_are_rejected(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not an eagerscript checkpoint"):
        eager.load(text)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("data.pkl", b"\x80\x04N.")
    with pytest.raises(CheckpointError, match="no manifest.json"):
        eager.load(other_zip)
    wrong = tmp_path / "wrong.zip"
    with zipfile.ZipFile(wrong, "w") as zf:
        zf.writestr("manifest.json", '{"format": "something-else"}')
    with pytest.raises(CheckpointError, match="manifest format is 'something-else'"):
        eager.load(wrong)


def test_pickled_arrays_are_refused(tmp_path):
    path = tmp_path / "evil.esc"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", '{"format": "eagerscript-checkpoint", "version": 1, "root": {"$ndarray": 0}}')
        member = io.BytesIO()
        np.save(member, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        zf.writestr("arrays/0.npy", member.getvalue())
    with pytest.raises(CheckpointError, match="array 0 is corrupt.*allow_pickle"):
        eager.load(path)


def test_pytorch_state_dict_loads_into_the_same_architecture(tmp_path):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    state = {k: eager.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    eager.save(state, tmp_path / "from_torch.esc")
    model, _ = _model_and_optimizer()
    model.load_state_dict(eager.load(tmp_path / "from_torch.esc"))
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(model(eager.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
