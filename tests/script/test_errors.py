"""Programs outside the script language or ill-typed fail at compile time with a pinned,
compiler-style message: what, where (line relative to the def, and the text under the caret),
and a hint."""
from __future__ import annotations

import inspect

import pytest

import eager
import jitscript
from jitscript.diagnostics import ScriptError, SourceLoc, format_diagnostic

from . import bad_programs

# (program, line after its def line, message, text under the caret, hint)
ERRORS = [
    ('uses_lambda',
     1,
     'lambda is not supported in script',
     'lambda v: v + 1',
     'define a function with def at module level and call it'),
    ('uses_generator',
     1,
     'a generator expression is not supported in script',
     'v.sum() for v in xs',
     'write a for loop'),
    ('uses_list_comprehension',
     1,
     'a list comprehension is not supported in script',
     '[v * 2 for v in xs]',
     'write a for loop that appends, or unroll it'),
    ('takes_kwargs', 0, '**kwargs is not supported in script', '**options', 'list the arguments explicitly'),
    ('takes_varargs', 0, '*args is not supported in script', '*rest', 'list the arguments explicitly'),
    ('passes_kwargs',
     1,
     '**kwargs in a call is not supported in script',
     '**OPTIONS',
     'pass keyword arguments by name'),
    ('passes_star_args', 2, '*args in a call is not supported in script', '*args', 'pass the arguments one by one'),
    ('uses_try',
     1,
     'try/except is not supported in script',
     'try',
     'remove the try; errors raised in script stop the program'),
    ('uses_with',
     1,
     'a with statement is not supported in script',
     'with',
     'use trace for this function, or rewrite it in the script subset (docs/script.md)'),
    ('unknown_global',
     1,
     "unknown name 'undefined_thing'",
     'undefined_thing',
     'define it, or pass it as an argument'),
    ('unknown_function',
     1,
     "unknown name 'mystery_function'",
     'mystery_function',
     'define it, or pass it as an argument'),
    ('calls_numpy',
     1,
     'calling numpy.sum is not supported in script',
     'np.sum',
     'call eager ops, submodules, methods or @jitscript.script functions'),
    ('calls_print',
     1,
     'calling print is not supported in script',
     'print',
     'call eager ops, submodules, methods or @jitscript.script functions'),
    ('branch_type_mismatch',
     1,
     'y is Tensor on one branch and int on the other',
     'if',
     'give y one type on every path (annotate it, e.g. as Optional[Tensor])'),
    ('return_type_mismatch',
     1,
     'the function returns Tensor on one path and int on another',
     'if',
     'return the same type on every path (use Optional[...] for None)'),
    ('wrong_return_annotation',
     0,
     'the function is annotated to return int but returns Tensor',
     'int',
     'fix the annotation or the returned value'),
    ('reads_global_tensor',
     1,
     "the global tensor 'GLOBAL_TENSOR' is not supported in script",
     'GLOBAL_TENSOR',
     'register it as a buffer of the module, or pass it as an argument'),
    ('uses_dict', 1, 'a dict literal is not supported in script', '{"a": x}', 'use a tuple, or separate variables'),
    ('uses_walrus',
     1,
     'an assignment expression (:=) is not supported in script',
     'n := 3',
     'assign in its own statement'),
    ('nested_def',
     1,
     'a nested function definition is not supported in script',
     'def',
     'define the function at module level'),
    ('uses_yield',
     1,
     'yield (a generator function) is not supported in script',
     'yield x',
     'return a list or tuple instead'),
    ('uses_del',
     2,
     'del is not supported in script',
     'del y',
     'drop the name instead (reassign it or let it go out of use)'),
    ('uses_global_statement',
     1,
     'global is not supported in script',
     'global GLOBAL_TENSOR',
     'pass the value as an argument'),
    ('imports_inside',
     1,
     'import inside a function is not supported in script',
     'import math',
     'import at module level'),
    ('AssignsAttribute',
     2,
     'assigning to an attribute is not supported in script',
     'self.last',
     'module state is read-only in script; return the new value instead'),
    ('item_assignment',
     1,
     'item assignment is not supported in script',
     'x[0]',
     'build a new tensor instead (e.g. with eager.where)'),
    ('loop_changes_type',
     2,
     'acc is int before the loop and Tensor after an iteration',
     'for',
     'keep acc one type in the loop'),
    ('defined_on_one_branch',
     3,
     'y is not defined on every path through the if',
     'y',
     'assign it on every path before this use'),
    ('defined_in_loop_only',
     3,
     'y is assigned inside the loop only; assign it before the loop to use it after',
     'y',
     'assign it on every path before this use'),
    ('uses_in_operator',
     1,
     "the 'in' operator on List[int] is not supported in script",
     'n in allowed',
     'use it with a tuple literal of scalars, or compare the items one by one'),
    ('is_not_none_only',
     1,
     "'is' with something other than None is not supported in script",
     'n is x',
     'use == to compare values'),
    ('uses_fstring',
     1,
     'an f-string or bytes literal is not supported in script',
     'f"bad n {n}"',
     'use a plain string literal'),
    ('bad_annotation',
     0,
     'this type annotation is not supported in script',
     'dict',
     'use Tensor, int, float, bool, str, List[T], Tuple[...] or Optional[T]'),
    ('optional_as_condition',
     1,
     'an Optional[Tensor] cannot be used as a condition',
     'h',
     'test it with `is None` or `is not None`'),
    ('passes_tensor_for_int',
     1,
     "argument 'n' of needs_int() must be int, got Tensor",
     'needs_int(x, x)',
     'pass int as n'),
    ('shape_mismatch',
     1,
     'matmul: cannot multiply (2, 3) by (4, 5): inner dimensions 3 and 4 differ',
     'x @ w',
     'check the shapes of the operands'),
    ('recursive',
     2,
     'recursive call of recursive is not supported in script',
     'recursive(x, n - 1)',
     'rewrite the recursion as a loop'),
    ('BreakInModuleList',
     9,
     'break inside a loop over a ModuleList or tuple is not supported in script',
     'break',
     'such loops are unrolled; use an if around the loop body instead'),
    ('loop_else', 1, 'else on a for loop is not supported in script', 'for', 'use a flag variable'),
    ('iterates_tensor', 2, 'iterating over a tensor is not supported in script', 'x', 'loop over range(x.size(0))'),
    ('conditional_expression_types',
     1,
     'the two sides of the conditional expression have types Tensor and float',
     'x if flag else 1.5',
     'make both sides the same type'),
    ('list_of_mixed_types',
     1,
     'list items must have one type, got Tensor and int',
     '[x, 1]',
     'use a tuple for items of different types'),
    ('in_place_method',
     1,
     'the in-place method add_() is not supported in script',
     'x.add_(1.0)',
     'use the out-of-place form: x = x.add(...)'),
    ('leaves_the_graph',
     1,
     'x.numpy() is not supported in script',
     'x.numpy()',
     'script computes on tensors; return the tensor instead'),
    ('in_place_function',
     1,
     'zeros_ modifies its tensor argument in place',
     'nn.init.zeros_(x)',
     'use the out-of-place form (e.g. inplace=False)'),
    ('draws_random_numbers',
     1,
     'drawing random numbers (eager.randn_like) is not supported in script',
     'eager.randn_like(x)',
     'pass the random tensor in as an argument'),
    ('constructs_exception',
     1,
     'constructing ValueError is not supported in script',
     'ValueError("bad")',
     'exceptions can only be raised: raise ValueError("message")'),
]

