"""Constant folding, text in, text out."""
import numpy as np

import eager
from jitscript import ScriptModule
from jitscript.passes.constant_fold import fold_constants, fold_static_sizes

from .helpers import check_pass


def test_scalar_arithmetic_folds_to_a_constant():
    check_pass(fold_constants, '''\
        graph(%x : Tensor(float32, [2, 6])):
          %a : int = prim::constant[value=3]()
          %b : int = prim::constant[value=4]()
          %c : int = prim::mul(%a, %b)
          %d : int = prim::floordiv(%c, %a)
          %s : Tuple[int, int] = prim::tuple_construct(%a, %d)
          %y : Tensor(float32, [3, 4]) = reshape[shape=$1](%x, %s)
          return (%y)
        ''', '''\
        graph(%x : Tensor(float32, [2, 6])):
          %s : Tuple[int, int] = prim::constant[value=(3, 4)]()
          %y : Tensor(float32, [3, 4]) = reshape[shape=$1](%x, %s)
          return (%y)
        ''')


def test_tensor_results_become_params_not_inline_values():
    w = eager.tensor([[1.0, 2.0], [3.0, 4.0]])
    graph = check_pass(fold_constants, '''\
        graph(%x : Tensor(float32, [2, 2])):
          %w : Tensor(float32, [2, 2]) = prim::param[name="w"]()
          %wt : Tensor(float32, [2, 2]) = permute[dims=(1, 0)](%w)
          %y : Tensor(float32, [2, 2]) = matmul(%x, %wt)
          return (%y)
        ''', '''\
        graph(%x : Tensor(float32, [2, 2])):
          %wt : Tensor(float32, [2, 2]) = prim::param[name="folded.1"]()
          %y : Tensor(float32, [2, 2]) = matmul(%x, %wt)
          return (%y)
        ''', {"w": w})
    np.testing.assert_array_equal(graph.params["folded.1"].numpy(), [[1.0, 3.0], [2.0, 4.0]])


def test_params_are_left_alone_without_fold_params():
    check_pass(lambda g: fold_constants(g, fold_params=False), '''\
        graph(%x : Tensor(float32, [2])):
          %w : Tensor(float32, [2]) = prim::param[name="w"]()
          %e : Tensor(float32, [2]) = exp(%w)
          %y : Tensor(float32, [2]) = mul(%x, %e)
          return (%y)
        ''', '''\
        graph(%x : Tensor(float32, [2])):
          %w : Tensor(float32, [2]) = prim::param[name="w"]()
          %e : Tensor(float32, [2]) = exp(%w)
          %y : Tensor(float32, [2]) = mul(%x, %e)
          return (%y)
        ''', {"w": eager.ones(2)})


def test_if_on_a_known_condition_keeps_the_taken_block():
    check_pass(fold_constants, '''\
        graph(%x : Tensor(float32, [2])):
          %one : int = prim::constant[value=1]()
          %two : int = prim::constant[value=2]()
          %c : bool = prim::lt(%one, %two)
          %r : Tensor(float32, [2]) = prim::if(%c)
            block0():
              %a : Tensor(float32, [2]) = neg(%x)
              -> (%a)
            block1():
              -> (%x)
          return (%r)
        ''', '''\
        graph(%x : Tensor(float32, [2])):
          %a : Tensor(float32, [2]) = neg(%x)
          return (%a)
        ''')


def test_loop_that_never_runs_is_replaced_by_its_initial_values():
    check_pass(fold_constants, '''\
        graph(%x : Tensor(float32, [2])):
          %zero : int = prim::constant[value=0]()
          %t : bool = prim::constant[value=True]()
          %r : Tensor(float32, [2]) = prim::loop(%zero, %t, %x)
            block0(%i : int, %acc : Tensor(float32, [2])):
              %n : Tensor(float32, [2]) = neg(%acc)
              -> (%t, %n)
          return (%r)
        ''', '''\
        graph(%x : Tensor(float32, [2])):
          return (%x)
        ''')


def test_folded_graph_computes_the_same():
    text = '''graph(%x : Tensor(float32, [2])):
  %w : Tensor(float32, [2]) = prim::param[name="w"]()
  %two : float = prim::constant[value=2.0]()
  %s : Tensor(float32, []) = prim::scalar_tensor[dtype=float32](%two)
  %e : Tensor(float32, [2]) = mul(%w, %s)
  %y : Tensor(float32, [2]) = add(%x, %e)
  return (%y)
'''
    from jitscript import parse

    params = {"w": eager.tensor([1.0, -1.0])}
    before = ScriptModule(parse(text, params))
    after = ScriptModule(fold_constants(parse(text, params)))
    x = eager.tensor([0.5, 0.5])
    assert before(x).tolist() == after(x).tolist() == [2.5, -1.5]
    assert [n.op for n in after.graph.nodes()] == ["prim::param", "add"]


def test_sizes_fixed_by_the_types_fold_and_the_batch_stays_dynamic():
    check_pass(fold_static_sizes, '''\
        graph(%x : Tensor(float32, [N, 4, 4])):
          %zero : int = prim::constant[value=0]()
          %one : int = prim::constant[value=1]()
          %two : int = prim::constant[value=2]()
          %n : int = prim::size(%x, %zero)
          %c : int = prim::size(%x, %one)
          %h : int = prim::size(%x, %two)
          %nc : int = prim::mul(%n, %c)
          %all : int = prim::mul(%nc, %h)
          %rest : int = prim::floordiv(%all, %n)
          %shape : Tuple[int, int] = prim::tuple_construct(%n, %rest)
          %y : Tensor(float32, [N, 16]) = reshape[shape=$1](%x, %shape)
          return (%y)
        ''', '''\
        graph(%x : Tensor(float32, [N, 4, 4])):
          %zero : int = prim::constant[value=0]()
          %n : int = prim::size(%x, %zero)
          %rest : int = prim::constant[value=16]()
          %shape : Tuple[int, int] = prim::tuple_construct(%n, %rest)
          %y : Tensor(float32, [N, 16]) = reshape[shape=$1](%x, %shape)
          return (%y)
        ''')


def test_a_concrete_batch_in_the_input_type_is_not_frozen():
    graph = check_pass(fold_static_sizes, '''\
        graph(%x : Tensor(float32, [2, 4, 4])):
          %zero : int = prim::constant[value=0]()
          %one : int = prim::constant[value=1]()
          %n : int = prim::size(%x, %zero)
          %c : int = prim::size(%x, %one)
          %shape : Tuple[int, int, int] = prim::tuple_construct(%n, %c, %c)
          %y : Tensor(float32, [2, 4, 4]) = reshape[shape=$1](%x, %shape)
          return (%y)
        ''', '''\
        graph(%x : Tensor(float32, [2, 4, 4])):
          %zero : int = prim::constant[value=0]()
          %n : int = prim::size(%x, %zero)
          %c : int = prim::constant[value=4]()
          %shape : Tuple[int, int, int] = prim::tuple_construct(%n, %c, %c)
          %y : Tensor(float32, [2, 4, 4]) = reshape[shape=$1](%x, %shape)
          return (%y)
        ''')
    assert ScriptModule(graph)(eager.ones(5, 4, 4)).shape == (5, 4, 4)
