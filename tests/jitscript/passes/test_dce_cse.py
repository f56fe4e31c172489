"""Dead-code and common-subexpression elimination, text in, text out."""
from jitscript.passes.cse import eliminate_common_subexpressions
from jitscript.passes.dce import eliminate_dead_code

from .helpers import check_pass


def test_dce_removes_unused_pure_nodes_and_keeps_raise():
    check_pass(eliminate_dead_code, '''\
        graph(%x : Tensor(float32, [2])):
          %unused : Tensor(float32, [2]) = exp(%x)
          %also : Tensor(float32, [2]) = neg(%unused)
          %y : Tensor(float32, [2]) = relu(%x)
          prim::raise[message="kept: it has an effect"]()
          return (%y)
        ''', '''\
        graph(%x : Tensor(float32, [2])):
          %y : Tensor(float32, [2]) = relu(%x)
          prim::raise[message="kept: it has an effect"]()
          return (%y)
        ''')


def test_dce_cleans_nested_blocks_and_drops_unused_if():
    check_pass(eliminate_dead_code, '''\
        graph(%x : Tensor(float32, [2]), %c : bool):
          %r : Tensor(float32, [2]) = prim::if(%c)
            block0():
              %dead : Tensor(float32, [2]) = exp(%x)
              -> (%x)
            block1():
              -> (%x)
          %l : Tensor(float32, [2]) = prim::if(%c)
            block0():
              %dead2 : Tensor(float32, [2]) = exp(%x)
              -> (%x)
            block1():
              -> (%x)
          return (%r)
        ''', '''\
        graph(%x : Tensor(float32, [2]), %c : bool):
          %r : Tensor(float32, [2]) = prim::if(%c)
            block0():
              -> (%x)
            block1():
              -> (%x)
          return (%r)
        ''')


def test_cse_merges_equal_nodes_including_inside_blocks():
    check_pass(eliminate_common_subexpressions, '''\
        graph(%x : Tensor(float32, [2]), %c : bool):
          %a : Tensor(float32, [2]) = exp(%x)
          %b : Tensor(float32, [2]) = exp(%x)
          %one : int = prim::constant[value=1]()
          %one2 : int = prim::constant[value=1]()
          %s : int = prim::add(%one, %one2)
          %r : Tensor(float32, [2]) = prim::if(%c)
            block0():
              %d : Tensor(float32, [2]) = exp(%x)
              -> (%d)
            block1():
              -> (%b)
          %sum : Tensor(float32, [2]) = add(%a, %b)
          return (%sum, %r, %s)
        ''', '''\
        graph(%x : Tensor(float32, [2]), %c : bool):
          %a : Tensor(float32, [2]) = exp(%x)
          %one : int = prim::constant[value=1]()
          %s : int = prim::add(%one, %one)
          %r : Tensor(float32, [2]) = prim::if(%c)
            block0():
              -> (%a)
            block1():
              -> (%a)
          %sum : Tensor(float32, [2]) = add(%a, %a)
          return (%sum, %r, %s)
        ''')


def test_cse_keeps_different_attributes_apart():
    check_pass(eliminate_common_subexpressions, '''\
        graph(%x : Tensor(float32, [2])):
          %a : Tensor(float32, [2]) = leaky_relu[negative_slope=0.1](%x)
          %b : Tensor(float32, [2]) = leaky_relu[negative_slope=0.2](%x)
          %c : Tensor(float32, [2]) = leaky_relu[negative_slope=0.1](%x)
          return (%a, %b, %c)
        ''', '''\
        graph(%x : Tensor(float32, [2])):
          %a : Tensor(float32, [2]) = leaky_relu[negative_slope=0.1](%x)
          %b : Tensor(float32, [2]) = leaky_relu[negative_slope=0.2](%x)
          return (%a, %b, %a)
        ''')
