"""Algebraic simplification, text in, text out."""
import eager
from jitscript.passes.simplify import simplify

from .helpers import check_pass


def test_multiply_by_one_and_add_zero_vanish():
    check_pass(simplify, '''\
        graph(%x : Tensor(float32, [2, 3])):
          %one : float = prim::constant[value=1.0]()
          %s1 : Tensor(float32, []) = prim::scalar_tensor[dtype=float32](%one)
          %zero : int = prim::constant[value=0]()
          %s0 : Tensor(float32, []) = prim::scalar_tensor[dtype=float32](%zero)
          %a : Tensor(float32, [2, 3]) = mul(%s1, %x)
          %b : Tensor(float32, [2, 3]) = add(%a, %s0)
          %c : Tensor(float32, [2, 3]) = sub(%b, %s0)
          %d : Tensor(float32, [2, 3]) = div(%c, %s1)
          %e : Tensor(float32, [2, 3]) = relu(%d)
          return (%e)
        ''', '''\
        graph(%x : Tensor(float32, [2, 3])):
          %e : Tensor(float32, [2, 3]) = relu(%x)
          return (%e)
        ''')


def test_broadcasting_by_the_constant_is_kept():
    text = '''\
        graph(%x : Tensor(float32, [3])):
          %ones : Tensor(float32, [2, 3]) = prim::param[name="ones"]()
          %a : Tensor(float32, [2, 3]) = mul(%x, %ones)
          return (%a)
        '''
    check_pass(simplify, text, text, {"ones": eager.ones(2, 3)})


def test_ones_parameter_of_the_same_shape_is_neutral():
    check_pass(simplify, '''\
        graph(%x : Tensor(float32, [3])):
          %ones : Tensor(float32, [3]) = prim::param[name="ones"]()
          %a : Tensor(float32, [3]) = mul(%x, %ones)
          return (%a)
        ''', '''\
        graph(%x : Tensor(float32, [3])):
          return (%x)
        ''', {"ones": eager.ones(3)})


def test_transpose_of_transpose_cancels_and_permutes_compose():
    check_pass(simplify, '''\
        graph(%x : Tensor(float32, [2, 3, 4])):
          %a : Tensor(float32, [3, 2, 4]) = permute[dims=(1, 0, 2)](%x)
          %b : Tensor(float32, [2, 3, 4]) = permute[dims=(1, 0, 2)](%a)
          %c : Tensor(float32, [4, 3, 2]) = permute[dims=(2, 1, 0)](%b)
          %d : Tensor(float32, [3, 4, 2]) = permute[dims=(1, 0, 2)](%c)
          %e : Tensor(float32, [3, 4, 2]) = neg(%d)
          %f : Tensor(float32, [3, 4, 2]) = neg(%e)
          return (%f)
        ''', '''\
        graph(%x : Tensor(float32, [2, 3, 4])):
          %d : Tensor(float32, [3, 4, 2]) = permute[dims=(1, 2, 0)](%x)
          return (%d)
        ''')


def test_reshape_chains_collapse_and_no_op_reshape_goes():
    check_pass(simplify, '''\
        graph(%x : Tensor(float32, [2, 6])):
          %a : Tensor(float32, [12]) = reshape[shape=(12,)](%x)
          %b : Tensor(float32, [3, 4]) = reshape[shape=(3, 4)](%a)
          %c : Tensor(float32, [3, 4]) = reshape[shape=(3, 4)](%b)
          %d : Tensor(float32, [3, 4]) = cast[dtype=float32](%c)
          return (%d)
        ''', '''\
        graph(%x : Tensor(float32, [2, 6])):
          %b : Tensor(float32, [3, 4]) = reshape[shape=(3, 4)](%x)
          return (%b)
        ''')


def test_scalar_size_arithmetic_simplifies_but_int_float_mixes_stay():
    check_pass(simplify, '''\
        graph(%x : Tensor(float32, [N, 4])):
          %zero : int = prim::constant[value=0]()
          %one : int = prim::constant[value=1]()
          %onef : float = prim::constant[value=1.0]()
          %n : int = prim::size(%x, %zero)
          %a : int = prim::mul(%one, %n)
          %b : int = prim::floordiv(%a, %one)
          %c : int = prim::add(%b, %zero)
          %f : float = prim::mul(%c, %onef)
          return (%c, %f)
        ''', '''\
        graph(%x : Tensor(float32, [N, 4])):
          %zero : int = prim::constant[value=0]()
          %onef : float = prim::constant[value=1.0]()
          %n : int = prim::size(%x, %zero)
          %f : float = prim::mul(%n, %onef)
          return (%n, %f)
        ''')
