"""Scriptable programs: each case is a model (or function) and input makers that, between
them, take every branch. `test_corpus.py` checks `script(m)(*inputs) == m(*inputs)`."""
from __future__ import annotations

from dataclasses import dataclass

import eager
import jitscript
from eager import Tensor, nn
from eager.nn import functional as F


def rand(*shape, scale: float = 1.0, shift: float = 0.0):
    return eager.randn(*shape) * scale + shift


# ---- control flow on data -------------------------------------------------------------------------
class DecisionGate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        if x.sum() > 0:
            y = self.fc(x).relu()
        else:
            y = -self.fc(x)
        return y * 2


class ElifChain(nn.Module):
    def forward(self, x):
        s = x.mean()
        if s > 1:
            out = x * 3
        elif s > 0:
            out = x + 1
        elif s > -1:
            out = x - 1
        else:
            out = x.abs()
        return out


class RNNOverList(nn.Module):
    """An RNN cell unrolled over a `for` loop over the time steps of a list of inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.ih = nn.Linear(3, 5)
        self.hh = nn.Linear(5, 5)

    def forward(self, xs: list[Tensor], h):
        for x in xs:
            h = eager.tanh(self.ih(x) + self.hh(h))
        return h


class RNNOverRange(nn.Module):
    """An RNN cell over `for t in range(steps)`, steps given at run time."""

    def __init__(self) -> None:
        super().__init__()
        self.cell = nn.Linear(4, 4)

    def forward(self, x, steps: int):
        h = x
        for t in range(steps):
            h = eager.tanh(self.cell(h) + x * t)
        return h


class RNNOverTimeSteps(nn.Module):
    """An RNN cell over the time steps of one (T, B, F) tensor, indexed x[t] at run time."""

    def __init__(self) -> None:
        super().__init__()
        self.ih = nn.Linear(3, 4)
        self.hh = nn.Linear(4, 4)

    def forward(self, x, h):
        outputs = []
        for t in range(x.size(0)):
            h = eager.tanh(self.ih(x[t]) + self.hh(h))
            outputs.append(h)
        return h, outputs[0], len(outputs)


class ListIndexing(nn.Module):
    def forward(self, xs: list[Tensor], i: int):
        first = xs[0]
        chosen = xs[i]
        return first[1:] * chosen[:-1] + len(xs)


class WhileHalving(nn.Module):
    """A `while` loop with a data-dependent exit."""

    def forward(self, x):
        n = 0
        while x.abs().sum() > 1.0:
            x = x * 0.5
            n += 1
        return x, n


class EarlyReturnInLoop(nn.Module):
    def forward(self, x, limit: float):
        for i in range(8):
            x = x * 2
            if x.abs().sum() > limit:
                return x + i
        return -x


class OptionalState(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x, h: Tensor | None = None):
        if h is None:
            h = x * 0
        return self.fc(x) + h


class OptionalNotNone(nn.Module):
    def forward(self, x, bias: Tensor | None = None):
        if bias is not None:
            return x + bias
        return x


class Inner(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return F.relu(self.fc(x))


class Middle(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = Inner()
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.inner(x) + x)


class Nested(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = Middle()
        self.b = Middle()

    def forward(self, x):
        return self.a(x) - self.b(x)


class LayerStack(nn.Module):
    """ModuleList iteration (unrolled)."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])

    def forward(self, x):
        for layer in self.layers:
            x = eager.tanh(layer(x))
        return x


