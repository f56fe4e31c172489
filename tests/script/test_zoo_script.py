"""Scripting the model zoo (tests/models): with example inputs and a dynamic batch, the script of
every scriptable zoo model equals eager at other batch sizes, before and after the optimization
pipeline."""
from __future__ import annotations

import numpy as np
import pytest

import jitscript
from tests.models import ZOO

ENTRIES = [e for e in ZOO if e.scriptable]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_zoo_model_scripts_with_a_dynamic_batch(entry):
    if entry.missing_ops():
        pytest.skip(f"registry lacks {entry.missing_ops()}")
    model = entry.build()
    scripted = jitscript.script(model, example_inputs=entry.inputs(3), dynamic_batch=True)
    assert scripted.graph.inputs[0].type.shape[0] == "N"
    optimized = jitscript.optimize(scripted)
    for batch in (1, 4):
        inputs = entry.inputs(batch)
        want = model(*inputs).detach().numpy()
        for module in (scripted, optimized):
            np.testing.assert_allclose(module(*inputs).detach().numpy(), want, rtol=entry.rtol, atol=entry.atol)


def test_every_zoo_model_is_scriptable():
    assert [e.name for e in ZOO if not e.scriptable] == []


def test_if_model_keeps_its_data_dependent_branch():
    entry = next(e for e in ZOO if e.name == "if_model")
    scripted = jitscript.script(entry.build())
    assert "prim::if" in [n.op for n in scripted.graph.nodes()]


@pytest.mark.parametrize("name", ["mlp", "if_model", "loop_model"])
def test_scripted_zoo_model_exports_and_loads(name, tmp_path):
    import export

    entry = next(e for e in ZOO if e.name == name)
    model = entry.build()
    scripted = jitscript.optimize(jitscript.script(model, example_inputs=entry.inputs(3), dynamic_batch=True))
    path = tmp_path / f"{name}.esm"
    export.save(scripted, str(path), mode="script")
    loaded = export.load(str(path))
    inputs = entry.inputs(2)
    np.testing.assert_allclose(loaded(*inputs).detach().numpy(), model(*inputs).detach().numpy(),
                               rtol=entry.rtol, atol=entry.atol)
