"""Every zoo model through the C runtime: exported by trace and (where scriptable) by script,
optimized, loaded by libesm, run at two batch sizes on fresh inputs - equal to eager within
1e-4 relative / 1e-5 absolute (float32). The `if` model runs on inputs taking each branch."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

import eager
import export
import jitscript
from export import native
from tests.models import ZOO
from tests.models.if_model import negative_inputs, positive_inputs

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None, reason="building libesm needs cmake")


def _numpy(out) -> list[np.ndarray]:
    return [o.detach().numpy() for o in (out if isinstance(out, tuple) else (out,))]


def _ops(block) -> set[str]:
    return {n.op for n in block.nodes} | {op for n in block.nodes for b in n.blocks for op in _ops(b)}


def _export(entry, mode: str, path) -> tuple:
    """(eager model, C model): `entry` compiled by `mode` with a symbolic batch, optimized, saved
    and loaded by libesm. Every stage must handle every zoo model, so a failure here fails."""
    model = entry.build()
    for p in model.parameters():
        p.requires_grad = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mode == "trace":
            sm = jitscript.trace(model, entry.inputs(3), dynamic_batch=True)
        else:
            sm = jitscript.script(model, example_inputs=entry.inputs(3), dynamic_batch=True)
    sm = jitscript.optimize(sm)
    export.save(sm, path)
    assert not _ops(sm.graph.block) - set(native.supported_ops())
    return model, native.load(path)


def _check(model, loaded, inputs) -> None:
    want = _numpy(model(*inputs))
    got = loaded.run(*[t.numpy() for t in inputs])
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("entry", [e for e in ZOO if e.traceable], ids=lambda e: e.name)
def test_traced_zoo_model_runs_in_c(entry, tmp_path):
    model, loaded = _export(entry, "trace", tmp_path / f"{entry.name}.esm")
    with eager.no_grad():
        for batch in (2, 5):
            _check(model, loaded, entry.inputs(batch))


@pytest.mark.parametrize("entry", [e for e in ZOO if e.scriptable], ids=lambda e: e.name)
def test_scripted_zoo_model_runs_in_c(entry, tmp_path):
    model, loaded = _export(entry, "script", tmp_path / f"{entry.name}.esm")
    makers = (positive_inputs, negative_inputs) if entry.name == "if_model" else (entry.inputs,)
    with eager.no_grad():
        for make in makers:
            for batch in (2, 5):
                _check(model, loaded, make(batch))


class _BiLSTM(eager.nn.Module):
    """A 2-layer bidirectional LSTM (reversed time steps: flip) -> Linear on every step."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = eager.nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.head = eager.nn.Linear(10, 2)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(out), h, c


def test_scripted_bidirectional_lstm_runs_in_c(tmp_path):
    eager.manual_seed(0)
    model = _BiLSTM().eval()
    sm = jitscript.optimize(jitscript.script(model, example_inputs=(eager.randn(3, 4, 4),), dynamic_batch=True))
    export.save(sm, tmp_path / "bilstm.esm")
    loaded = native.load(tmp_path / "bilstm.esm")
    with eager.no_grad():
        for batch in (2, 5):
            _check(model, loaded, (eager.randn(batch, 4, 4),))
