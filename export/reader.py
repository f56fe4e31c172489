"""`export.load` / `export.inspect`: read a .esm file, checked, with weights used in place."""
from __future__ import annotations

import math
import mmap
import os
import struct
from collections import Counter
from dataclasses import dataclass

import numpy as np

from export.codec import UNKNOWN_DIM, decode_attr, decode_type
from export.fb.Model import Model as FbModel
from export.fb.TypeKind import TypeKind
from export.format import ALIGNMENT, FILE_IDENTIFIER, FORMAT_VERSION, FormatError, dtype_from_code, little_endian
from jitscript.ir import Block, Graph, IRError, Node, Value
from jitscript.module import ScriptModule
from jitscript.verify import verify

# What a malformed buffer raises inside the generated accessors and the decoders (a missing
# table or required string comes back as None: AttributeError).
_DECODE_ERRORS = (struct.error, IndexError, KeyError, UnicodeDecodeError, ValueError, TypeError, OverflowError,
                  RecursionError, AttributeError)
_EXPORT_MODES = {0: "trace", 1: "script"}


@dataclass
class EsmFile:
    """An opened, checked .esm file: the mapping, the root table, and where `weights` starts."""

    path: str
    buffer: mmap.mmap
    model: FbModel
    weights_start: int
    weights_length: int

    def fail(self, reason: str) -> FormatError:
        return FormatError(self.path, reason)


def _map(path: str) -> mmap.mmap:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 8:
            raise FormatError(path, f"file is {size} bytes, shorter than a FlatBuffer header (8 bytes)")
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def open_esm(path: str | os.PathLike) -> EsmFile:
    """Map `path` read-only and check the header, version and weights vector bounds."""
    path = os.fspath(path)
    buffer = _map(path)
    ident = bytes(buffer[4:8])
    if ident != FILE_IDENTIFIER:
        raise FormatError(path, f"file identifier is {ident!r}, expected {FILE_IDENTIFIER!r}")
    try:
        model = FbModel.GetRootAs(buffer, 0)
        major, minor = model.FormatVersionMajor(), model.FormatVersionMinor()
    except _DECODE_ERRORS as exc:
        raise FormatError(path, f"root table out of bounds, truncated or corrupt file ({exc})") from None
    if major > FORMAT_VERSION[0]:
        raise FormatError(path, f"format version {major}.{minor} is newer than this reader's "
                                f"{FORMAT_VERSION[0]}.{FORMAT_VERSION[1]}; upgrade eagerscript")
    esm = EsmFile(path, buffer, model, 0, 0)
    _locate_weights(esm)
    return esm


def _locate_weights(esm: EsmFile) -> None:
    try:
        weights = esm.model.WeightsAsNumpy()
        length = 0 if isinstance(weights, int) else weights.size  # the accessor gives 0 when absent
        start = weights.ctypes.data - np.frombuffer(esm.buffer, np.uint8).ctypes.data if length else 0
    except _DECODE_ERRORS as exc:
        raise esm.fail(f"weights vector out of bounds, truncated or corrupt file ({exc})") from None
    if start + length > len(esm.buffer):
        raise esm.fail(f"weights vector [{start}, {start + length}) extends past the end of the file "
                       f"({len(esm.buffer)} bytes): truncated?")
    if length and start % ALIGNMENT:
        raise esm.fail(f"weights vector starts at byte {start}, not a multiple of {ALIGNMENT}")
    esm.weights_start, esm.weights_length = start, length


def _decode(esm: EsmFile, what: str, fn):
    """Run a decoding step, turning a malformed-buffer exception into a FormatError."""
    try:
        return fn()
    except _DECODE_ERRORS as exc:
        raise esm.fail(f"corrupt {what} ({type(exc).__name__}: {exc})") from None


