"""Shape and dtype propagation with symbolic dims, text in, text out."""
import pytest

from jitscript import IRError
from jitscript.passes.shape_inference import infer_shapes

from .helpers import check_pass, run_pass


def test_symbolic_batch_flows_through_registry_rules():
    check_pass(infer_shapes, '''\
        graph(%x : Tensor(float32, [N, 3, 4]), %w : Tensor(float32, [5, 12])):
          %zero : int = prim::constant[value=0]()
          %n : int = prim::size(%x, %zero)
          %twelve : int = prim::constant[value=12]()
          %shape : Tuple[int, int] = prim::tuple_construct(%n, %twelve)
          %flat : Tensor = reshape[shape=$1](%x, %shape)
          %y : Tensor = linear(%flat, %w)
          %c : Tensor = gt(%y, %y)
          %i : Tensor = cast[dtype=int64](%y)
          %s : Tensor = sum[dim=(1,), keepdim=False](%i)
          return (%y, %c, %s)
        ''', '''\
        graph(%x : Tensor(float32, [N, 3, 4]), %w : Tensor(float32, [5, 12])):
          %zero : int = prim::constant[value=0]()
          %n : int = prim::size(%x, %zero)
          %twelve : int = prim::constant[value=12]()
          %shape : Tuple[int, int] = prim::tuple_construct(%n, %twelve)
          %flat : Tensor(float32, [N, 12]) = reshape[shape=$1](%x, %shape)
          %y : Tensor(float32, [N, 5]) = linear(%flat, %w)
          %c : Tensor(bool, [N, 5]) = gt(%y, %y)
          %i : Tensor(int64, [N, 5]) = cast[dtype=int64](%y)
          %s : Tensor(int64, [N]) = sum[dim=(1,), keepdim=False](%i)
          return (%y, %c, %s)
        ''')


def test_size_arithmetic_is_tracked_symbolically():
    check_pass(infer_shapes, '''\
        graph(%x : Tensor(float32, [N, 3, 4])):
          %zero : int = prim::constant[value=0]()
          %one : int = prim::constant[value=1]()
          %two : int = prim::constant[value=2]()
          %n : int = prim::size(%x, %zero)
          %c : int = prim::size(%x, %one)
          %h : int = prim::size(%x, %two)
          %nc : int = prim::mul(%n, %c)
          %all : int = prim::mul(%nc, %h)
          %rest : int = prim::floordiv(%all, %n)
          %shape : List[int] = prim::list_construct(%n, %rest)
          %y : Tensor = reshape[shape=$1](%x, %shape)
          return (%y)
        ''', '''\
        graph(%x : Tensor(float32, [N, 3, 4])):
          %zero : int = prim::constant[value=0]()
          %one : int = prim::constant[value=1]()
          %two : int = prim::constant[value=2]()
          %n : int = prim::size(%x, %zero)
          %c : int = prim::size(%x, %one)
          %h : int = prim::size(%x, %two)
          %nc : int = prim::mul(%n, %c)
          %all : int = prim::mul(%nc, %h)
          %rest : int = prim::floordiv(%all, %n)
          %shape : List[int] = prim::list_construct(%n, %rest)
          %y : Tensor(float32, [N, 12]) = reshape[shape=$1](%x, %shape)
          return (%y)
        ''')


def test_if_joins_branch_types_and_loop_reaches_a_fixed_point():
    check_pass(infer_shapes, '''\
        graph(%x : Tensor(float32, [N, 4]), %c : bool, %k : int):
          %r : Tensor = prim::if(%c)
            block0():
              %a : Tensor = relu(%x)
              -> (%a)
            block1():
              %b : Tensor = sum[dim=(0,), keepdim=True](%x)
              -> (%b)
          %t : bool = prim::constant[value=True]()
          %l : Tensor = prim::loop(%k, %t, %x)
            block0(%i : int, %h : Tensor):
              %h2 : Tensor = tanh(%h)
              -> (%t, %h2)
          return (%r, %l)
        ''', '''\
        graph(%x : Tensor(float32, [N, 4]), %c : bool, %k : int):
          %r : Tensor(float32, [?, 4]) = prim::if(%c)
            block0():
              %a : Tensor(float32, [N, 4]) = relu(%x)
              -> (%a)
            block1():
              %b : Tensor(float32, [1, 4]) = sum[dim=(0,), keepdim=True](%x)
              -> (%b)
          %t : bool = prim::constant[value=True]()
          %l : Tensor(float32, [N, 4]) = prim::loop(%k, %t, %x)
            block0(%i : int, %h : Tensor(float32, [N, 4])):
              %h2 : Tensor(float32, [N, 4]) = tanh(%h)
              -> (%t, %h2)
          return (%r, %l)
        ''')


def test_shapes_that_do_not_fit_raise_naming_the_node():
    with pytest.raises(IRError, match=r"node %y = linear at m.py:2: linear: .*4 features.*expects 5"):
        run_pass(infer_shapes, '''\
            graph(%x : Tensor(float32, [N, 4]), %w : Tensor(float32, [3, 5])):
              %y : Tensor(float32, [7, 3]) = linear(%x, %w)  # m.py:2
              return (%y)
            ''')


def test_unknown_input_shape_gives_unknown_output_rank():
    check_pass(infer_shapes, '''\
        graph(%x : Tensor(float32), %w : Tensor(float32, [3, 5])):
          %y : Tensor(float32, [7, 3]) = linear(%x, %w)
          return (%y)
        ''', '''\
        graph(%x : Tensor(float32), %w : Tensor(float32, [3, 5])):
          %y : Tensor(float32) = linear(%x, %w)
          return (%y)
        ''')