EXAMPLE_INPUTS = {"shape_mismatch": (eager.ones(2, 3), eager.ones(4, 5)), "in_place_function": (eager.ones(2, 3),)}


def compile_error(name: str) -> ScriptError:
    obj = getattr(bad_programs, name)
    target = obj() if inspect.isclass(obj) else obj
    with pytest.raises(ScriptError) as info:
        jitscript.script(target, example_inputs=EXAMPLE_INPUTS.get(name))
    return info.value


@pytest.mark.parametrize("name, line, message, caret, hint", ERRORS, ids=[e[0] for e in ERRORS])
def test_error_message(name, line, message, caret, hint):
    err = compile_error(name)
    first_line = inspect.getsourcelines(getattr(bad_programs, name))[1]
    assert err.message == message
    assert err.hint == hint
    assert err.loc.filename == bad_programs.__file__
    assert err.loc.line == first_line + line
    assert err.loc.source_line[err.loc.col - 1:err.loc.end_col - 1] == caret


def test_error_corpus_has_at_least_25_programs():
    assert len(ERRORS) >= 25


def test_message_is_compiler_style():
    err = compile_error("uses_lambda")
    line = inspect.getsourcelines(bad_programs.uses_lambda)[1] + 1
    assert str(err) == (
        f"{bad_programs.__file__}:{line}:9: error: lambda is not supported in script\n"
        "        f = lambda v: v + 1\n"
        "            ^~~~~~~~~~~~~~~\n"
        "hint: define a function with def at module level and call it")


def test_format_without_source_or_hint():
    assert format_diagnostic("bad", SourceLoc("m.py", 3, 4), None) == "m.py:3:4: error: bad"


def test_nothing_runs_before_the_error():
    calls = []

    def model(x):
        calls.append(1)
        return lambda_user(x)

    with pytest.raises(ScriptError):
        jitscript.script(model)
    assert calls == []


def lambda_user(x):
    return (lambda v: v)(x)


def test_dropout_in_training_mode_is_rejected():
    def noisy(x):
        return eager.nn.functional.dropout(x, 0.5, True)

    with pytest.raises(ScriptError, match="dropout in training mode is not supported in script"):
        jitscript.script(noisy, example_inputs=(eager.ones(2, 3),))
