"""Programs outside the script language or ill-typed; test_errors.py pins each message."""
# ruff: noqa: F821, E731, F841, B018, UP035
from __future__ import annotations

import numpy as np

import eager
from eager import Tensor, nn

GLOBAL_TENSOR = eager.ones(3)


def uses_lambda(x):
    f = lambda v: v + 1
    return f(x)


def uses_generator(xs: list[Tensor]):
    return sum(v.sum() for v in xs)


def uses_list_comprehension(xs: list[Tensor]):
    ys = [v * 2 for v in xs]
    return ys


def takes_kwargs(x, **options):
    return x


def takes_varargs(x, *rest):
    return x


def helper(x, scale: float = 1.0):
    return x * scale


OPTIONS = {"scale": 2.0}


def passes_kwargs(x):
    return helper(x, **OPTIONS)


def passes_star_args(x):
    args = (x,)
    return helper(*args)


def uses_try(x):
    try:
        y = x * 2
    except ValueError:
        y = x
    return y


def uses_with(x):
    with eager.no_grad():
        y = x * 2
    return y


def unknown_global(x):
    return x + undefined_thing


def unknown_function(x):
    return mystery_function(x)


def calls_numpy(x):
    return np.sum(x)


def calls_print(x):
    print(x)
    return x


def branch_type_mismatch(x, flag: bool):
    if flag:
        y = x * 2
    else:
        y = 1
    return y


def return_type_mismatch(x):
    if x.sum() > 0:
        return x
    return 0


def wrong_return_annotation(x) -> int:
    return x * 2


def reads_global_tensor(x):
    return x + GLOBAL_TENSOR


def uses_dict(x):
    d = {"a": x}
    return x


def uses_walrus(x):
    if (n := 3) > 2:
        return x * n
    return x


def nested_def(x):
    def inner(v):
        return v + 1
    return inner(x)


def uses_yield(x):
    yield x


def uses_del(x):
    y = x * 2
    del y
    return x


def uses_global_statement(x):
    global GLOBAL_TENSOR
    return x


def imports_inside(x):
    import math
    return x * math.pi


class AssignsAttribute(nn.Module):
    def forward(self, x):
        self.last = x
        return x


def item_assignment(x):
    x[0] = 1.0
    return x


def loop_changes_type(x, n: int):
    acc = 0
    for i in range(n):
        acc = x * i
    return acc


def defined_on_one_branch(x, flag: bool):
    if flag:
        y = x * 2
    return y


def defined_in_loop_only(x, n: int):
    for i in range(n):
        y = x * i
    return y


def uses_in_operator(x, n: int, allowed: list[int]):
    if n in allowed:
        return x
    return -x


def is_not_none_only(x, n: int):
    if n is x:
        return x
    return -x


def uses_fstring(x, n: int):
    assert n > 0, f"bad n {n}"
    return x


def bad_annotation(x, options: dict):
    return x


def optional_as_condition(x, h: Tensor | None = None):
    if h:
        return x + h
    return x


def needs_int(x, n: int):
    return x * n


def passes_tensor_for_int(x):
    return needs_int(x, x)


def shape_mismatch(x, w):
    return x @ w


def recursive(x, n: int):
    if n > 0:
        return recursive(x, n - 1)
    return x


class BreakInModuleList(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
            if x.sum() > 0:
                break
        return x


def loop_else(x, n: int):
    for i in range(n):
        x = x + i
    else:
        x = -x
    return x


def iterates_tensor(x):
    total = x.sum()
    for row in x:
        total = total + row.sum()
    return total


def conditional_expression_types(x, flag: bool):
    return x if flag else 1.5


def list_of_mixed_types(x):
    items = [x, 1]
    return x


def constructs_exception(x):
    e = ValueError("bad")
    return x


def in_place_method(x):
    x.add_(1.0)
    return x


def leaves_the_graph(x):
    return x.numpy()


def in_place_function(x):
    nn.init.zeros_(x)
    return x


def draws_random_numbers(x):
    return x + eager.randn_like(x)