# ---- constants -----------------------------------------------------------------------------------
def _constant_array(esm: EsmFile, i: int) -> tuple[str, np.ndarray]:
    """Constant `i` as a read-only array over the mapping (no copy)."""
    c = esm.model.Constants(i)
    name = c.Name().decode()
    dtype = dtype_from_code(c.Dtype())
    shape = tuple(int(c.Shape(j)) for j in range(c.ShapeLength()))
    offset, nbytes = c.Offset(), c.Nbytes()
    if any(d < 0 for d in shape) or nbytes != math.prod(shape) * dtype.itemsize:
        raise esm.fail(f"constant {name!r}: {nbytes} bytes do not hold a {dtype.name} tensor of shape {shape}")
    if offset % ALIGNMENT:
        raise esm.fail(f"constant {name!r}: offset {offset} is not a multiple of {ALIGNMENT}")
    if offset + nbytes > esm.weights_length:
        raise esm.fail(f"constant {name!r}: bytes [{offset}, {offset + nbytes}) lie outside the "
                       f"weights vector ({esm.weights_length} bytes)")
    count = math.prod(shape)
    array = np.frombuffer(esm.buffer, dtype=little_endian(dtype), count=count, offset=esm.weights_start + offset)
    return name, array.reshape(shape)


def read_constants(esm: EsmFile) -> dict[str, np.ndarray]:
    """Every constant by name, as zero-copy arrays whose base is the file mapping."""
    constants = {}
    for i in range(_decode(esm, "constants", esm.model.ConstantsLength)):
        name, array = _decode(esm, f"constant {i}", lambda i=i: _constant_array(esm, i))
        if name in constants:
            raise esm.fail(f"two constants are named {name!r}")
        constants[name] = array
    return constants


# ---- graph ---------------------------------------------------------------------------------------
class _GraphDecoder:
    """Rebuilds IR objects from the Graph table, checking every index."""

    def __init__(self, esm: EsmFile) -> None:
        self.esm = esm
        model = esm.model
        self.op_names = [model.OpNames(i).decode() for i in range(model.OpNamesLength())]
        fb_graph = model.Graph()
        if fb_graph is None:
            raise esm.fail("the model has no graph")
        self.fb_graph = fb_graph
        self.values = [self._value(fb_graph.Values(i)) for i in range(fb_graph.ValuesLength())]

    @staticmethod
    def _value(fb) -> Value:
        return Value(decode_type(fb.Type()), (fb.Name() or b"").decode() or None)

    def value(self, index: int, optional: bool = False) -> Value | None:
        if index == -1 and optional:
            return None
        if not 0 <= index < len(self.values):
            raise self.esm.fail(f"value index {index} out of range (the graph has {len(self.values)} values)")
        return self.values[index]

    def block(self, fb) -> Block:
        params = [self.value(fb.Params(i)) for i in range(fb.ParamsLength())]
        nodes = [self.node(fb.Nodes(i)) for i in range(fb.NodesLength())]
        returns = [self.value(fb.Returns(i)) for i in range(fb.ReturnsLength())]
        return Block(params, nodes, returns)

    def node(self, fb) -> Node:
        op = fb.Op()
        if op >= len(self.op_names):
            raise self.esm.fail(f"op index {op} out of range (the op table has {len(self.op_names)} names)")
        inputs = [self.value(fb.Inputs(i), optional=True) for i in range(fb.InputsLength())]
        outputs = [self.value(fb.Outputs(i)) for i in range(fb.OutputsLength())]
        attrs = dict(decode_attr(fb.Attrs(i)) for i in range(fb.AttrsLength()))
        blocks = [self.block(fb.Blocks(i)) for i in range(fb.BlocksLength())]
        return Node(self.op_names[op], inputs, outputs, attrs, blocks, (fb.Loc() or b"").decode() or None)

    def graph(self, params: dict) -> Graph:
        fb_block = self.fb_graph.Block()
        if fb_block is None:
            raise self.esm.fail("the graph has no block")
        graph = Graph(self.block(fb_block), params)
        self.check_interface(graph)
        return graph

    def check_interface(self, graph: Graph) -> None:
        """Model.inputs/outputs name exactly the graph's params/returns; the plan covers every value."""
        model = self.esm.model
        for what, specs, values in (("inputs", [model.Inputs(i) for i in range(model.InputsLength())], graph.inputs),
                                    ("outputs", [model.Outputs(i) for i in range(model.OutputsLength())],
                                     graph.outputs)):
            if [self.value(spec.Value()) for spec in specs] != values:
                raise self.esm.fail(f"the model's {what} do not match the graph's block {what}")
        plan = model.MemoryPlan()
        if plan is not None and plan.OffsetsLength() != len(self.values):
            raise self.esm.fail(f"the memory plan has {plan.OffsetsLength()} offsets for {len(self.values)} values")