class EnumeratedStack(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            if i % 2 == 0:
                x = layer(x).relu()
            else:
                x = layer(x) + x
        return x * len(self.layers)


class ReturnInsideModuleList(nn.Module):
    """A return inside an unrolled ModuleList loop; a constant-folded choice of submodule."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(3)])
        self.first = True

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x) * 3
            if x.sum() > 5:
                return x + i
        layer = self.layers[0] if self.first else self.layers[1]
        return layer(-x)


class HelperMethod(nn.Module):
    """A helper method with its own control flow, called twice."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def squash(self, x, strong: bool):
        if strong:
            return eager.sigmoid(x)
        if x.mean() > 0:
            return x.relu()
        return x * 0.1

    def forward(self, x, strong: bool):
        return self.squash(self.fc(x), strong) + self.squash(x, False)


class SequentialModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

    def forward(self, x):
        return self.body(x)


@jitscript.script
def scripted_clip(x, bound: float):
    if x.sum() > bound:
        x = eager.minimum(x, x * 0 + bound)
    return x


class CallsScripted(nn.Module):
    def forward(self, x):
        return scripted_clip(x, 0.5) + scripted_clip(-x, 1.0)


def plain_helper(x, k: int):
    out = x
    for _ in range(k):
        out = out * 0.5 + x
    return out


class CallsPlainFunction(nn.Module):
    def forward(self, x):
        return plain_helper(x, 3)


class BreakInWhile(nn.Module):
    def forward(self, x):
        i = 0
        while True:
            x = x + 1.0
            i += 1
            if x.sum() > 10:
                break
        return x, i


class ContinueInFor(nn.Module):
    def forward(self, x, n: int):
        acc = x * 0
        for i in range(n):
            if i % 3 == 1:
                continue
            acc = acc + x * i
        return acc


class NestedLoops(nn.Module):
    def forward(self, x, n: int, m: int):
        total = 0
        for i in range(n):
            for j in range(i, m):
                total += i * j
                x = x + 0.01 * j
        return x, total


class TupleWork(nn.Module):
    def split(self, x) -> tuple[Tensor, Tensor]:
        return x.relu(), (-x).relu()

    def forward(self, x):
        pos, neg = self.split(x)
        a, b = pos.sum(), neg.sum()
        if a > b:
            a, b = b, a
        return a, b


class ScalarMath(nn.Module):
    def forward(self, x, n: int, y: float):
        k = max(n, 2) * 3 - min(n, 10) // 2 + abs(-n) % 4
        z = y ** 2 / 2.0 - float(k)
        if 0 < n < 5:
            z = z + 1.0
        return x * z + k


class InTuple(nn.Module):
    def forward(self, x, n: int):
        if n in (1, 2):
            return x * n
        if n not in [5, 6]:
            return x
        return -x


class ConditionalExpression(nn.Module):
    def forward(self, x, flag: bool):
        scale = 2.0 if flag else -3.0
        y = x.relu() if x.mean() > 0 else x.abs()
        return y * scale


class ShortCircuit(nn.Module):
    def forward(self, x, n: int):
        if n > 0 and x.sum() > 0:
            return x * n
        if n < -5 or not (x.mean() < 1.0):
            return x - n
        return x


class StaticConfig(nn.Module):
    """Module constants fold at compile time: the branch not taken is not compiled."""

    def __init__(self, use_residual: bool, scale: float) -> None:
        super().__init__()
        self.use_residual = use_residual
        self.scale = scale
        self.fc = nn.Linear(4, 4, bias=False)

    def forward(self, x):
        y = self.fc(x) * self.scale
        if self.use_residual:
            y = y + x
        if self.fc.bias is not None:
            y = y + self.fc.bias
        return y


class AssertAndRaise(nn.Module):
    def forward(self, x, n: int):
        assert n >= 0, "n must be non-negative"
        if n > 100:
            raise ValueError("n is too large")
        return x * n


class DynamicReshape(nn.Module):
    def forward(self, x):
        b = x.size(0)
        flat = x.reshape(b, -1)
        return flat.sum(1) / x.size(1)


class UnrolledConstants(nn.Module):
    def forward(self, x):
        out = x * 0
        for s in [1.0, 2.0, 3.0]:
            out = out + eager.tanh(x * s)
        for a, b in ((1, 2), (3, 4)):
            out = out + a * b
        return out


class MaskedUpdate(nn.Module):
    def forward(self, x, threshold: float):
        mask = x > threshold
        y = eager.where(mask, x, x * 0.1)
        return eager.maximum(y, -x), mask.sum()


class LoopCarriedScalarAndTensor(nn.Module):
    def forward(self, x):
        best = x.sum()
        k = 0
        for i in range(5):
            x = x.tanh() * 1.5
            s = x.sum()
            if s > best:
                best = s
                k = i
        return best, k


class NestedReturnPaths(nn.Module):
    def forward(self, x, mode: int):
        if mode == 0:
            for i in range(4):
                if x.sum() > 3:
                    return x - i
                x = x + 1
            return x
        elif mode == 1:
            while x.sum() < 10:
                x = x * 2 + 1
                if x.mean() > 100:
                    return x * 0
            return x * 10
        return -x


class IntConversions(nn.Module):
    def forward(self, x):
        n = int((x > 0).sum())
        f = float(x.sum())
        m = x.sum().item()
        return x * n + f - m


class AnnotatedLocals(nn.Module):
    def forward(self, x, use: bool):
        extra: Tensor | None = None
        if use:
            extra = x * 2
        if extra is not None:
            x = x + extra
        return x


class ReturnsNoneOrTensor(nn.Module):
    def pick(self, x) -> Tensor | None:
        if x.sum() > 0:
            return x
        return None

    def forward(self, x):
        y = self.pick(x)
        if y is None:
            return x * -1
        return y


class Attention(nn.Module):
    """Single-head attention written with eager ops (the rank is known from example inputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(8, 8)
        self.k = nn.Linear(8, 8)
        self.v = nn.Linear(8, 8)

    def forward(self, x):
        scores = self.q(x) @ self.k(x).transpose(-2, -1) / 8 ** 0.5
        weights = eager.exp(scores - scores.mean(-1, keepdim=True))
        weights = weights / weights.sum(-1, keepdim=True)
        return weights @ self.v(x)


def nested_loops_return(x, n: int):
    for i in range(n):
        j = 0
        while j < 3:
            j += 1
            if j == 2:
                continue
            x = x + j
            if x.sum() > 20:
                return x * 100, i
    return x, -1


def while_continue_break(x):
    k = 0
    total = 0
    while k < 10:
        k += 1
        if k % 2 == 0:
            continue
        total += k
        if total > 15:
            break
    return x * total, k


def optional_loop_carried(x, n: int):
    h = None
    for _ in range(n):
        if h is None:
            h = x
        else:
            h = h + x
    if h is None:
        return x * 0
    return h


@dataclass
class Case:
    name: str
    make: object  # () -> module or function
    inputs: list  # [() -> tuple of arguments], together taking every branch
    example: bool = False  # pass the first inputs as example_inputs
    raises: tuple = ()  # indices of inputs whose run raises (in eager and in script alike)


def _t(*shape, **kw):
    return lambda: rand(*shape, **kw)


CASES = [
    Case("decision_gate", DecisionGate, [lambda: (rand(2, 4).abs(),), lambda: (-rand(2, 4).abs(),)]),
    Case("elif_chain", ElifChain, [lambda s=s: (rand(3, 2, shift=s),) for s in (3.0, 0.5, -0.5, -3.0)]),
    Case("rnn_over_list", RNNOverList, [lambda: ([rand(2, 3) for _ in range(4)], rand(2, 5)),
                                        lambda: ([], rand(2, 5))]),
    Case("rnn_over_range", RNNOverRange, [lambda: (rand(2, 4), 3), lambda: (rand(2, 4), 0)]),
    Case("rnn_over_time_steps", RNNOverTimeSteps,
         [lambda: (rand(5, 2, 3), rand(2, 4)), lambda: (rand(1, 2, 3), rand(2, 4))]),
    Case("list_indexing", ListIndexing, [lambda: ([rand(3), rand(3), rand(3)], 2), lambda: ([rand(4)], 0)]),
    Case("while_halving", WhileHalving, [lambda: (rand(3, 3, scale=4.0),), lambda: (rand(2, scale=0.01),)]),
    Case("early_return_in_loop", EarlyReturnInLoop, [lambda: (rand(2, 2), 5.0), lambda: (rand(2, 2), 1e9)]),
    Case("optional_state", OptionalState, [lambda: (rand(2, 3), None), lambda: (rand(2, 3), rand(2, 3))]),
    Case("optional_not_none", OptionalNotNone, [lambda: (rand(3), None), lambda: (rand(3), rand(3))]),
    Case("nested_modules", Nested, [lambda: (rand(5, 4),)]),
    Case("modulelist", LayerStack, [lambda: (rand(2, 4),)]),
    Case("enumerate_modulelist", EnumeratedStack, [lambda: (rand(2, 4),)]),
    Case("return_inside_modulelist", ReturnInsideModuleList,
         [lambda s=s: (eager.ones(2, 3) * s,) for s in (0.01, 1.0, 10.0, -10.0)]),
    Case("transformer_encoder_stack", lambda: nn.TransformerEncoder(
        nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2, norm=nn.LayerNorm(8)).eval(),
         [lambda: (rand(2, 4, 8),)], example=True),
    Case("helper_method", HelperMethod, [lambda: (rand(2, 4), True), lambda: (rand(2, 4, shift=2.0), False),
                                         lambda: (rand(2, 4, shift=-2.0), False)]),
    Case("sequential", SequentialModel, [lambda: (rand(3, 4),)]),
    Case("calls_scripted_function", CallsScripted, [lambda: (rand(4, scale=3.0),), lambda: (rand(4, scale=0.01),)]),
    Case("calls_plain_function", CallsPlainFunction, [lambda: (rand(3),)]),
    Case("break_in_while", BreakInWhile, [lambda: (rand(4),), lambda: (rand(4, shift=20.0),)]),
    Case("continue_in_for", ContinueInFor, [lambda: (rand(3), 7), lambda: (rand(3), 0)]),
    Case("nested_loops", NestedLoops, [lambda: (rand(2), 3, 4), lambda: (rand(2), 0, 2), lambda: (rand(2), 4, 1)]),
    Case("tuples", TupleWork, [lambda: (rand(6),), lambda: (rand(6, shift=2.0),), lambda: (rand(6, shift=-2.0),)]),
    Case("scalar_math", ScalarMath, [lambda: (rand(3), 3, 1.5), lambda: (rand(3), 12, -0.5)]),
    Case("in_tuple", InTuple, [lambda: (rand(2), 2), lambda: (rand(2), 3), lambda: (rand(2), 5)]),
    Case("conditional_expression", ConditionalExpression,
         [lambda: (rand(3, shift=2.0), True), lambda: (rand(3, shift=-2.0), False)]),
    Case("short_circuit", ShortCircuit, [lambda: (rand(3, shift=2.0), 2), lambda: (rand(3, shift=-2.0), 2),
                                         lambda: (rand(3), -7), lambda: (rand(3, shift=5.0), 0),
                                         lambda: (rand(3, shift=-5.0), 0)]),
    Case("static_config_residual", lambda: StaticConfig(True, 0.5), [lambda: (rand(2, 4),)]),
    Case("static_config_plain", lambda: StaticConfig(False, 2.0), [lambda: (rand(2, 4),)]),
    Case("assert_and_raise", AssertAndRaise, [lambda: (rand(2), 3), lambda: (rand(2), -1), lambda: (rand(2), 101)],
         raises=(1, 2)),
    Case("dynamic_reshape", DynamicReshape, [lambda: (rand(2, 3, 4),), lambda: (rand(5, 2),)]),
    Case("unrolled_constants", UnrolledConstants, [lambda: (rand(3),)]),
    Case("masked_update", MaskedUpdate, [lambda: (rand(4, 4), 0.3)]),
    Case("loop_carried_scalar_and_tensor", LoopCarriedScalarAndTensor, [lambda: (rand(4),),
                                                                       lambda: (rand(4, shift=3.0),)]),
    Case("nested_return_paths", NestedReturnPaths,
         [lambda: (rand(2), 0), lambda: (rand(2, shift=5.0), 0), lambda: (rand(2), 1),
          lambda: (rand(2, shift=60.0), 1), lambda: (rand(2), 2)]),
    Case("int_conversions", IntConversions, [lambda: (rand(5),)]),
    Case("annotated_locals", AnnotatedLocals, [lambda: (rand(3), True), lambda: (rand(3), False)]),
    Case("returns_none_or_tensor", ReturnsNoneOrTensor,
         [lambda: (rand(3, shift=3.0),), lambda: (rand(3, shift=-3.0),)]),
    Case("nested_loops_return", lambda: nested_loops_return,
         [lambda: (rand(2).abs(), 3), lambda: (rand(2).abs() + 5, 3), lambda: (rand(2), 0)]),
    Case("while_continue_break", lambda: while_continue_break, [lambda: (rand(2),)]),
    Case("optional_loop_carried", lambda: optional_loop_carried, [lambda: (rand(2), 0), lambda: (rand(2), 3)]),
    Case("attention_with_example_inputs", Attention, [lambda: (rand(2, 5, 8),)], example=True),
    Case("transformer_encoder_layer", lambda: nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
         .eval(), [lambda: (rand(2, 5, 16),)], example=True),
    Case("transformer_encoder_layer_norm_first_gelu", lambda: nn.TransformerEncoderLayer(
        16, 2, 24, dropout=0.0, activation="gelu", norm_first=True).eval(), [lambda: (rand(5, 3, 16),)], example=True),
]
