"""Every model of the test zoo survives save -> load: identical graph text, identical outputs."""
from __future__ import annotations

import numpy as np
import pytest

import export
import jitscript
from tests.models import ZOO

TRACEABLE = [e for e in ZOO if e.traceable]
SCRIPTABLE = [e for e in ZOO if e.scriptable]


def _compiled(entry, compile_fn, optimize: bool = True):
    """The (optimized) ScriptModule of `entry`; every zoo model must compile both ways."""
    module = compile_fn(entry.build())
    return jitscript.optimize(module) if optimize else module


def _outputs(out) -> list[np.ndarray]:
    return [o.detach().numpy() for o in (out if isinstance(out, tuple) else (out,))]


def _assert_round_trip(module, entry, path, batches=(2, 5)) -> None:
    export.save(module, path, dims={"N": 2})
    loaded = export.load(path)
    assert str(loaded.graph) == str(module.graph)
    for batch in batches:
        inputs = entry.inputs(batch)
        for got, want in zip(_outputs(loaded(*inputs)), _outputs(module(*inputs))):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "unoptimized"])
@pytest.mark.parametrize("entry", TRACEABLE, ids=lambda e: e.name)
def test_traced_zoo_model_round_trips(entry, optimize, tmp_path):
    module = _compiled(entry, lambda model: jitscript.trace(model, entry.inputs(2), dynamic_batch=True), optimize)
    _assert_round_trip(module, entry, tmp_path / f"{entry.name}.esm")
    assert export.inspect(tmp_path / f"{entry.name}.esm")["arena_bytes"] > 0


@pytest.mark.parametrize("entry", SCRIPTABLE, ids=lambda e: e.name)
def test_scripted_zoo_model_round_trips(entry, tmp_path):
    scripted = _compiled(entry, lambda model: jitscript.script(model, example_inputs=entry.inputs(3),
                                                               dynamic_batch=True))
    _assert_round_trip(scripted, entry, tmp_path / f"{entry.name}.esm")
    assert export.inspect(tmp_path / f"{entry.name}.esm")["export_mode"] == "script"
