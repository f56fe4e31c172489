"""Layout folding: permutes feeding a matmul, or reading its result, fold into its attributes."""
import numpy as np
import pytest

import eager
from eager.errors import OpError
from eager.ops.dispatch import apply
from eager.ops.linalg import MATMUL
from jitscript import ScriptModule, parse
from jitscript.passes.fold_layout import fold_layout

from .helpers import check_pass, run_pass

# attention's heads (k serving as values too): split q and k, Q K^T, softmax, A V, merge the heads
ATTENTION = '''\
graph(%q : Tensor(float32, [N, 6, 2, 4]), %k : Tensor(float32, [N, 6, 2, 4])):
  %qh : Tensor(float32, [N, 2, 6, 4]) = permute[dims=(0, 2, 1, 3)](%q)  # m.py:1
  %kt : Tensor(float32, [N, 2, 4, 6]) = permute[dims=(0, 2, 3, 1)](%k)  # m.py:2
  %s : Tensor(float32, [N, 2, 6, 6]) = matmul(%qh, %kt)  # m.py:3
  %p : Tensor(float32, [N, 2, 6, 6]) = softmax[dim=3](%s)  # m.py:4
  %vh : Tensor(float32, [N, 2, 6, 4]) = permute[dims=(0, 2, 1, 3)](%k)  # m.py:5
  %o : Tensor(float32, [N, 2, 6, 4]) = matmul(%p, %vh)  # m.py:6
  %m : Tensor(float32, [N, 6, 2, 4]) = permute[dims=(0, 2, 1, 3)](%o)  # m.py:7
  return (%m)
'''


def test_attention_permutes_fold_into_the_products():
    check_pass(fold_layout, ATTENTION, '''\
        graph(%q : Tensor(float32, [N, 6, 2, 4]), %k : Tensor(float32, [N, 6, 2, 4])):
          %s : Tensor(float32, [N, 2, 6, 6]) = matmul[a_perm=(0, 2, 1, 3), b_perm=(0, 2, 3, 1)](%q, %k)  # m.py:3
          %p : Tensor(float32, [N, 2, 6, 6]) = softmax[dim=3](%s)  # m.py:4
          %o : Tensor(float32, [N, 6, 2, 4]) = matmul[b_perm=(0, 2, 1, 3), out_perm=(0, 2, 1, 3)](%p, %k)  # m.py:6
          return (%o)
        ''')


@pytest.mark.parametrize("batch", [1, 3])
def test_folded_attention_computes_what_the_unfolded_one_does(batch):
    inputs = [eager.randn(batch, 6, 2, 4) for _ in range(2)]
    want = ScriptModule(parse(ATTENTION))(*inputs).numpy()
    folded = ScriptModule(run_pass(fold_layout, ATTENTION))(*inputs).numpy()
    np.testing.assert_allclose(folded, want, rtol=1e-6, atol=1e-6)


def test_permutes_with_other_readers_or_that_move_the_last_dim_stay_on_the_result():
    text = '''\
        graph(%a : Tensor(float32, [2, 3, 4]), %b : Tensor(float32, [2, 4, 5])):
          %c : Tensor(float32, [2, 3, 5]) = matmul(%a, %b)
          %d : Tensor(float32, [5, 3, 2]) = permute[dims=(2, 1, 0)](%c)
          %e : Tensor(float32, [2, 3, 5]) = matmul(%a, %b)
          %f : Tensor(float32, [3, 2, 5]) = permute[dims=(1, 0, 2)](%e)
          return (%d, %f, %e)
        '''
    check_pass(fold_layout, text, text)


def test_a_permute_read_by_others_still_folds_into_an_operand():
    check_pass(fold_layout, '''\
        graph(%a : Tensor(float32, [3, 2])):
          %t : Tensor(float32, [2, 3]) = permute[dims=(1, 0)](%a)
          %c : Tensor(float32, [2, 2]) = matmul(%t, %a)
          return (%c, %t)
        ''', '''\
        graph(%a : Tensor(float32, [3, 2])):
          %t : Tensor(float32, [2, 3]) = permute[dims=(1, 0)](%a)
          %c : Tensor(float32, [2, 2]) = matmul[a_perm=(1, 0)](%a, %a)
          return (%c, %t)
        ''')