def read_graph(esm: EsmFile) -> Graph:
    """The IR graph with its constants (zero-copy), verified."""
    params = read_constants(esm)
    graph = _decode(esm, "graph", lambda: _GraphDecoder(esm).graph(params))
    try:
        verify(graph)
    except (IRError, *_DECODE_ERRORS) as exc:
        raise esm.fail(f"the graph does not verify: {exc}") from None
    return graph


# ---- inspect -------------------------------------------------------------------------------------
def _shape_summary(fb_type) -> list | None:
    if fb_type.Kind() != TypeKind.TENSOR or fb_type.Rank() < 0:
        return None
    return [int(fb_type.Shape(i)) if fb_type.Shape(i) >= 0 else (fb_type.DimNames(i) or b"").decode() or UNKNOWN_DIM
            for i in range(fb_type.Rank())]


def _io_summary(spec) -> dict:
    t = spec.Type()
    dtype = dtype_from_code(t.Dtype()).name if t.Kind() == TypeKind.TENSOR and t.DtypeKnown() else None
    return {"name": spec.Name().decode(), "type": str(decode_type(t)), "dtype": dtype, "shape": _shape_summary(t)}


def _op_histogram(model: FbModel) -> dict[str, int]:
    names = [model.OpNames(i).decode() for i in range(model.OpNamesLength())]
    counts: Counter[str] = Counter()

    def walk(block) -> None:
        for i in range(block.NodesLength()):
            node = block.Nodes(i)
            counts[names[node.Op()]] += 1
            for j in range(node.BlocksLength()):
                walk(node.Blocks(j))

    walk(model.Graph().Block())
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _plan_shapes(model: FbModel, plan) -> dict[str, list[int]]:
    """The input shapes the stored memory plan was made for, by input name ({} without a plan)."""
    if plan is None:
        return {}
    return {model.Inputs(i).Name().decode(): [int(d) for d in plan.ReferenceShapes(i).DimsAsNumpy()]
            for i in range(min(model.InputsLength(), plan.ReferenceShapesLength()))}


def _summary(esm: EsmFile) -> dict:
    model = esm.model
    constants = read_constants(esm)
    plan = model.MemoryPlan()
    return {
        "path": esm.path,
        "format_version": f"{model.FormatVersionMajor()}.{model.FormatVersionMinor()}",
        "producer": (model.Producer() or b"").decode(),
        "export_mode": _EXPORT_MODES.get(model.ExportMode(), str(model.ExportMode())),
        "source_file": (model.SourceFile() or b"").decode(),
        "source_hash": (model.SourceHash() or b"").decode(),
        "created": (model.Created() or b"").decode(),
        "inputs": [_io_summary(model.Inputs(i)) for i in range(model.InputsLength())],
        "outputs": [_io_summary(model.Outputs(i)) for i in range(model.OutputsLength())],
        "ops": _op_histogram(model),
        "num_parameters": sum(a.size for a in constants.values()),
        "parameter_bytes": sum(a.nbytes for a in constants.values()),
        "weights_bytes": esm.weights_length,
        "arena_bytes": plan.ArenaBytes() if plan is not None else 0,
        "arena_shapes": _plan_shapes(model, plan),
        "metadata": {kv.Key().decode(): (kv.Value() or b"").decode()
                     for kv in (model.Metadata(i) for i in range(model.MetadataLength()))},
    }


def inspect(path: str | os.PathLike) -> dict:
    """A plain summary of a .esm file: inputs/outputs (name, dtype, shape with symbolic dims as
    strings), op histogram, parameter count and bytes, arena bytes, metadata, header fields."""
    esm = open_esm(path)
    return _decode(esm, "model tables", lambda: _summary(esm))


def load(path: str | os.PathLike) -> ScriptModule:
    """The model saved in `path` as a ScriptModule run by the IR interpreter.

    Weights are read-only NumPy views over a read-only mmap of the file (no copy); the mapping
    lives as long as any of them. Raises `export.FormatError` for a malformed file.
    """
    esm = open_esm(path)
    graph = read_graph(esm)
    return ScriptModule(graph, name=os.path.basename(esm.path))
