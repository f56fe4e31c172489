"""`export.save`: a ScriptModule -> one .esm file (FlatBuffers, see docs/format.md)."""
from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import flatbuffers

from export.codec import UnsupportedValueError, encode_attr, encode_type, int_vector, long_vector, offset_vector
from export.fb import Block as FbBlock
from export.fb import Constant as FbConstant
from export.fb import Graph as FbGraph
from export.fb import IOSpec as FbIOSpec
from export.fb import KeyValue as FbKeyValue
from export.fb import MemoryPlan as FbMemoryPlan
from export.fb import Model as FbModel
from export.fb import Node as FbNode
from export.fb import Shape as FbShape
from export.fb import Value as FbValue
from export.fb.ExportMode import ExportMode
from export.format import ALIGNMENT, FILE_IDENTIFIER, FORMAT_VERSION, dtype_code
from export.weights import WeightsLayout, build_weights_vector, layout_weights
from jitscript.ir import Block, Graph, Node, Printer, Value
from jitscript.module import ScriptModule
from jitscript.passes.memory_plan import plan_memory
from jitscript.types import TensorType
from jitscript.verify import verify


def _producer() -> str:
    try:
        return f"eagerscript {importlib.metadata.version('eagerscript')}"
    except importlib.metadata.PackageNotFoundError:
        return "eagerscript (source tree)"


_MODES = {"trace": ExportMode.TRACE, "script": ExportMode.SCRIPT}
# Room for everything but the weights before the builder has to grow (and copy) its buffer.
_TABLES_RESERVE = 1 << 20


MAX_ARENA_BYTES = 2**63 - 1  # MemoryPlan offsets are int64


@dataclass
class ReferencePlan:
    """The memory plan stored in the file: made for `reference_shapes` (one per graph input)."""

    arena_bytes: int
    offsets: dict[Value, int]
    reference_shapes: list[list[int]]


def reference_plan(graph: Graph, dims: dict[str, int] | None = None) -> ReferencePlan | None:
    """The arena plan for the inputs' shapes with each symbolic dim bound by `dims` (default 1);
    None when some tensor's shape is not known (e.g. a scripted module before shape inference)."""
    symbols = {d for v in graph.inputs if isinstance(v.type, TensorType) and v.type.shape
               for d in v.type.shape if isinstance(d, str)}
    bound = dict.fromkeys(symbols, 1) | (dims or {})
    try:
        plan = plan_memory(graph, bound)
    except ValueError:
        return None
    shapes = [[bound.get(d, -1) if isinstance(d, str) else d for d in v.type.shape]
              if isinstance(v.type, TensorType) and v.type.shape is not None else [] for v in graph.inputs]
    if plan.arena_size > MAX_ARENA_BYTES:  # the file stores sizes and offsets as int64
        where = f" with {', '.join(f'{k}={v}' for k, v in sorted(bound.items()))}" if bound else ""
        raise ValueError(f"export.save: the graph's tensors need a {plan.arena_size}-byte arena{where}, beyond "
                         f"the format's limit of 2**63 - 1 bytes; check the shapes the graph declares")
    return ReferencePlan(plan.arena_size, plan.offsets, shapes)


