"""The typed SSA IR: `Graph` -> `Block` -> `Node(op, inputs, outputs, attrs, blocks)` -> `Value`.

Shaped like TorchScript's IR. A node's `op` is a registry op name (`add`, `conv2d`, ...) whose
`attrs` are exactly the registry function's attribute dict, or a structural `prim::` op (see
docs/ir.md for the table). Parameters and constant tensors live in `Graph.params` and are
referenced by `prim::param[name=...]` nodes, never inlined.

A registry op's attribute may be computed at run time (a reshape to `[x.size(0), -1]`): the
attribute then holds `InputAttr(i)` and the value is the node's input `i` (printed `$i`).

`str(graph)` gives the text form and `parse(text)` reads it back exactly:

    graph(%x : Tensor(float32, [N, 4])):
      %w : Tensor(float32, [2, 4]) = prim::param[name="fc.weight"]()
      %y : Tensor(float32, [N, 2]) = linear(%x, %w)  # model.py:12
      return (%y)
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass

from eager import dtypes as _dt
from eager.dtypes import DType

from .lexer import Cursor, TextError, tokenize
from .types import IRType, read_type


class IRError(ValueError):
    """A malformed graph (raised by the verifier and the builder); names the offending node."""


@dataclass(frozen=True)
class InputAttr:
    """An attribute whose value is the node's input `index`, known only at run time."""

    index: int

    def __str__(self) -> str:
        return f"${self.index}"


class Value:
    """An SSA value: defined once (by a node output or a block parameter), typed."""

    __slots__ = ("type", "name", "node", "__weakref__")

    def __init__(self, type: IRType, name: str | None = None) -> None:  # noqa: A002
        self.type = type
        self.name = name
        self.node: Node | None = None  # the defining node; None for block parameters

    def __repr__(self) -> str:
        return f"%{self.name} : {self.type}"


class Node:
    """One operation: `outputs = op[attrs](inputs)`, with nested `blocks` for control flow."""

    __slots__ = ("op", "inputs", "outputs", "attrs", "blocks", "loc", "owner")

    def __init__(self, op: str, inputs: list[Value], outputs: list[Value], attrs: dict | None = None,
                 blocks: list[Block] | None = None, loc: str | None = None) -> None:
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.attrs = dict(attrs or {})
        self.blocks = list(blocks or [])
        self.loc = loc
        self.owner: Block | None = None
        for v in self.outputs:
            v.node = self
        for b in self.blocks:
            b.owner = self

    @property
    def output(self) -> Value:
        """The single output (an IRError if there is not exactly one)."""
        if len(self.outputs) != 1:
            raise IRError(f"{self.describe()}: has {len(self.outputs)} outputs, not 1")
        return self.outputs[0]

    def attr_values(self, values: list) -> dict:
        """`attrs` with each `InputAttr` replaced by the matching entry of `values` (the inputs')."""
        return {k: values[v.index] if isinstance(v, InputAttr) else v for k, v in self.attrs.items()}

    def tensor_inputs(self) -> list[Value]:
        """The inputs that are operands (not run-time attributes)."""
        taken = {v.index for v in self.attrs.values() if isinstance(v, InputAttr)}
        return [v for i, v in enumerate(self.inputs) if i not in taken]

    def describe(self) -> str:
        """`node %y = op at file.py:12`, for error messages."""
        outs = ", ".join(f"%{v.name}" for v in self.outputs if v.name)
        where = f" at {self.loc}" if self.loc else ""
        return f"node {outs + ' = ' if outs else ''}{self.op}{where}"

    def __repr__(self) -> str:
        return self.describe()


class Block:
    """A straight-line list of nodes with parameters and returned values."""

    __slots__ = ("params", "nodes", "returns", "owner")

    def __init__(self, params: list[Value] | None = None, nodes: list[Node] | None = None,
                 returns: list[Value] | None = None) -> None:
        self.params = list(params or [])
        self.nodes: list[Node] = []
        self.returns = list(returns or [])
        self.owner: Node | None = None
        for n in nodes or []:
            self.append(n)

    def append(self, node: Node) -> Node:
        """Add `node` at the end."""
        node.owner = self
        self.nodes.append(node)
        return node

    def insert(self, index: int, node: Node) -> Node:
        """Add `node` before position `index`."""
        node.owner = self
        self.nodes.insert(index, node)
        return node

    def add_param(self, type: IRType, name: str | None = None) -> Value:  # noqa: A002
        """A new block parameter."""
        v = Value(type, name)
        self.params.append(v)
        return v

    def add_node(self, op: str, inputs: list[Value], attrs: dict | None = None, out_types: list[IRType] = (),
                 loc: str | None = None, blocks: list[Block] | None = None,
                 names: list[str | None] | None = None, index: int | None = None) -> Node:
        """Build `op[attrs](inputs)` with fresh outputs of `out_types`, append it (or insert it at
        `index`) and return it."""
        names = names or [None] * len(out_types)
        node = Node(op, inputs, [Value(t, n) for t, n in zip(out_types, names)], attrs, blocks, loc)
        return self.append(node) if index is None else self.insert(index, node)

    def walk(self) -> Iterator[Node]:
        """Every node of this block and its nested blocks, in order (outer before inner)."""
        for node in self.nodes:
            yield node
            for b in node.blocks:
                yield from b.walk()


