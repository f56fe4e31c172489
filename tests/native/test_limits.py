"""Hostile models against the C runtime's resource limits: a file that declares a huge tensor,
a loop with an absurd trip count or blocks nested too deep is refused with a clear error (at
load or prepare; a loop whose count depends on input values at the iteration that crosses the
limit) - never a huge allocation, a hang or a crash. The limits are esm_options'
max_arena_bytes and max_loop_iterations (finite by default, 0: unlimited)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import export
import jitscript
from export import native
from jitscript import ScriptModule
from tests.native.make_c_test_data import LOOP_MODELS

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None, reason="building libesm needs cmake")


def _repeat(*repeats: int) -> str:
    """A graph tiling a [2] input `repeats` times."""
    shape = [*repeats[:-1], 2 * repeats[-1]]
    return f"""\
graph(%x : Tensor(float32, [2])):
  %y : Tensor(float32, {shape}) = repeat[repeats={tuple(repeats)}](%x)
  return (%y)
"""


HUGE_REPEAT = _repeat(65536, 65536)  # 2**33 float32 elements: 32 GiB
ABSURD_REPEAT = _repeat(2**28, 2**29)  # 2**58 elements: beyond the runtime's 2**56 element cap
OUT_OF_RANGE_REPEAT = _repeat(2**40)  # an attribute the loader refuses outright

ABSURD_LOOP = """\
graph(%x : Tensor(float32, [N, 4])):
  %n : int = prim::constant[value=1000000000000]()
  %true : bool = prim::constant[value=True]()
  %out : Tensor(float32, [N, 4]) = prim::loop(%n, %true, %x)  # hostile.py:3:4
    block0(%i : int, %acc : Tensor(float32, [N, 4])):
      %t : Tensor(float32, [N, 4]) = tanh(%acc)
      -> (%true, %t)
  return (%out)
"""


def _nested_ifs(depth: int) -> str:
    """A graph of `depth` prim::if blocks, each inside the previous one's then-branch."""
    lines = ["graph(%x : Tensor(float32, [4]), %flag : bool):"]
    for d in range(depth):
        pad = "  " * (2 * d + 1)
        lines += [f"{pad}%r{d} : Tensor(float32, [4]) = prim::if(%flag)", f"{pad}  block0():"]
    inner = "  " * (2 * depth + 1)
    lines += [f"{inner}%leaf : Tensor(float32, [4]) = neg(%x)"]
    result = "%leaf"
    for d in reversed(range(depth)):
        pad = "  " * (2 * d + 1)
        lines += [f"{pad}    -> ({result})", f"{pad}  block1():", f"{pad}    -> (%x)"]
        result = f"%r{d}"
    lines += [f"  return ({result})"]
    return "\n".join(lines) + "\n"


def _save(text: str, path) -> str:
    export.save(ScriptModule(jitscript.parse(text, {})), path)
    return str(path)


def test_huge_intermediate_is_refused_at_prepare_by_max_arena_bytes(tmp_path):
    model = native.load(_save(HUGE_REPEAT, tmp_path / "huge.esm"), max_arena_bytes=1 << 20)
    refusal = r"needs a \d+-byte arena; esm_options.max_arena_bytes is 1048576"
    with pytest.raises(native.RuntimeError, match=refusal) as info:
        model.run(np.ones(2, np.float32))
    assert info.value.status_name == "ESM_ERR_OUT_OF_MEMORY"


def test_absurd_shape_is_refused_at_prepare_even_without_a_limit(tmp_path):
    model = native.load(_save(ABSURD_REPEAT, tmp_path / "absurd.esm"))
    with pytest.raises(native.RuntimeError, match="repeat") as info:
        model.run(np.ones(2, np.float32))
    assert info.value.status_name == "ESM_ERR_SHAPE"


def test_out_of_range_attribute_is_refused_at_load(tmp_path):
    with pytest.raises(native.RuntimeError, match=r"node 0 \(repeat\): attribute repeats holds an int beyond") as info:
        native.load(_save(OUT_OF_RANGE_REPEAT, tmp_path / "range.esm"))
    assert info.value.status_name == "ESM_ERR_INVALID_MODEL"


def test_absurd_constant_trip_count_is_refused_at_prepare(tmp_path):
    model = native.load(_save(ABSURD_LOOP, tmp_path / "loop.esm"), max_loop_iterations=100)
    refusal = (r"prim::loop at hostile.py:3:4\): a trip count of 1000000000000, more than 100 iterations "
               r"\(esm_options.max_loop_iterations\)")
    with pytest.raises(native.RuntimeError, match=refusal) as info:
        model.run(np.zeros((2, 4), np.float32))
    assert info.value.status_name == "ESM_ERR_RUNTIME"


def _scripted(name: str, tmp_path) -> str:
    path = tmp_path / f"{name}.esm"
    export.save(jitscript.script(LOOP_MODELS[name]()), path)
    return str(path)