def test_a_vector_product_keeps_its_result_permute():
    text = '''\
        graph(%a : Tensor(float32, [2, 3, 4]), %b : Tensor(float32, [4])):
          %c : Tensor(float32, [2, 3]) = matmul(%a, %b)
          %d : Tensor(float32, [3, 2]) = permute[dims=(1, 0)](%c)
          return (%d)
        '''
    check_pass(fold_layout, text, text)


def test_no_gradient_through_folded_layout():
    a = eager.randn(3, 2, requires_grad=True)
    y = apply(MATMUL, (a, eager.randn(3, 4)), {"a_perm": (1, 0)})
    with pytest.raises(OpError, match="folded layout"):
        y.sum().backward()


# a batch-first LSTM's last step: the time-major output permuted to batch-first, then out[:, -1]
LAST_STEP = '''\
graph(%y : Tensor(float32, [5, N, 3])):
  %b : Tensor(float32, [N, 5, 3]) = permute[dims=(1, 0, 2)](%y)  # m.py:1
  %last : Tensor(float32, [N, 3]) = getitem[items=(("slice", None, None, None), ("select", -1))](%b)  # m.py:2
  return (%last)
'''


def test_an_index_of_a_permute_reads_the_permutes_input():
    check_pass(fold_layout, LAST_STEP, '''\
        graph(%y : Tensor(float32, [5, N, 3])):
          %last : Tensor(float32, [N, 3]) = getitem[items=(("select", -1),)](%y)  # m.py:2
          return (%last)
        ''')


@pytest.mark.parametrize("text", [LAST_STEP, '''\
graph(%y : Tensor(float32, [4, N, 5])):
  %b : Tensor(float32, [5, 4, N]) = permute[dims=(2, 0, 1)](%y)  # m.py:1
  %c : Tensor(float32, [2, N]) = getitem[items=(("select", 2), ("slice", 1, None, 2))](%b)  # m.py:2
  return (%c)
'''])
@pytest.mark.parametrize("batch", [1, 3])
def test_an_index_moved_before_the_permute_gives_the_same_values(text, batch):
    y = eager.randn(*[batch if d == "N" else int(d) for d in text.split("[", 1)[1].split("]")[0].split(", ")])
    want = ScriptModule(parse(text))(y).numpy()
    graph = run_pass(fold_layout, text)
    assert "permute" not in str(graph)
    np.testing.assert_array_equal(ScriptModule(graph)(y).numpy(), want)


@pytest.mark.parametrize("reader", [
    # the kept dims would come out in another order than the permute's
    '%c : Tensor(float32, [3, N]) = getitem[items=(("select", 0),)](%b)',
    # a new axis: not moved
    '%c : Tensor(float32, [N, 1, 5, 3]) = getitem[items=(("slice", None, None, None), ("newaxis",))](%b)',
])
def test_an_index_that_would_reorder_or_add_dims_stays_after_the_permute(reader):
    text = f'''\
        graph(%y : Tensor(float32, [5, N, 3])):
          %b : Tensor(float32, [3, N, 5]) = permute[dims=(2, 1, 0)](%y)
          {reader}
          return (%c)
        '''
    if "newaxis" in reader:
        text = text.replace("[3, N, 5]) = permute[dims=(2, 1, 0)]", "[N, 5, 3]) = permute[dims=(1, 0, 2)]")
    check_pass(fold_layout, text, text)


def test_a_permute_with_another_reader_keeps_its_index():
    text = '''\
        graph(%y : Tensor(float32, [5, N, 3])):
          %b : Tensor(float32, [N, 5, 3]) = permute[dims=(1, 0, 2)](%y)
          %c : Tensor(float32, [N, 3]) = getitem[items=(("slice", None, None, None), ("select", -1))](%b)
          return (%c, %b)
        '''
    check_pass(fold_layout, text, text)
