"""The memory planner: non-overlapping live tensors, reuse of dead ones, arena size."""
import pytest

from jitscript import parse
from jitscript.passes.memory_plan import plan_memory

CHAIN = '''\
graph(%x : Tensor(float32, [N, 64])):
  %a : Tensor(float32, [N, 64]) = relu(%x)
  %b : Tensor(float32, [N, 64]) = neg(%a)
  %c : Tensor(float32, [N, 64]) = exp(%b)
  %d : Tensor(float32, [N, 64]) = tanh(%c)
  return (%d)
'''


def by_name(plan, name):
    return next(v for v in plan.offsets if v.name == name)


def test_chain_needs_two_buffers_not_four():
    plan = plan_memory(parse(CHAIN), {"N": 4})
    assert plan.unplanned_size == 4 * 4 * 64 * 4
    assert plan.arena_size == 2 * 4 * 64 * 4
    assert plan.offsets[by_name(plan, "a")] == plan.offsets[by_name(plan, "c")]


def test_live_tensors_never_overlap():
    graph = parse('''\
graph(%x : Tensor(float32, [8, 8])):
  %a : Tensor(float32, [8, 8]) = relu(%x)
  %b : Tensor(float32, [8]) = sum[dim=(0,), keepdim=False](%a)
  %c : Tensor(float32, [8, 8]) = neg(%a)
  %d : Tensor(float32, [8, 8]) = add(%c, %b)
  %e : Tensor(float32, [8, 8]) = mul(%d, %a)
  return (%e)
''')
    plan = plan_memory(graph)
    values = list(plan.offsets)
    for i, u in enumerate(values):
        for v in values[i + 1:]:
            (s1, e1), (s2, e2) = plan.lifetimes[u], plan.lifetimes[v]
            if s1 <= e2 and s2 <= e1:
                assert plan.offsets[u] + plan.sizes[u] <= plan.offsets[v] or \
                    plan.offsets[v] + plan.sizes[v] <= plan.offsets[u]
    assert plan.arena_size <= plan.unplanned_size


def test_values_inside_loops_live_for_the_whole_loop():
    graph = parse('''\
graph(%x : Tensor(float32, [16]), %n : int):
  %t : bool = prim::constant[value=True]()
  %r : Tensor(float32, [16]) = prim::loop(%n, %t, %x)
    block0(%i : int, %h : Tensor(float32, [16])):
      %a : Tensor(float32, [16]) = tanh(%h)
      %b : Tensor(float32, [16]) = neg(%a)
      -> (%t, %b)
  %y : Tensor(float32, [16]) = exp(%r)
  return (%y)
''')
    plan = plan_memory(graph)
    a, b = by_name(plan, "a"), by_name(plan, "b")
    assert plan.lifetimes[a] == plan.lifetimes[b] == (1, 1)
    assert plan.offsets[a] != plan.offsets[b]


def test_unbound_symbol_is_an_error():
    with pytest.raises(ValueError, match="bind the symbolic dim 'N'"):
        plan_memory(parse(CHAIN))