class _GraphEncoder:
    """Numbers the values (in IR text order, so names come out as printed) and the ops."""

    def __init__(self, builder: flatbuffers.Builder, graph: Graph) -> None:
        self.builder = builder
        printer = Printer()
        printer.graph(graph)  # assigns every value its unique printed name
        self.names = printer.names
        self.index = {value: i for i, value in enumerate(self.names)}
        self.op_names: list[str] = []
        self.op_index: dict[str, int] = {}

    def values(self) -> int:
        """The Graph.values vector."""
        offsets = []
        for value, name in self.names.items():
            type_off = encode_type(self.builder, value.type)
            name_off = self.builder.CreateString(name)
            FbValue.Start(self.builder)
            FbValue.AddName(self.builder, name_off)
            FbValue.AddType(self.builder, type_off)
            offsets.append(FbValue.End(self.builder))
        return offset_vector(self.builder, FbGraph.StartValuesVector, offsets)

    def indices(self, values: list[Value | None]) -> list[int]:
        return [-1 if v is None else self.index[v] for v in values]

    def block(self, block: Block) -> int:
        """Build one Block table (nested blocks first)."""
        b = self.builder
        nodes = offset_vector(b, FbBlock.StartNodesVector, [self.node(n) for n in block.nodes])
        params = int_vector(b, FbBlock.StartParamsVector, self.indices(block.params))
        returns = int_vector(b, FbBlock.StartReturnsVector, self.indices(block.returns))
        FbBlock.Start(b)
        FbBlock.AddParams(b, params)
        FbBlock.AddNodes(b, nodes)
        FbBlock.AddReturns(b, returns)
        return FbBlock.End(b)

    def node(self, node: Node) -> int:
        """Build one Node table."""
        b = self.builder
        blocks = offset_vector(b, FbNode.StartBlocksVector, [self.block(blk) for blk in node.blocks])
        try:
            attrs = offset_vector(b, FbNode.StartAttrsVector, [encode_attr(b, k, v) for k, v in node.attrs.items()])
        except UnsupportedValueError as exc:
            raise UnsupportedValueError(f"{node.describe()}: {exc}") from None
        inputs = int_vector(b, FbNode.StartInputsVector, self.indices(node.inputs))
        outputs = int_vector(b, FbNode.StartOutputsVector, self.indices(node.outputs))
        loc = b.CreateString(node.loc) if node.loc else None
        FbNode.Start(b)
        FbNode.AddOp(b, self.op(node.op))
        FbNode.AddInputs(b, inputs)
        FbNode.AddOutputs(b, outputs)
        FbNode.AddAttrs(b, attrs)
        FbNode.AddBlocks(b, blocks)
        if loc is not None:
            FbNode.AddLoc(b, loc)
        return FbNode.End(b)

    def op(self, name: str) -> int:
        if name not in self.op_index:
            self.op_index[name] = len(self.op_names)
            self.op_names.append(name)
        return self.op_index[name]

    def graph(self, graph: Graph) -> int:
        values = self.values()
        block = self.block(graph.block)
        FbGraph.Start(self.builder)
        FbGraph.AddValues(self.builder, values)
        FbGraph.AddBlock(self.builder, block)
        return FbGraph.End(self.builder)

    def io_specs(self, values: list[Value], start) -> int:
        b = self.builder
        offsets = []
        for value in values:
            type_off = encode_type(b, value.type)
            name = b.CreateString(self.names[value])
            FbIOSpec.Start(b)
            FbIOSpec.AddName(b, name)
            FbIOSpec.AddValue(b, self.index[value])
            FbIOSpec.AddType(b, type_off)
            offsets.append(FbIOSpec.End(b))
        return offset_vector(b, start, offsets)

    def memory_plan(self, plan: ReferencePlan) -> int:
        """The MemoryPlan table (arena size, per-value offsets, the shapes it was made for)."""
        b = self.builder
        shapes = []
        for dims in plan.reference_shapes:
            dims_off = long_vector(b, FbShape.StartDimsVector, dims)
            FbShape.Start(b)
            FbShape.AddDims(b, dims_off)
            shapes.append(FbShape.End(b))
        shapes_off = offset_vector(b, FbMemoryPlan.StartReferenceShapesVector, shapes)
        offsets = long_vector(b, FbMemoryPlan.StartOffsetsVector,
                              [plan.offsets.get(v, -1) for v in self.names])
        FbMemoryPlan.Start(b)
        FbMemoryPlan.AddArenaBytes(b, plan.arena_bytes)
        FbMemoryPlan.AddAlignment(b, ALIGNMENT)
        FbMemoryPlan.AddOffsets(b, offsets)
        FbMemoryPlan.AddReferenceShapes(b, shapes_off)
        return FbMemoryPlan.End(b)


def _constants(builder: flatbuffers.Builder, layout: WeightsLayout) -> int:
    offsets = []
    for entry in layout.entries:
        name = builder.CreateString(entry.name)
        shape = long_vector(builder, FbConstant.StartShapeVector, entry.shape)
        FbConstant.Start(builder)
        FbConstant.AddName(builder, name)
        FbConstant.AddDtype(builder, dtype_code(entry.dtype))
        FbConstant.AddShape(builder, shape)
        FbConstant.AddOffset(builder, entry.offset)
        FbConstant.AddNbytes(builder, entry.nbytes)
        offsets.append(FbConstant.End(builder))
    return offset_vector(builder, FbModel.StartConstantsVector, offsets)


def _metadata(builder: flatbuffers.Builder, metadata: dict[str, str]) -> int:
    offsets = []
    for key, value in metadata.items():
        key_off, value_off = builder.CreateString(str(key)), builder.CreateString(str(value))
        FbKeyValue.Start(builder)
        FbKeyValue.AddKey(builder, key_off)
        FbKeyValue.AddValue(builder, value_off)
        offsets.append(FbKeyValue.End(builder))
    return offset_vector(builder, FbModel.StartMetadataVector, offsets)


def _source_hash(source_file: str | None) -> str:
    if not source_file or not os.path.isfile(source_file):
        return ""
    return "sha256:" + hashlib.sha256(Path(source_file).read_bytes()).hexdigest()


