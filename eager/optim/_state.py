"""Per-parameter optimizer state held as tensors (so `state_dict` and `eager.save` see tensors)."""
from __future__ import annotations

from ..tensor import Tensor


def buffer(state: dict, name: str, like, fill: float = 0.0):
    """The array of state `name`, created filled with `fill` (shape/dtype/device of `like`)."""
    t = state.get(name)
    if t is None:
        array = like * 0 if fill == 0.0 else like * 0 + like.dtype.type(fill)
        t = state[name] = Tensor._wrap(array)
    return t.data


def next_step(state: dict) -> int:
    """Increment and return the step counter."""
    state["step"] = state.get("step", 0) + 1
    return state["step"]
