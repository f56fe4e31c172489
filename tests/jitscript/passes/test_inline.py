"""Inlining prim::call bodies, text in, text out."""
from jitscript.passes.inline import inline_calls

from .helpers import check_pass


def test_call_body_is_spliced_with_arguments_bound():
    check_pass(inline_calls, '''\
        graph(%x : Tensor(float32, [2])):
          %y : Tensor(float32, [2]) = exp(%x)
          %r : Tensor(float32, [2]) = prim::call[name="block"](%y)  # m.py:3
            block0(%a : Tensor(float32, [2])):
              %b : Tensor(float32, [2]) = neg(%a)  # block.py:7
              %c : Tensor(float32, [2]) = prim::call[name="inner"](%b)
                block0(%p : Tensor(float32, [2])):
                  %q : Tensor(float32, [2]) = relu(%p)
                  -> (%q)
              -> (%c)
          %s : Tensor(float32, [2]) = add(%r, %x)
          return (%s)
        ''', '''\
        graph(%x : Tensor(float32, [2])):
          %y : Tensor(float32, [2]) = exp(%x)
          %b : Tensor(float32, [2]) = neg(%y)  # block.py:7
          %q : Tensor(float32, [2]) = relu(%b)
          %s : Tensor(float32, [2]) = add(%q, %x)
          return (%s)
        ''')