class Graph:
    """A top-level block plus the tensors its `prim::param` nodes refer to."""

    def __init__(self, block: Block | None = None, params: dict | None = None) -> None:
        self.block = block if block is not None else Block()
        self.params: dict = dict(params or {})

    @property
    def inputs(self) -> list[Value]:
        """The graph's inputs (the top block's params)."""
        return self.block.params

    @property
    def outputs(self) -> list[Value]:
        """The graph's outputs (the top block's returns)."""
        return self.block.returns

    def nodes(self) -> Iterator[Node]:
        """Every node, nested blocks included."""
        return self.block.walk()

    def __str__(self) -> str:
        return Printer().graph(self)

    def __repr__(self) -> str:
        return str(self)


def replace_uses(block: Block, mapping: dict[Value, Value]) -> None:
    """Replace every use of a key of `mapping` by its value, in `block` and nested blocks."""
    if not mapping:
        return
    for node in block.nodes:
        node.inputs = [mapping.get(v, v) for v in node.inputs]
        for b in node.blocks:
            replace_uses(b, mapping)
    block.returns = [mapping.get(v, v) for v in block.returns]


def clone_block(block: Block, mapping: dict[Value, Value]) -> Block:
    """A deep copy of `block` with fresh values; `mapping` (old -> new) is read for values defined
    outside the block and extended with every value the copy defines."""
    params = [Value(p.type, p.name) for p in block.params]
    mapping.update(zip(block.params, params))
    copy = Block(params)
    for node in block.nodes:
        inputs = [mapping.get(v, v) for v in node.inputs]
        blocks = [clone_block(b, mapping) for b in node.blocks]
        new = copy.add_node(node.op, inputs, node.attrs, [v.type for v in node.outputs], node.loc, blocks,
                            [v.name for v in node.outputs])
        mapping.update(zip(node.outputs, new.outputs))
    copy.returns = [mapping.get(v, v) for v in block.returns]
    return copy


def uses(block: Block) -> dict[Value, int]:
    """How many times each value is used (inputs and block returns), nested blocks included."""
    counts: dict[Value, int] = {}
    for node in block.walk():
        for v in node.inputs:
            counts[v] = counts.get(v, 0) + 1
        for b in node.blocks:
            for v in b.returns:
                counts[v] = counts.get(v, 0) + 1
    for v in block.returns:
        counts[v] = counts.get(v, 0) + 1
    return counts


