"""jitscript: the typed IR, the tracer, the script compiler, the passes and the IR interpreter."""
from . import ir, types
from .interpreter import Interpreter
from .ir import Block, Graph, InputAttr, IRError, Node, Value, parse
from .module import ScriptModule
from .passes.pipeline import optimize
from .tracer import TracerWarning, TracingError, current_tracer, trace
from .types import (
    BoolType,
    FloatType,
    IntType,
    IRType,
    ListType,
    NoneType,
    OptionalType,
    StrType,
    TensorType,
    TupleType,
    parse_type,
)
from .verify import verify

__all__ = [
    "Block", "BoolType", "FloatType", "Graph", "IRError", "IRType", "InputAttr", "IntType", "Interpreter",
    "ListType", "Node", "NoneType", "OptionalType", "ScriptModule", "StrType", "TensorType", "TracerWarning",
    "TracingError", "TupleType", "Value", "current_tracer", "ir", "optimize", "parse", "parse_type", "trace", "types",
    "verify",
]
from .diagnostics import ScriptError  # noqa: E402 - the script compiler (issue 6)
from .script import script  # noqa: E402

__all__ += ["ScriptError", "script"]