@pytest.mark.parametrize("name, count", [("for_const_1e12", 10**12), ("for_shape", 3 * 10**9)])
def test_trip_count_known_at_prepare_is_refused_by_default(tmp_path, name, count):
    """A constant count or one computed from shapes (x.size(0) * 10**9): prepare refuses it
    under the default limit, before any iteration runs."""
    model = native.load(_scripted(name, tmp_path))
    with pytest.raises(native.RuntimeError, match=f"a trip count of {count}, more than 1048576 iterations") as info:
        model.run(np.zeros((3, 4), np.float32))
    assert info.value.status_name == "ESM_ERR_RUNTIME"


@pytest.mark.parametrize("name", ["for_input", "while_input"])
def test_data_dependent_trip_count_stops_at_run(tmp_path, name):
    model = native.load(_scripted(name, tmp_path), max_loop_iterations=50)
    x = np.full((2, 4), 0.5, np.float32)
    want = x
    for _ in range(50):
        want = np.tanh(want)
    np.testing.assert_allclose(model.run(x, 50)[0], want, rtol=1e-6)
    refusal = r"prim::loop.*more than 50 iterations \(esm_options.max_loop_iterations\)"
    with pytest.raises(native.RuntimeError, match=refusal):
        model.run(x, 10**12)


def test_zero_loop_limit_is_unlimited(tmp_path):
    model = native.load(_scripted("for_input", tmp_path), max_loop_iterations=0)
    assert model.run(np.zeros((1, 1), np.float32), 2**20 + 1)[0].shape == (1, 1)


def test_loop_within_the_limit_runs(tmp_path):
    """The limit counts iterations, it does not reject loops: 5 tanh steps under a limit of 5."""
    text = ABSURD_LOOP.replace("1000000000000", "5")
    model = native.load(_save(text, tmp_path / "loop5.esm"), max_loop_iterations=5)
    x = np.full((2, 4), 0.5, np.float32)
    want = x
    for _ in range(5):
        want = np.tanh(want)
    np.testing.assert_allclose(model.run(x)[0], want, rtol=1e-6)


def test_blocks_nested_too_deep_are_refused_at_load(tmp_path):
    path = _save(_nested_ifs(40), tmp_path / "deep.esm")
    with pytest.raises(native.RuntimeError, match="blocks are nested deeper than 32") as info:
        native.load(path)
    assert info.value.status_name == "ESM_ERR_INVALID_MODEL"


def test_blocks_nested_within_the_limit_load_and_run(tmp_path):
    model = native.load(_save(_nested_ifs(8), tmp_path / "nested.esm"))
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(model.run(x, True)[0], -x)
    np.testing.assert_array_equal(model.run(x, False)[0], x)


CAST_TO_INT = """\
graph(%x : Tensor(float32, [5])):
  %y : Tensor(int64, [5]) = cast[dtype=int64](%x)
  %z : Tensor(int32, [5]) = cast[dtype=int32](%x)
  return (%y, %z)
"""


def test_out_of_range_float_to_int_casts_saturate(tmp_path):
    """C leaves such conversions undefined; libesm defines them so hostile inputs cannot reach UB."""
    model = native.load(_save(CAST_TO_INT, tmp_path / "cast.esm"))
    y, z = model.run(np.array([np.nan, np.inf, -np.inf, 1e30, -2.5], np.float32))
    i64, i32 = np.iinfo(np.int64), np.iinfo(np.int32)
    np.testing.assert_array_equal(y, [0, i64.max, i64.min, i64.max, -2])
    np.testing.assert_array_equal(z, [0, i32.max, i32.min, i32.max, -2])


def _conv_with_padding(pad: int) -> str:
    side = 4 + 2 * pad - 2
    return f"""\
graph(%x : Tensor(float32, [1, 1, 4, 4]), %w : Tensor(float32, [1, 1, 3, 3])):
  %none : None = prim::constant[value=None]()
  %y : Tensor(float32, [1, 1, {side}, {side}]) = conv2d[stride=(1, 1), padding=({pad}, {pad}, {pad}, {pad}), \
dilation=(1, 1), groups=1](%x, %w, %none)
  return (%y)
"""


def test_conv_geometry_beyond_any_size_is_refused_at_prepare(tmp_path):
    """2^28 padding: a 2^58-element output and a larger im2col scratch, whose size arithmetic
    would overflow; refused before any of it is computed."""
    model = native.load(_save(_conv_with_padding(2**28), tmp_path / "conv.esm"))
    with pytest.raises(native.RuntimeError, match=r"conv2d.*sizes beyond 2\^56 elements") as info:
        model.run(np.ones((1, 1, 4, 4), np.float32), np.ones((1, 1, 3, 3), np.float32))
    assert info.value.status_name == "ESM_ERR_SHAPE"


def test_conv_with_ordinary_padding_runs(tmp_path):
    model = native.load(_save(_conv_with_padding(1), tmp_path / "conv1.esm"))
    y = model.run(np.ones((1, 1, 4, 4), np.float32), np.ones((1, 1, 3, 3), np.float32))[0]
    assert y.shape == (1, 1, 4, 4) and y[0, 0, 1, 1] == 9 and y[0, 0, 0, 0] == 4