def _header_strings(builder: flatbuffers.Builder, source_file: str | None) -> dict[str, int]:
    # SOURCE_DATE_EPOCH (reproducible-builds.org): a fixed time makes the file byte-reproducible
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.datetime.fromtimestamp(int(epoch), datetime.UTC) if epoch else datetime.datetime.now(datetime.UTC)
    created = when.isoformat(timespec="seconds").replace("+00:00", "Z")
    texts = {"producer": _producer(), "source_file": source_file or "", "source_hash": _source_hash(source_file),
             "created": created}
    return {key: builder.CreateString(text) for key, text in texts.items()}


def _used_params(graph: Graph) -> dict[str, object]:
    """The parameters that `prim::param` nodes read, in first-use order (others are not stored)."""
    names = [node.attrs["name"] for node in graph.nodes() if node.op == "prim::param"]
    return {name: graph.params[name] for name in names}


def encode(graph: Graph, *, mode: str = "trace", source_file: str | None = None,
           metadata: dict[str, str] | None = None, plan: ReferencePlan | None = None
           ) -> tuple[flatbuffers.Builder, int]:
    """Build the FlatBuffer of `graph`; return the builder and the buffer's start in it."""
    layout = layout_weights(_used_params(graph))
    builder = flatbuffers.Builder(layout.total_bytes + _TABLES_RESERVE)
    weights = build_weights_vector(builder, layout)  # first: it lies at the end of the buffer
    encoder = _GraphEncoder(builder, graph)
    graph_off = encoder.graph(graph)
    plan_off = encoder.memory_plan(plan) if plan is not None else None
    inputs = encoder.io_specs(graph.inputs, FbModel.StartInputsVector)
    outputs = encoder.io_specs(graph.outputs, FbModel.StartOutputsVector)
    constants = _constants(builder, layout)
    op_names = offset_vector(builder, FbModel.StartOpNamesVector, [builder.CreateString(n) for n in encoder.op_names])
    meta = _metadata(builder, metadata or {})
    header = _header_strings(builder, source_file)
    FbModel.Start(builder)
    FbModel.AddFormatVersionMajor(builder, FORMAT_VERSION[0])
    FbModel.AddFormatVersionMinor(builder, FORMAT_VERSION[1])
    FbModel.AddProducer(builder, header["producer"])
    FbModel.AddExportMode(builder, _MODES[mode])
    FbModel.AddSourceFile(builder, header["source_file"])
    FbModel.AddSourceHash(builder, header["source_hash"])
    FbModel.AddCreated(builder, header["created"])
    FbModel.AddMetadata(builder, meta)
    FbModel.AddOpNames(builder, op_names)
    FbModel.AddGraph(builder, graph_off)
    FbModel.AddConstants(builder, constants)
    FbModel.AddWeights(builder, weights)
    if plan_off is not None:
        FbModel.AddMemoryPlan(builder, plan_off)
    FbModel.AddInputs(builder, inputs)
    FbModel.AddOutputs(builder, outputs)
    builder.Finish(FbModel.End(builder), file_identifier=FILE_IDENTIFIER)
    return builder, builder.Head()


def write_atomic(path: str | os.PathLike, data: memoryview) -> None:
    """Write `data` to `path` through a temporary file in the same directory and os.replace."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save(module: ScriptModule, path: str | os.PathLike, *, mode: str | None = None, source_file: str | None = None,
         metadata: dict[str, str] | None = None, dims: dict[str, int] | None = None) -> None:
    """Write `module` (its graph and parameters) to `path` as one .esm file, atomically.

    `mode` is "trace" or "script" (default: "script" when the module has Python source);
    `source_file` is recorded with its SHA-256; `metadata` is free-form text; `dims` binds the
    symbolic dims (e.g. {"N": 8}, default 1) for the stored memory plan. Raises
    `jitscript.IRError` for a graph that does not verify, ValueError for one whose memory plan
    exceeds the format's 2**63 - 1 bytes (nothing is written).
    """
    if not isinstance(module, ScriptModule):
        raise TypeError(f"export.save expects a ScriptModule (from jitscript.script or jitscript.trace), "
                        f"got {type(module).__name__}")
    mode = mode or ("script" if module.source else "trace")
    if mode not in _MODES:
        raise ValueError(f"export.save: mode must be one of {sorted(_MODES)}, got {mode!r}")
    verify(module.graph)  # never write a file that readers would refuse (unknown op, broken SSA, ...)
    plan = reference_plan(module.graph, dims)
    builder, head = encode(module.graph, mode=mode, source_file=source_file, metadata=metadata, plan=plan)
    write_atomic(path, memoryview(builder.Bytes)[head:])