# ---- printing ------------------------------------------------------------------------------------
def format_attr(value) -> str:
    """The text form of an attribute value (parsed back by `parse`)."""
    if isinstance(value, InputAttr):
        return str(value)
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, DType):
        return value.name
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else {math.inf: "inf", -math.inf: "-inf"}.get(value, "nan")
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(format_attr(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(format_attr(v) for v in value) + "]"
    raise IRError(f"attribute value {value!r} of type {type(value).__name__} has no text form")


class Printer:
    """Writes a graph as text, giving every value a unique name."""

    def __init__(self) -> None:
        self.names: dict[Value, str] = {}
        self.taken: set[str] = set()
        self.anonymous = 0

    def name(self, v: Value) -> str:
        """`%name` of `v`, unique within the printed graph."""
        if v not in self.names:
            base = "".join(c if c.isalnum() or c in "_." else "_" for c in (v.name or ""))
            if not base:
                base, self.anonymous = str(self.anonymous), self.anonymous + 1
            name, k = base, 1
            while name in self.taken:
                name, k = f"{base}.{k}", k + 1
            self.taken.add(name)
            self.names[v] = name
        return "%" + self.names[v]

    def typed(self, v: Value) -> str:
        """`%name : type`."""
        return f"{self.name(v)} : {v.type}"

    def graph(self, g: Graph) -> str:
        """The text of a whole graph."""
        lines = ["graph(" + ", ".join(self.typed(v) for v in g.inputs) + "):"]
        self.body(g.block, 1, lines)
        lines.append("  return (" + ", ".join(self.name(v) for v in g.outputs) + ")")
        return "\n".join(lines) + "\n"

    def body(self, block: Block, depth: int, lines: list[str]) -> None:
        """Append the lines of `block`'s nodes at indentation `depth`."""
        for node in block.nodes:
            self.node(node, depth, lines)

    def node(self, node: Node, depth: int, lines: list[str]) -> None:
        """Append the line(s) of one node (and its blocks)."""
        pad = "  " * depth
        head = ", ".join(self.typed(v) for v in node.outputs)
        attrs = ", ".join(f"{k}={format_attr(v)}" for k, v in node.attrs.items())
        text = (head + " = " if head else "") + node.op + (f"[{attrs}]" if node.attrs else "")
        text += "(" + ", ".join(self.name(v) for v in node.inputs) + ")"
        if node.loc:
            text += "  # " + node.loc
        lines.append(pad + text)
        for i, b in enumerate(node.blocks):
            lines.append(pad + f"  block{i}(" + ", ".join(self.typed(v) for v in b.params) + "):")
            self.body(b, depth + 2, lines)
            lines.append(pad + "    -> (" + ", ".join(self.name(v) for v in b.returns) + ")")


# ---- parsing -------------------------------------------------------------------------------------
def parse(text: str, params: dict | None = None) -> Graph:
    """The graph written as `text` (the inverse of `str(graph)`); `params` fills `Graph.params`."""
    return _Parser(text).graph(params)


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()]
        self.pos = 0
        self.values: dict[str, Value] = {}

    def cursor(self) -> Cursor:
        if self.pos >= len(self.lines):
            raise TextError("unexpected end of the graph text")
        lineno, line = self.lines[self.pos]
        return Cursor(tokenize(line, lineno), lineno, line)

    def graph(self, params: dict | None) -> Graph:
        cur = self.cursor()
        cur.take("graph")
        block = Block(self.typed_list(cur, ")"))
        cur.take(":")
        self.pos += 1
        self.body(block, "return")
        g = Graph(block, params)
        if self.pos != len(self.lines):
            self.cursor().fail("text after the graph's return")
        return g

    def typed_list(self, cur: Cursor, close: str) -> list[Value]:
        cur.take("(")
        out = []
        while not cur.accept(close):
            if out:
                cur.take(",")
            out.append(self.define(cur))
        return out

    def define(self, cur: Cursor) -> Value:
        tok = cur.take(kind="value")
        cur.take(":")
        name = tok.text[1:]
        if name in self.values:
            cur.fail(f"value %{name} is defined twice")
        v = Value(read_type(cur), name)
        self.values[name] = v
        return v

    def use(self, cur: Cursor) -> Value:
        tok = cur.take(kind="value")
        if tok.text[1:] not in self.values:
            cur.pos -= 1
            cur.fail(f"value {tok.text} is used before it is defined")
        return self.values[tok.text[1:]]

    def use_list(self, cur: Cursor) -> list[Value]:
        cur.take("(")
        out = []
        while not cur.accept(")"):
            if out:
                cur.take(",")
            out.append(self.use(cur))
        return out

    def body(self, block: Block, end: str) -> None:
        """Read nodes into `block` until the line starting with `end` ("return" or "->")."""
        while True:
            cur = self.cursor()
            if cur.at(end):
                cur.take(end)
                block.returns = self.use_list(cur)
                self.pos += 1
                return
            self.pos += 1
            block.append(self.node(cur))

    def node(self, cur: Cursor) -> Node:
        outputs = []
        if cur.peek() is not None and cur.peek().kind == "value":
            outputs.append(self.define(cur))
            while cur.accept(","):
                outputs.append(self.define(cur))
            cur.take("=")
        op = cur.take(kind="name").text
        attrs = {}
        if cur.accept("["):
            while not cur.accept("]"):
                if attrs:
                    cur.take(",")
                key = cur.take(kind="name").text
                cur.take("=")
                attrs[key] = self.attr(cur)
        inputs = self.use_list(cur)
        loc = None
        tok = cur.peek()
        if tok is not None and tok.kind == "comment":
            loc = tok.text[1:].strip() or None
            cur.pos += 1
        if not cur.done():
            cur.fail("unexpected text after the node")
        node = Node(op, inputs, outputs, attrs, loc=loc)
        while self.pos < len(self.lines) and self.cursor().at(f"block{len(node.blocks)}"):
            node.blocks.append(self.block(node))
        return node

    def block(self, owner: Node) -> Block:
        cur = self.cursor()
        cur.take(kind="name")
        block = Block(self.typed_list(cur, ")"))
        cur.take(":")
        self.pos += 1
        self.body(block, "->")
        block.owner = owner
        return block

    def attr(self, cur: Cursor):
        tok = cur.take()
        if tok.kind == "string":
            return json.loads(tok.text)
        if tok.kind == "number":
            return float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        if tok.kind == "ref":
            return InputAttr(int(tok.text[1:]))
        if tok.text in ("[", "("):
            close = "]" if tok.text == "[" else ")"
            items = []
            while not cur.accept(close):
                if items and not cur.accept(","):
                    cur.fail("expected ',' between attribute items")
                if cur.accept(close):
                    break
                items.append(self.attr(cur))
            return items if close == "]" else tuple(items)
        if tok.kind == "name":
            return _NAMED_CONSTANTS[tok.text] if tok.text in _NAMED_CONSTANTS else _dtype_or_fail(tok.text, cur)
        cur.pos -= 1
        return cur.fail("expected an attribute value")


_NAMED_CONSTANTS = {"True": True, "False": False, "None": None, "inf": math.inf, "-inf": -math.inf,
                    "nan": math.nan}


def _dtype_or_fail(name: str, cur: Cursor):
    try:
        return _dt.from_name(name)
    except TypeError:
        cur.pos -= 1
        return cur.fail(f"unknown attribute value {name!r}")
